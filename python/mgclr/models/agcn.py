"""The spatial stream: the joint stream of 2s-AGCN (Shi et al., CVPR 2019), as ISC and the paper use it.

Ten units of an adaptive graph convolution followed by a temporal convolution (kernel 9), widths
64-64-64-64-128-128-128-256-256-256 with stride 2 at units 5 and 8, each with a residual path (none on the
first unit). A unit's graph is the sum of three (V, V) matrices per subset of the 3-subset partition:
``A`` fixed (:func:`mgclr.skeleton.adjacency`, ``kind="agcn"``), ``B`` learned (initialised at 1e-6) and
``C`` computed per sample, ``softmax(theta(x)^T phi(x))`` over joints. The input is normalised by one
BatchNorm over (M, V, C) ("data BN"), persons go through the network as separate samples, and the
output is the mean over frames and joints, then over persons: ``(N, 256)``.

What mgclr does beyond the published model: with ``lengths`` the temporal mean covers only the valid
output frames (``ceil(L / 4)``) instead of all T (identical when every sequence fills T; the convolutions
still see the padding, as in 2s-AGCN); the three subsets' 1x1 convolutions run as one convolution each
(the same function and weights; one bias per output channel instead of three summed ones).

Parity: with the published 2s-AGCN NTU weights (``lshiwjx/2s-AGCN`` ``model/agcn.py``; ISC's ``moco/AGCN.py``
builds the same network) mapped by :func:`mgclr.models.load_published` (``arch="agcn_2s"``: ``PA`` -> ``B``,
the three ``conv_a`` / ``conv_b`` / ``conv_d`` -> one ``theta`` / ``phi`` / ``project``, the three ``conv_d``
biases summed) the features match the released code's to 4e-6 (fixture ``agcn_2s.npz``). Defaults that depart
from the released model: none in the architecture; the initialisation is 2s-AGCN's, and the output BN starts
at 1e-6 as there.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .._validation import check_int, check_number
from ..skeleton import Layout, adjacency, get_layout
from .eadm import energy_attention_drop

__all__ = ["AGCN", "AGCN_WIDTHS"]

AGCN_WIDTHS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
AGCN_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


class TemporalConv(nn.Module):
    """Conv (kernel, 1) over time, then BatchNorm (2s-AGCN's unit_tcn)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 9, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel, 1), padding=((kernel - 1) // 2, 0),
                              stride=(stride, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out")
        nn.init.zeros_(self.conv.bias)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AdaptiveGraphConv(nn.Module):
    """y = sum_k W_k x (A_k + B_k + C_k(x)), then BatchNorm, plus a residual, then ReLU (2s-AGCN's unit_gcn).
    x: (N, C, T, V) -> (N, out_channels, T, V)."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, embed_ratio: int = 4) -> None:
        super().__init__()
        subsets, V, _ = A.shape
        self.subsets = subsets
        self.inter = max(1, out_channels // embed_ratio)
        self.register_buffer("A", A.clone())
        self.B = nn.Parameter(torch.full_like(A, 1e-6))
        self.theta = nn.Conv2d(in_channels, self.inter * subsets, 1)  # conv_a of every subset at once
        self.phi = nn.Conv2d(in_channels, self.inter * subsets, 1)    # conv_b
        self.project = nn.Conv2d(in_channels * subsets, out_channels, 1)  # conv_d: W_k applied to x A_k
        self.down = (nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
                     if in_channels != out_channels else nn.Identity())
        self.bn = nn.BatchNorm2d(out_channels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # Each subset's W_k as 2s-AGCN initialises it (conv_branch_init), and a near-zero output BN so that
        # a new unit starts close to its residual path.
        nn.init.normal_(self.project.weight, 0.0, math.sqrt(2.0 / (out_channels * in_channels * subsets)))
        nn.init.constant_(self.bn.weight, 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, T, V = x.shape
        K, inter = self.subsets, self.inter
        theta = self.theta(x).reshape(N, K, inter * T, V)
        phi = self.phi(x).reshape(N, K, inter * T, V)
        # C_k(x) = softmax over the first joint axis of theta^T phi / (inter * T), as 2s-AGCN (Softmax(-2)).
        graph = torch.softmax(theta.transpose(-1, -2) @ phi / (inter * T), dim=-2) + (self.A + self.B)
        # x A_k for every subset in one batched matmul, laid out (N, K * C, T, V) for the projection.
        mixed = (x.reshape(N, 1, C * T, V) @ graph).view(N, K * C, T, V)
        return torch.relu(self.bn(self.project(mixed)) + self.down(x))


class AGCNUnit(nn.Module):
    """Adaptive graph conv, temporal conv, residual, ReLU (2s-AGCN's TCN_GCN_unit)."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, stride: int = 1, residual: bool = True,
                 temporal_kernel: int = 9, embed_ratio: int = 4) -> None:
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, A, embed_ratio)
        self.tcn = TemporalConv(out_channels, out_channels, temporal_kernel, stride)
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConv(in_channels, out_channels, kernel=1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        return torch.relu(y if self.residual is None else y + self.residual(x))


def valid_frames_after(lengths: torch.Tensor, total_stride: int, frames_out: int) -> torch.Tensor:
    """Valid output frames of a sequence of ``lengths`` valid frames after strided convolutions (padding
    (k - 1) / 2): ceil(L / stride), at most the output's length."""
    return torch.clamp((lengths + total_stride - 1) // total_stride, 1, frames_out)


def masked_time_mean(x: torch.Tensor, valid: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean over the last axis of x (..., T) for the first ``valid`` (N,) frames of each row's sample."""
    if valid is None:
        return x.mean(dim=-1)
    T = x.shape[-1]
    mask = (torch.arange(T, device=x.device).unsqueeze(0) < valid.unsqueeze(1)).to(x.dtype)  # (N, T)
    shape = (mask.shape[0],) + (1,) * (x.dim() - 2) + (T,)
    return (x * mask.view(shape)).sum(dim=-1) / valid.to(x.dtype).view(shape[:-1])


def pool_feature_map(x: torch.Tensor, valid: Optional[torch.Tensor], N: int, M: int) -> torch.Tensor:
    """A graph encoder's ``(N·M, C, T, V)`` feature map -> ``(N, C)``: mean over joints, over the valid
    frames, then over persons."""
    return masked_time_mean(x.mean(dim=3), valid).view(N, M, -1).mean(dim=1)


def check_skeleton_input(name: str, x: torch.Tensor, in_channels: int, num_joints: int, num_persons: int):
    if not isinstance(x, torch.Tensor) or x.dim() != 5:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: x: expected a (N, C, T, V, M) tensor, got {shape}")
    N, C, T, V, M = x.shape
    if (C, V, M) != (in_channels, num_joints, num_persons):
        raise ValueError(f"{name}: x: expected C={in_channels}, V={num_joints}, M={num_persons} (the encoder's "
                         f"in_channels, layout and num_persons), got shape {tuple(x.shape)}")


class AGCN(nn.Module):
    """2s-AGCN joint stream: ``(N, C, T, V, M)`` (+ ``lengths`` (N,)) -> ``(N, widths[-1])`` features.

    Args:
        layout: skeleton layout (name or :class:`~mgclr.skeleton.Layout`): V and the fixed adjacency.
        in_channels: C (3 for xyz).
        num_persons: M.
        widths: output channels of the ten units (smaller for CPU demos and tests).
        strides: temporal stride of each unit (2 at units 5 and 8).
        temporal_kernel: temporal convolution size (9).
        embed_ratio: the data-dependent graph embeds into ``width // embed_ratio`` channels (4).
        eadm_threshold: attention at or above which ``forward(..., drop=True)`` drops (0.7, the ``keep_prob``
            AimCLR's model passes to its ``Simam_Drop``).
    """

    def __init__(self, layout: Union[str, Layout] = "ntu25", in_channels: int = 3, num_persons: int = 2,
                 widths: Sequence[int] = AGCN_WIDTHS, strides: Sequence[int] = AGCN_STRIDES,
                 temporal_kernel: int = 9, embed_ratio: int = 4, eadm_threshold: float = 0.7) -> None:
        super().__init__()
        self.layout = get_layout(layout)
        self.eadm_threshold = float(check_number("eadm_threshold", eadm_threshold, low=0.0, high=1.0))
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.num_persons = check_int("num_persons", num_persons, low=1)
        widths = [check_int(f"widths[{i}]", w, low=1) for i, w in enumerate(widths)]
        strides = [check_int(f"strides[{i}]", s, low=1) for i, s in enumerate(strides)]
        if len(widths) != len(strides) or not widths:
            raise ValueError(f"widths, strides: expected two non-empty lists of one length, got {len(widths)} "
                             f"widths and {len(strides)} strides")
        if temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel: expected an odd number, got {temporal_kernel}")
        V = self.layout.num_joints
        A = adjacency(self.layout, "agcn")
        self.data_bn = nn.BatchNorm1d(num_persons * V * in_channels)
        nn.init.ones_(self.data_bn.weight)
        nn.init.zeros_(self.data_bn.bias)
        units, channels = [], in_channels
        for i, (width, stride) in enumerate(zip(widths, strides)):
            units.append(AGCNUnit(channels, width, A, stride, residual=i > 0, temporal_kernel=temporal_kernel,
                                  embed_ratio=embed_ratio))
            channels = width
        self.units = nn.ModuleList(units)
        self.total_stride = math.prod(strides)
        self.out_dim = channels

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *,
                drop: bool = False) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Features ``(N, widths[-1])``; with ``drop=True`` also those of the EADM-dropped feature map
        (AimCLR's extreme branch, :mod:`mgclr.models.eadm`), as a pair."""
        check_skeleton_input("AGCN", x, self.in_channels, self.layout.num_joints, self.num_persons)
        N, C, T, V, M = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(N, M * V * C, T))
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).reshape(N * M, C, T, V)
        for unit in self.units:
            x = unit(x)
        valid = None
        if lengths is not None:
            valid = valid_frames_after(lengths.to(x.device), self.total_stride, x.shape[2]).repeat_interleave(M)
        features = pool_feature_map(x, valid, N, M)
        if not drop:
            return features
        return features, pool_feature_map(energy_attention_drop(x, valid, self.eadm_threshold), valid, N, M)
