"""ST-GCN (Yan et al., AAAI 2018) as SkeletonCLR, CrosSCLR and AimCLR configure it, for comparisons.

Reproduces the encoder of AimCLR's ``net/st_gcn.py`` (``Model``; CrosSCLR's and SkeletonCLR's are the same
without the drop branch) up to its ``fc``: the parity fixture ``stgcn_aimclr.npz`` (released code, released
weights layout) is matched within 1e-6 through :func:`mgclr.models.load_published`. Ten blocks of a graph
convolution over the 3-subset spatial partition (:func:`mgclr.skeleton.adjacency`, by default ``kind="stgcn"``,
the published graph; scaled by a learned edge importance per block) followed by BatchNorm, ReLU, a temporal
convolution (kernel 9), BatchNorm and dropout (``tcn.4``, none in block 0, as released), with residuals.
Widths ``h, h, h, h, 2h, 2h, 2h, 4h, 4h, hidden_dim`` (SkeletonCLR: h = 16, hidden_dim = 256) and stride 2 at
blocks 5 and 8. Persons go through the network as separate samples (their data BN is over (V, C), unlike
2s-AGCN's over (M, V, C)); the output is the mean over frames and joints, then over persons:
``(N, hidden_dim)``. ``lengths`` restricts the temporal mean to the valid output frames, as in
:class:`~mgclr.models.AGCN` (the released code averages all T; identical when every sequence fills T).

Where mgclr's defaults depart from the released pretraining configs: ``dropout`` is 0.0 (every released
AimCLR / CrosSCLR / SkeletonCLR pretext config sets 0.5: pass ``dropout=0.5`` to train as they do). The
dropout's mask comes from mgclr's counter RNG by default (``dropout_impl="mgclr"``: torch's distribution,
another random stream, ~10x cheaper on the CPU); ``dropout_impl="torch"`` is the released module.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
from torch import nn

from .._validation import check_int, check_number
from ..ops.dropout import Dropout
from ..skeleton import Layout, adjacency, get_layout
from .agcn import check_skeleton_input, pool_feature_map, valid_frames_after
from .eadm import energy_attention_drop

__all__ = ["STGCN", "STGCN_DROPOUTS", "STGCN_GRAPHS"]

# STGCN(graph=...) -> the adjacency kind it uses (mgclr.skeleton.adjacency).
STGCN_GRAPHS = {"published": "stgcn", "true_hop": "stgcn_true_hop"}
# STGCN(dropout_impl=...) -> the module at tcn.4: mgclr's counter-RNG dropout (the same distribution, ~10x
# cheaper on the CPU: benchmarks/RESULTS.md, "Dropout") or torch's, in place, as released.
STGCN_DROPOUTS = {"mgclr": lambda p: Dropout(p), "torch": lambda p: nn.Dropout(p, inplace=True)}


class STGCNBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, subsets: int, stride: int = 1, residual: bool = True,
                 temporal_kernel: int = 9, dropout: float = 0.0, dropout_impl: str = "mgclr") -> None:
        super().__init__()
        self.subsets = subsets
        self.gcn = nn.Conv2d(in_channels, out_channels * subsets, 1)  # ST-GCN's ConvTemporalGraphical
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), ((temporal_kernel - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels),
            STGCN_DROPOUTS[dropout_impl](dropout))  # tcn.4, as released
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, (stride, 1)),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        N, _, T, V = x.shape
        y = self.gcn(x).view(N, self.subsets, -1, T, V)
        y = self.tcn(torch.einsum("nkctv,kvw->nctw", y, A))
        return torch.relu(y if self.residual is None else y + self.residual(x))


class STGCN(nn.Module):
    """ST-GCN encoder: ``(N, C, T, V, M)`` (+ ``lengths``) -> ``(N, hidden_dim)`` features.

    Reproduces AimCLR's ``net/st_gcn.py`` ``Model`` up to its ``fc`` (its state_dict loads through
    :func:`mgclr.models.load_published`, ``arch="stgcn"``). mgclr's defaults depart from the released pretraining
    configs in ``dropout`` only (0.0 here, 0.5 there); ``eadm_threshold`` 0.7 and ``graph="published"`` are the
    released ones.

    Args:
        layout: skeleton layout (name or Layout).
        in_channels: C. num_persons: M.
        hidden_channels: h, the width of the first four blocks (SkeletonCLR: 16).
        hidden_dim: width of the last block, the feature size (SkeletonCLR: 256).
        edge_importance: learn a (3, V, V) weight on the adjacency per block (ST-GCN's default).
        temporal_kernel: temporal convolution size (9).
        eadm_threshold: attention at or above which ``forward(..., drop=True)`` drops (AimCLR's model passes
            ``keep_prob=0.7`` to its ``Simam_Drop``: 0.7).
        dropout: p of the ``nn.Dropout`` after each block's second BatchNorm, blocks 1-9 (block 0 never drops,
            as released). Default 0.0; the released pretraining configs use 0.5.
        dropout_impl: ``"mgclr"`` (:class:`mgclr.ops.Dropout`: each element kept with probability 1 - p and
            scaled by 1 / (1 - p), as torch's, from mgclr's counter RNG; the mask is never stored) or
            ``"torch"`` (``nn.Dropout(p, inplace=True)``, the released module and random stream).
        graph: ``"published"`` (the released ``Graph(strategy="spatial")``, max_hop 1:
            ``adjacency(layout, "stgcn")``) or ``"true_hop"`` (``adjacency(layout, "stgcn_true_hop")``).
    """

    def __init__(self, layout: Union[str, Layout] = "ntu25", in_channels: int = 3, num_persons: int = 2,
                 hidden_channels: int = 16, hidden_dim: int = 256, edge_importance: bool = True,
                 temporal_kernel: int = 9, eadm_threshold: float = 0.7, dropout: float = 0.0,
                 graph: str = "published", dropout_impl: str = "mgclr") -> None:
        super().__init__()
        self.layout = get_layout(layout)
        if graph not in STGCN_GRAPHS:
            raise ValueError(f"graph: expected one of {tuple(STGCN_GRAPHS)}, got {graph!r}")
        if dropout_impl not in STGCN_DROPOUTS:
            raise ValueError(f"dropout_impl: expected one of {tuple(STGCN_DROPOUTS)}, got {dropout_impl!r}")
        self.graph = graph
        self.dropout_impl = dropout_impl
        self.dropout = float(check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False))
        self.eadm_threshold = float(check_number("eadm_threshold", eadm_threshold, low=0.0, high=1.0))
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.num_persons = check_int("num_persons", num_persons, low=1)
        h = check_int("hidden_channels", hidden_channels, low=1)
        self.out_dim = check_int("hidden_dim", hidden_dim, low=1)
        if temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel: expected an odd number, got {temporal_kernel}")
        A = adjacency(self.layout, STGCN_GRAPHS[graph])
        self.register_buffer("A", A)
        V, K = self.layout.num_joints, A.shape[0]
        self.data_bn = nn.BatchNorm1d(in_channels * V)
        widths = (h, h, h, h, 2 * h, 2 * h, 2 * h, 4 * h, 4 * h, self.out_dim)
        strides = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
        blocks, channels = [], in_channels
        for i, (width, stride) in enumerate(zip(widths, strides)):
            blocks.append(STGCNBlock(channels, width, K, stride, residual=i > 0, temporal_kernel=temporal_kernel,
                                     dropout=self.dropout if i > 0 else 0.0, dropout_impl=dropout_impl))
            channels = width
        self.blocks = nn.ModuleList(blocks)
        self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones_like(A)) for _ in blocks]) \
            if edge_importance else None
        self.total_stride = math.prod(strides)

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *,
                drop: bool = False) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Features ``(N, hidden_dim)``; with ``drop=True`` also those of the EADM-dropped feature map
        (AimCLR's extreme branch, :mod:`mgclr.models.eadm`), as a pair."""
        check_skeleton_input("STGCN", x, self.in_channels, self.layout.num_joints, self.num_persons)
        N, C, T, V, M = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(N * M, V * C, T))
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).reshape(N * M, C, T, V)
        for i, block in enumerate(self.blocks):
            x = block(x, self.A if self.edge_importance is None else self.A * self.edge_importance[i])
        valid = None
        if lengths is not None:
            valid = valid_frames_after(lengths.to(x.device), self.total_stride, x.shape[2]).repeat_interleave(M)
        features = pool_feature_map(x, valid, N, M)
        if not drop:
            return features
        return features, pool_feature_map(energy_attention_drop(x, valid, self.eadm_threshold), valid, N, M)
