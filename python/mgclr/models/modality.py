"""A stream's input modality and its encoder: ``input -> encoder`` as one module.

The modalities of SkeletonCLR / AimCLR / pyskl, computed from the joint coordinates on the training device after
augmentation (one batched gather or subtraction on the ``(N, C, T, V, M)`` batch; ``benchmarks/bench_modality.py``
measures it beside the fused pipeline):

* ``joint``: the coordinates as they come;
* ``bone``: ``x[v] - x[parent(v)]`` over the layout's bones (each bone is ``(child, parent)``); the root, nobody's
  child, gets the zero vector;
* ``motion``: ``x[t + 1] - x[t]`` within a sample's valid frames; 0 at its last valid frame and in the padding;
* ``bone_motion``: the motion of the bones.

Only the coordinate channels (the first ``coord_channels``, from the dataset's description) are transformed; a
confidence channel after them passes through unchanged (a bone of confidences, or their motion, means nothing).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from .._validation import check_int

__all__ = ["INPUT_MODALITIES", "InputModality", "StreamEncoder", "bone_parents"]

INPUT_MODALITIES = ("joint", "bone", "motion", "bone_motion")


def bone_parents(num_joints: int, bones: Sequence[Sequence[int]]) -> torch.Tensor:
    """``(V,)`` int64: each joint's parent along ``bones`` (``(child, parent)`` pairs); the root is its own."""
    parents = torch.arange(num_joints)
    for child, parent in bones:
        parents[int(child)] = int(parent)
    return parents


class InputModality(nn.Module):
    """``(N, C, T, V, M)`` (+ ``lengths``) -> the same shape in the modality ``kind`` (module docstring).

    Args:
        kind: one of :data:`INPUT_MODALITIES`.
        parents: ``(V,)`` each joint's parent (:func:`bone_parents`); needed for ``bone`` and ``bone_motion``.
        coord_channels: how many leading channels are coordinates (the others pass through).
    """

    def __init__(self, kind: str = "joint", parents: Optional[torch.Tensor] = None, coord_channels: int = 3) -> None:
        super().__init__()
        if kind not in INPUT_MODALITIES:
            raise ValueError(f"input: expected one of {INPUT_MODALITIES}, got {kind!r}")
        if kind in ("bone", "bone_motion") and parents is None:
            raise ValueError(f"input {kind!r}: needs the layout's bones (parents), got none")
        self.kind = kind
        self.coord_channels = check_int("coord_channels", coord_channels, low=1)
        # Not in the state dict: the parents come from the layout every time a stream is built.
        self.register_buffer("parents", None if parents is None else torch.as_tensor(parents, dtype=torch.int64),
                             persistent=False)

    def extra_repr(self) -> str:
        return f"{self.kind!r}, coord_channels={self.coord_channels}"

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.kind == "joint":
            return x
        c = self.coord_channels
        coords = x[:, :c]
        if self.kind in ("bone", "bone_motion"):
            coords = coords - coords.index_select(3, self.parents.to(x.device))
        if self.kind in ("motion", "bone_motion"):
            coords = _motion(coords, lengths)
        return coords if c == x.shape[1] else torch.cat([coords, x[:, c:]], dim=1)


def _motion(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
    """``x[t + 1] - x[t]`` for ``t < length - 1``, else 0."""
    N, _, T = x.shape[:3]
    diff = torch.zeros_like(x)
    if T < 2:
        return diff
    diff[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    last = torch.full((N,), T, device=x.device) if lengths is None else lengths.to(x.device)
    valid = torch.arange(T, device=x.device).view(1, T) < (last.view(N, 1) - 1)
    return diff * valid.view(N, 1, T, 1, 1).to(diff.dtype)


class StreamEncoder(nn.Module):
    """``input -> encoder``: a stream's features ``(N, out_dim)`` from the augmented joint coordinates. The
    encoder's weights sit under ``encoder.``; the modality has none."""

    def __init__(self, modality: InputModality, encoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(getattr(encoder, "out_dim", None), int):
            raise TypeError(f"encoder: expected a module with an int attribute out_dim, got {type(encoder).__name__}")
        self.input = modality
        self.encoder = encoder
        self.out_dim = encoder.out_dim

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *, drop: bool = False):
        """Features ``(N, out_dim)``; ``drop=True`` (an encoder with AimCLR's EADM branch: AGCN, STGCN) returns
        (features, features of the dropped feature map)."""
        if drop:
            return self.encoder(self.input(x, lengths), lengths, drop=True)
        return self.encoder(self.input(x, lengths), lengths)
