"""CrosSCLR (Li et al., CVPR 2021): single-view MoCo per stream first, then cross-view consistent knowledge
mining between streams.

Until epoch ``cross_epoch`` (0-based) each stream is plain MoCo. From then on, a stream A learns from each
partner stream B: B's query finds its ``topk`` most similar entries of B's queue (:func:`mgclr.ops.queue_topk`)
and those entries of A's queue count as A's positives -- the queues of A and B hold the same samples in the
same order (every stream enqueues every batch's keys, and partners have one queue size). With ``context``
(CrosSCLR's default), each queue entry j adds a second candidate whose logit is the product of both streams'
similarities, ``(q_A·Q_A,j)(q_B·Q_B,j)/τ``, and a mined entry counts in both blocks
(:func:`mgclr.ops.queue_context_infonce`, chunked: no N × 2K logits). A's loss is the mean over its partners
(CrosSCLR's 3-view code: ``(loss_jm + loss_jb) / 2``). CrosSCLR's ``cross_epoch: 150`` (cross training while
``epoch > 150``, 0-based) is ``cross_epoch: 151`` here.

Where this differs from CrosSCLR's code, and why: in its cross-training branch only the motion stream's key
encoder keeps its moving average (the joint and bone key encoders freeze; an omission, as its single-view
branch updates all three): here every stream's key encoder keeps moving. The queues are written with any
batch size, and the mining and the context loss never build the N × K logits.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Sequence

import torch

from ..._validation import check_int
from ...ops import queue_context_infonce, queue_infonce, queue_topk
from ...profiling import range as nvtx_range
from .base import Embedding, MoCoOutput, MomentumMethod, Peers

__all__ = ["CrosSCLR"]


class CrosSCLR(MomentumMethod):
    """One CrosSCLR stream (module docstring).

    Args (besides :class:`~mgclr.models.methods.base.MomentumMethod`'s):
        partners: the names of the streams it mines positives from; None: every other CrosSCLR stream of the
            model (the 3-view CrosSCLR: joint, motion, bone).
        cross_epoch: the first (0-based) epoch of cross-view mining; None: never (CrosSCLR: 151).
        topk: queue entries mined per query and partner (CrosSCLR: 1).
        context: the context candidates (CrosSCLR: true).
    """

    name = "crossclr"
    schedules = {"cross_epoch": "cross-view mining"}

    def __init__(self, encoder, head, queue_size: int = 16384, momentum: float = 0.999, temperature: float = 0.07,
                 *, partners: Optional[Sequence[str]] = None, cross_epoch: Optional[int] = None, topk: int = 1,
                 context: bool = True, **kwargs) -> None:
        super().__init__(encoder, head, queue_size, momentum, temperature, **kwargs)
        if partners is not None and (isinstance(partners, str) or not all(isinstance(p, str) for p in partners)):
            raise TypeError(f"partners: expected a list of stream names, got {partners!r}")
        self.partners: Optional[List[str]] = None if partners is None else list(partners)
        self.cross_epoch = None if cross_epoch is None else check_int("cross_epoch", cross_epoch, low=0)
        self.topk = self._check_topk(topk)
        if not isinstance(context, bool):
            raise TypeError(f"context: expected true or false, got {context!r}")
        self.context = context

    def check_peers(self, streams: Mapping[str, MomentumMethod], own_name: str) -> None:
        if self.partners is None:
            self.partners = [n for n, s in streams.items() if n != own_name and isinstance(s, CrosSCLR)]
        for name in self.partners:
            if name == own_name:
                raise ValueError(f"partners: a stream cannot be its own partner ({own_name!r})")
            if name not in streams:
                raise ValueError(f"partners: no stream {name!r} (streams: {', '.join(streams)})")
            if streams[name].queue.size != self.queue.size:
                raise ValueError(f"partners: {name!r} has a queue of {streams[name].queue.size}, {own_name!r} one of "
                                 f"{self.queue.size}; cross-view mining needs one size (entry j of both queues is "
                                 f"one sample's key)")
        if len(set(self.partners)) != len(self.partners):
            raise ValueError(f"partners: a stream is named twice in {self.partners}")
        if self.cross_epoch is not None and not self.partners:
            raise ValueError(f"partners: stream {own_name!r} mines across streams from cross_epoch "
                             f"{self.cross_epoch} on, but the model has no other stream to mine from")

    def crossing(self, epoch: int) -> bool:
        """Whether cross-view mining is on in ``epoch`` (0-based)."""
        return self.cross_epoch is not None and epoch >= self.cross_epoch

    def loss(self, emb: Embedding, epoch: int = 0, peers: Optional[Peers] = None) -> MoCoOutput:
        q, k, queue, tau = emb.queries.float(), emb.keys.float(), self.queue.queue, self.temperature
        if not self.crossing(epoch):
            with nvtx_range("mgclr/loss"):
                stats = queue_infonce(q, k, queue, tau, self.infonce_impl, return_stats=True)
            return MoCoOutput(stats.loss, stats, emb.queries, emb.keys, {"cross": torch.tensor(0.0)})
        missing = [n for n in self.partners or () if peers is None or n not in peers]
        if missing:
            raise ValueError(f"peers: cross-view mining (epoch {epoch} >= cross_epoch {self.cross_epoch}) needs the "
                             f"embeddings of the partner streams {', '.join(missing)} (train the streams together, "
                             f"in one MultiStreamMoCo)")
        terms, losses, stats = {}, [], None
        with nvtx_range("mgclr/loss"):
            for name in self.partners:
                partner, partner_emb = peers[name]
                q_b, queue_b = partner_emb.queries.float(), partner.queue.queue
                positives = self._nearest(partner, partner_emb)
                if self.context:
                    term = queue_context_infonce(q, k, queue, q_b, queue_b, tau, positives=positives)
                else:
                    out = queue_infonce(q, k, queue, tau, self.infonce_impl, positives=positives,
                                        return_stats=stats is None)
                    if stats is None:
                        stats, term = out, out.loss
                    else:
                        term = out
                losses.append(term)
                terms[f"cross_{name}"] = term.detach()
            loss = sum(losses) / len(losses)
        terms["cross"] = torch.tensor(1.0)
        return MoCoOutput(loss, stats, emb.queries, emb.keys, terms)

    def _nearest(self, partner: MomentumMethod, partner_emb: Embedding):
        """The ``topk`` entries of the partner's queue nearest its query, ``(N, topk)``: searched once per step
        and kept with the partner's embedding, so every stream that mines from it (3-view CrosSCLR: two) reads
        the same indices instead of searching the queue again."""
        key = f"nearest_top{self.topk}"
        found = partner_emb.extra.get(key)
        if found is None:
            found = partner_emb.extra[key] = queue_topk(partner_emb.queries.float(), partner.queue.queue, self.topk)
        return found

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, partners={self.partners}, cross_epoch={self.cross_epoch}, "
                f"topk={self.topk}, context={self.context}")
