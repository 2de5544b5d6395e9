"""AimCLR (Guo et al., AAAI 2022): extreme augmentations, EADM, D3M and nearest-neighbour mining.

Per step, three encoder passes of the query encoder and one of the key encoder (AimCLR's ``forward``):

* ``q`` of the normal query view, ``k`` of the key view (MoCo's pair);
* ``q_e`` of the *extreme* view (the ``aimclr_extreme`` preset by default) and, with ``drop``, ``q_ed``: the
  same pass with the EADM-dropped feature map (:mod:`mgclr.models.eadm`; the encoder's ``forward(...,
  drop=True)``, AGCN and ST-GCN), both through the query head.

loss = InfoNCE(q) + ½ [D3M(q_e) + D3M(q_ed)], where D3M(r) = −Σ_j p_j log r_j over [k⁺, queue] with p the
softmax of q's logits, detached (:func:`mgclr.ops.queue_soft_cross_entropy`: two memory-free passes). From
epoch ``nnm_epoch`` on (0-based), **NNM**: the ``topk`` queue entries most similar to each of q, q_e and q_ed
(:func:`mgclr.ops.queue_topk`) join k⁺ as positives of q's InfoNCE, as one set (AimCLR's union mask: an entry
found twice counts once), ``queue_infonce(..., positives=)``. AimCLR's ``mining_epoch: 150`` (NNM while
``epoch > 150``, 0-based) is ``nnm_epoch: 151`` here. Without ``drop`` the loss is InfoNCE + D3M(q_e).

Where this differs from AimCLR's code, and why: the key encoder's moving average runs after the optimiser
step instead of at the start of the next forward (the same weights for every step but the first, whose key
encoder here is the initial copy: both are); the queue is written with any batch size (theirs asserts
K % N == 0); NNM's top-k runs over queue chunks and NNM's and D3M's losses never build the N × K logits --
except with ``infonce_impl: auto`` on the CPU at small N·K (``aimclr_single_pass_wins``), where one eager pass
over the stacked queries' logits is faster (:func:`mgclr.ops.queue_losses.aimclr_loss_single_pass`: the same
terms, the released code's way, at most 6 MiB of logits).
"""

from __future__ import annotations

import inspect
from typing import Dict, List, Optional

import torch

from ..._validation import check_int
from ...ops import queue_infonce, queue_soft_cross_entropy, queue_softmax_mean, queue_topk
from ...ops.queue_losses import aimclr_loss_single_pass, aimclr_single_pass_wins
from ...profiling import range as nvtx_range
from .base import Embedding, MoCoOutput, MomentumMethod, Peers, View

__all__ = ["AimCLR"]


def _takes_drop(encoder: torch.nn.Module) -> bool:
    """True when ``encoder.forward`` takes ``drop`` (AGCN, STGCN; a StreamEncoder around one of them)."""
    inner = getattr(encoder, "encoder", encoder)
    return "drop" in inspect.signature(inner.forward).parameters


def aimclr_terms(q: torch.Tensor, extremes: List[torch.Tensor], k: torch.Tensor, queue: torch.Tensor, tau: float,
                 topk: Optional[int], infonce_impl: str = "auto", single_pass: Optional[bool] = None):
    """AimCLR's loss terms from the embeddings: the InfoNCE stats of ``q`` (with each query's ``topk`` nearest
    queue entries of every view as extra positives when ``topk`` is given: NNM) and one D3M term per extreme
    view. ``single_pass``: force the one-logits-matrix path (None: ``infonce_impl`` ``auto`` takes it where it
    wins, :func:`~mgclr.ops.queue_losses.aimclr_single_pass_wins`)."""
    if single_pass is None:
        single_pass = infonce_impl == "auto" and aimclr_single_pass_wins(q.device, q.shape[0], queue.shape[0])
    if single_pass:
        return aimclr_loss_single_pass(q, extremes, k, queue, tau, topk)
    positives = None
    if topk:  # one chunked pass for all queries: (views·N, topk) -> (N, views·topk)
        found = queue_topk(torch.cat([q, *extremes]), queue, topk)
        positives = found.view(1 + len(extremes), -1, topk).permute(1, 0, 2).reshape(q.shape[0], -1)
    stats = queue_infonce(q, k, queue, tau, infonce_impl, positives=positives, return_stats=True)
    target = queue_softmax_mean(q, k, queue, tau, infonce_impl)  # D3M's target, once for both
    d3m = [queue_soft_cross_entropy(v, k, queue, None, tau, infonce_impl, target_mean=target) for v in extremes]
    return stats, d3m


