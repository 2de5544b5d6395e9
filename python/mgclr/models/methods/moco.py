"""MoCo (He et al., CVPR 2020; v2's MLP head): the method of the paper, ISC and SkeletonCLR.

loss = InfoNCE(q, k⁺, queue) by :func:`mgclr.ops.queue_infonce` (no N × K logits).
"""

from __future__ import annotations

from typing import Optional

from ...ops import queue_infonce
from ...profiling import range as nvtx_range
from .base import Embedding, MoCoOutput, MomentumMethod, Peers

__all__ = ["MoCo"]


class MoCo(MomentumMethod):
    """One MoCo stream: queries of the query view against the key of the key view and the queue (arguments:
    :class:`~mgclr.models.methods.base.MomentumMethod`)."""

    name = "moco"

    def loss(self, emb: Embedding, epoch: int = 0, peers: Optional[Peers] = None) -> MoCoOutput:
        with nvtx_range("mgclr/loss"):
            stats = queue_infonce(emb.queries.float(), emb.keys.float(), self.queue.queue, self.temperature,
                                  self.infonce_impl, return_stats=True)
        return MoCoOutput(stats.loss, stats, emb.queries, emb.keys, {})
