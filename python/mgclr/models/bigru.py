"""The temporal stream: a bidirectional GRU over the skeleton sequence (the paper's 3 layers x 1024 units).

Each frame is one input vector: the frame's (V, C, M) values flattened with persons fastest, V * C * M
numbers (150 for NTU's 25 joints, 3 coordinates, 2 persons), as ISC feeds its GRU. Unlike ISC, which
calls the GRU one frame at a time in a Python loop (so its "backward" direction never sees reversed time),
the whole sequence goes through one ``nn.GRU`` call (cuDNN on a GPU), truly bidirectional, and padding
is skipped through packed sequences when ``lengths`` is given: the output does not depend on what the
padding frames hold. :class:`~mgclr.models.ISCBiGRU` computes what ISC's released code computes (both
directions forward in time, xavier init), for parity and for loading ISC's weights.

Features (``pooling``):

``"last"``
    the final hidden states of the top layer, forward direction (after the last valid frame) and backward
    direction (after reading back to frame 0), concatenated: ``(N, 2 * hidden)``.
``"mean"``
    the top layer's outputs of both directions averaged over the valid frames: ``(N, 2 * hidden)``.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._validation import check_int
from .agcn import check_skeleton_input, masked_time_mean

__all__ = ["BiGRU"]

POOLINGS = ("last", "mean")


class BiGRU(nn.Module):
    """``(N, C, T, V, M)`` (+ ``lengths`` (N,)) -> ``(N, 2 * hidden)`` features.

    Args:
        num_joints, in_channels, num_persons: V, C, M of the input (the GRU reads V * C * M per frame).
        hidden: units per direction (1024).
        layers: stacked layers (3).
        pooling: ``"last"`` or ``"mean"`` (module docstring).
        dropout: between layers (0).
    """

    def __init__(self, num_joints: int = 25, in_channels: int = 3, num_persons: int = 2, hidden: int = 1024,
                 layers: int = 3, pooling: str = "last", dropout: float = 0.0) -> None:
        super().__init__()
        self.num_joints = check_int("num_joints", num_joints, low=1)
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.num_persons = check_int("num_persons", num_persons, low=1)
        hidden = check_int("hidden", hidden, low=1)
        layers = check_int("layers", layers, low=1)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.gru = nn.GRU(num_joints * in_channels * num_persons, hidden, layers, batch_first=True,
                          bidirectional=True, dropout=float(dropout) if layers > 1 else 0.0)
        self.out_dim = 2 * hidden

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_skeleton_input("BiGRU", x, self.in_channels, self.num_joints, self.num_persons)
        N, C, T, V, M = x.shape
        frames = x.permute(0, 2, 3, 1, 4).reshape(N, T, V * C * M)
        if lengths is None:
            out, h = self.gru(frames)
            valid = None
        else:
            valid = lengths.to(device=x.device, dtype=torch.int64).clamp(1, T)
            # pack_padded_sequence wants its lengths on the CPU (a device sync on CUDA, once per call).
            packed = pack_padded_sequence(frames, valid.cpu(), batch_first=True, enforce_sorted=False)
            out, h = self.gru(packed)
            if self.pooling == "mean":
                out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        if self.pooling == "last":
            return torch.cat([h[-2], h[-1]], dim=1)  # top layer, forward then backward direction
        return masked_time_mean(out.transpose(1, 2), valid)
