"""The skeleton graph of a layout for graph convolutions: the 3-subset "spatial" partition of ST-GCN.

Every bone joins a joint to a neighbour one hop closer to the layout's centre (bones form a tree, so no
bone joins two joints at the same distance). The partition splits the neighbourhood of each joint into
three subsets: the joint itself, the centripetal edges (pointing from a joint to its neighbour closer to
the centre) and the centrifugal edges (the reverse). :func:`adjacency` returns them as a ``(3, V, V)``
tensor ``A`` in the convention of both codebases below, which aggregate features as ``y = x @ A[k]`` over
the joint axis: ``A[k][i, j]`` is the weight of joint ``i``'s features in joint ``j``'s output. The
matrices are built like theirs (``edge2mat``: an edge ``tail -> head`` sets ``A[head, tail]``) and
normalised by columns, so ``kind`` reproduces a codebase exactly:

``"agcn"`` (2s-AGCN ``graph/tools.py get_spatial_graph``, the AGCN of ISC and of the paper):
    ``A[0] = I``; ``A[1]``: the centripetal edges, each column normalised by its sum (every joint but the
    centre has exactly one neighbour closer to the centre, so its column holds one 1: with ``x @ A[1]`` a
    joint receives the features of that neighbour); ``A[2]``: the centrifugal edges, column-normalised
    (a joint receives the mean of its neighbours farther from the centre).
``"stgcn"`` (ST-GCN ``net/utils/graph.py``, strategy ``spatial``, max_hop 1, dilation 1, as SkeletonCLR
    and AimCLR use it): the adjacency with self-loops is normalised once by columns (joint ``j``'s column by
    ``deg(j) + 1``) and split into ``A[0]`` = the diagonal, ``A[1]`` = entries ``[i, j]`` with ``i``
    farther from the centre than ``j`` ("close": features flow towards the centre) and ``A[2]`` = entries
    with ``i`` closer ("further").

For ``ntu25`` (centre: spine shoulder) both are exactly the published matrices of those repositories.
For layouts whose published graph was rooted elsewhere (CTR-GCN's NW-UCLA graph points to the shoulder
centre, while ``kinect20``'s centre is the spine) the subsets follow the layout's centre, as DESIGN.md asks.
"""

from __future__ import annotations

from collections import deque
from typing import Optional, Union

import numpy as np
import torch

from .layouts import Layout, get_layout

ADJACENCY_KINDS = ("agcn", "stgcn")

__all__ = ["ADJACENCY_KINDS", "adjacency", "hop_distance"]


def hop_distance(layout: Union[str, Layout]) -> np.ndarray:
    """``(V,)`` int64: the number of bones between each joint and the layout's centre."""
    layout = get_layout(layout)
    neighbours = [[] for _ in range(layout.num_joints)]
    for child, parent in layout.bones:
        neighbours[child].append(parent)
        neighbours[parent].append(child)
    hops = np.full(layout.num_joints, -1, dtype=np.int64)
    hops[layout.center] = 0
    todo = deque([layout.center])
    while todo:
        joint = todo.popleft()
        for other in neighbours[joint]:
            if hops[other] < 0:
                hops[other] = hops[joint] + 1
                todo.append(other)
    return hops  # a Layout's bones are a spanning tree (validated), so every joint is reached


def _normalise_columns(a: np.ndarray) -> np.ndarray:
    sums = a.sum(axis=0)
    return a / np.where(sums > 0, sums, 1.0)[None, :]


def adjacency(layout: Union[str, Layout], kind: str = "agcn", *, dtype: torch.dtype = torch.float32,
              device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
    """The normalised 3-subset adjacency ``(3, V, V)`` of ``layout`` (a name or a :class:`Layout`):
    self, centripetal, centrifugal (see the module docstring for ``kind`` = ``"agcn"`` or ``"stgcn"``)."""
    if kind not in ADJACENCY_KINDS:
        raise ValueError(f"kind: expected one of {ADJACENCY_KINDS}, got {kind!r}")
    layout = get_layout(layout)
    V = layout.num_joints
    hops = hop_distance(layout)
    centripetal = np.zeros((V, V))  # [head, tail] for tail -> head, head one hop closer to the centre
    for a, b in layout.bones:
        tail, head = (a, b) if hops[a] > hops[b] else (b, a)
        centripetal[head, tail] = 1.0
    centrifugal = centripetal.T
    identity = np.eye(V)
    if kind == "agcn":
        subsets = (identity, _normalise_columns(centripetal), _normalise_columns(centrifugal))
    else:
        normalised = _normalise_columns(identity + centripetal + centrifugal)
        subsets = (identity * normalised, (centrifugal > 0) * normalised, (centripetal > 0) * normalised)
    return torch.as_tensor(np.stack(subsets), dtype=dtype, device=device)
