"""Projection heads of contrastive pretraining (removed for evaluation)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .._validation import check_int

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Module):
    """``(N, in_dim)`` -> ``(N, out_dim)``: ``Linear`` (``hidden_dim=None``) or ``Linear-ReLU-Linear``
    (MoCo v2, ISC's MLP head: in_dim -> hidden_dim -> out_dim)."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden_dim: Optional[int] = None) -> None:
        super().__init__()
        self.in_dim = check_int("in_dim", in_dim, low=1)
        self.out_dim = check_int("out_dim", out_dim, low=1)
        if hidden_dim is None:
            self.net = nn.Linear(in_dim, out_dim)
        else:
            hidden_dim = check_int("hidden_dim", hidden_dim, low=1)
            self.net = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)