class AimCLR(MomentumMethod):
    """One AimCLR stream (module docstring).

    Args (besides :class:`~mgclr.models.methods.base.MomentumMethod`'s):
        nnm_epoch: the first (0-based) epoch of nearest-neighbour mining; None: never (AimCLR: 151).
        topk: queue entries mined per query and per view (AimCLR: 1).
        drop: the EADM-dropped branch (needs an encoder whose ``forward`` takes ``drop``: AGCN, STGCN).
    """

    name = "aimclr"
    extra_views = {"extreme": {"preset": "aimclr_extreme"}}
    schedules = {"nnm_epoch": "nearest-neighbour mining"}

    def __init__(self, encoder, head, queue_size: int = 16384, momentum: float = 0.999, temperature: float = 0.07,
                 *, nnm_epoch: Optional[int] = None, topk: int = 1, drop: bool = True, **kwargs) -> None:
        super().__init__(encoder, head, queue_size, momentum, temperature, **kwargs)
        self.nnm_epoch = None if nnm_epoch is None else check_int("nnm_epoch", nnm_epoch, low=0)
        self.topk = self._check_topk(topk)
        if not isinstance(drop, bool):
            raise TypeError(f"drop: expected true or false, got {drop!r}")
        if drop and not _takes_drop(encoder):
            inner = getattr(encoder, "encoder", encoder)
            raise ValueError(f"drop: AimCLR's EADM branch needs an encoder whose forward takes drop= (AGCN, STGCN), "
                             f"got {type(inner).__name__}; set drop: false for this encoder")
        self.drop = drop

    def mining(self, epoch: int) -> bool:
        """Whether NNM is on in ``epoch`` (0-based)."""
        return self.nnm_epoch is not None and epoch >= self.nnm_epoch

    def embed(self, views: Dict[str, View]) -> Embedding:
        emb = super().embed(views)
        extreme = views["extreme"]
        if self.drop:
            features, dropped = self.encoder_q(extreme.x, extreme.lengths, drop=True)
            extra = {"extreme": self.project(features), "extreme_drop": self.project(dropped)}
        else:
            extra = {"extreme": self.encode_query(extreme.x, extreme.lengths)}
        return emb._replace(extra=extra)

    def loss(self, emb: Embedding, epoch: int = 0, peers: Optional[Peers] = None) -> MoCoOutput:
        q, k, queue, tau = emb.queries.float(), emb.keys.float(), self.queue.queue, self.temperature
        extremes = [emb.extra[name].float() for name in ("extreme", "extreme_drop") if name in emb.extra]
        mining = self.mining(epoch)
        with nvtx_range("mgclr/loss"):
            stats, d3m = aimclr_terms(q, extremes, k, queue, tau, self.topk if mining else None, self.infonce_impl)
            loss = stats.loss + sum(d3m) / len(d3m)
        terms = {"infonce": stats.loss.detach(), "d3m": d3m[0].detach()}
        if len(d3m) > 1:
            terms["d3m_drop"] = d3m[1].detach()
        terms["nnm"] = torch.tensor(float(mining))
        return MoCoOutput(loss, stats, emb.queries, emb.keys, terms)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nnm_epoch={self.nnm_epoch}, topk={self.topk}, drop={self.drop}"
