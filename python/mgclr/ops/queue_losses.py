"""The rest of the queue-loss family, on the machinery of :func:`mgclr.ops.queue_infonce` (no N × K tensor).

* :func:`queue_soft_cross_entropy` — AimCLR's D3M: ``−Σ_j p_j log r_j`` over ``[k⁺, queue]``, p the softmax
  of a target query's logits (no gradient), r that of ``q``'s. Since ``Σ_j p_j · (q·c_j)/τ = q·P̄/τ`` with
  ``P̄ = Σ_j p_j c_j``, it is ``L_r − q·P̄/τ``: the plain loss of q (any impl: ``L_r − s0``) plus
  ``s0 − q·P̄/τ``, where ``P̄ = τ·dq_target + k⁺`` comes from the gradient every memory-free impl already
  computes for the target (``dq = (P̄ − k⁺)/τ``). Two passes over the queue, no logits kept.
* :func:`queue_topk` — each query's t most similar queue indices (AimCLR's nearest-neighbour mining,
  CrosSCLR's cross-view positives), over chunks of the queue.
* extra positives: ``queue_infonce(..., positives=P)`` (in :mod:`mgclr.ops.infonce`).

Rules as for ``queue_infonce``: NaN in any input row makes that row's loss NaN (a NaN queue row every
row's); ``check_finite=True`` raises instead. Eager references in :mod:`mgclr.ops.reference`.
"""

from __future__ import annotations

import torch

from .._validation import check_finite_tensor, check_number, check_same_device, check_tensor
from .infonce import _per_sample, _resolve_impl, _validate
from .reference import queue_soft_cross_entropy_reference

_REDUCTIONS = ("mean", "none")


def queue_soft_cross_entropy(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, target_q: torch.Tensor,
                             temperature: float, impl: str = "auto", *, reduction: str = "mean",
                             check_finite: bool = False, chunk_size: int = 4096) -> torch.Tensor:
    """``−Σ_j p_j log r_j`` over the K+1 candidates ``[k⁺, queue]`` (AimCLR's D3M loss).

    Args:
        q: ``(N, D)`` queries whose distribution r is trained (the only argument with a gradient).
        k: ``(N, D)`` positive keys; queue: ``(K, D)`` negatives (both detached).
        target_q: ``(N, D)`` queries giving the target distribution p (detached: no gradient).
        temperature: τ > 0 for both distributions.
        impl: as :func:`mgclr.ops.queue_infonce` (``"reference"`` builds the logits).
        reduction: ``"mean"`` (a scalar) or ``"none"`` (per sample, ``(N,)``).

    Returns:
        the loss (float32 for half-type inputs, else q's dtype).
    """
    _validate(q, k, queue, temperature, impl, check_finite, chunk_size)
    check_tensor("target_q", target_q, ndim=2, shape_hint="(N, D)")
    if tuple(target_q.shape) != tuple(q.shape):
        raise ValueError(f"target_q: expected shape (N, D) = {tuple(q.shape)} like q, got {tuple(target_q.shape)}")
    if target_q.dtype != q.dtype:
        raise TypeError(f"target_q: expected dtype {str(q.dtype).replace('torch.', '')} (the dtype of q), got "
                        f"{str(target_q.dtype).replace('torch.', '')}")
    check_same_device(q=q, target_q=target_q)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    if check_finite:
        check_finite_tensor("target_q", target_q)
    tau = float(temperature)
    impl = _resolve_impl(impl, q.device, q.shape[0], queue.shape[0], q.shape[1], q.dtype, False)
    if impl == "reference":  # the logits in full, once
        half = (torch.bfloat16, torch.float16)
        per_sample = queue_soft_cross_entropy_reference(*(t.float() if t.dtype in half else t
                                                          for t in (q, k, queue, target_q)), tau)
    else:
        with torch.no_grad():
            _, kc, _, _, _, dq_target = _per_sample(target_q.detach(), k, queue, tau, impl, False, int(chunk_size),
                                                    False)
        p_bar = (dq_target.to(kc.dtype) * tau + kc).detach()  # Σ_j p_j c_j of the target distribution
        qc, kc, _, plain, _, _ = _per_sample(q, k, queue, tau, impl, False, int(chunk_size), False)
        per_sample = plain + ((qc * kc).sum(dim=1) - (qc * p_bar).sum(dim=1)) / tau
    return per_sample.mean() if reduction == "mean" else per_sample


def queue_topk(q: torch.Tensor, queue: torch.Tensor, t: int, *, chunk_size: int = 4096) -> torch.Tensor:
    """Each row's ``t`` most similar queue indices by ``q_i·queue_j``, most similar first: ``(N, t)`` int64.

    Over chunks of ``chunk_size`` queue rows (memory O(N·(chunk_size + t))), merging a running top-t with
    each chunk's. No gradient. Among exactly equal similarities, lower indices come first, except at a
    chunk's own cut (which of two equal values at its t-th place is kept is torch.topk's choice). NaN
    similarities (a NaN in q_i or in a queue row) rank above every number, as in torch.topk.
    """
    check_tensor("q", q, ndim=2, shape_hint="(N, D)")
    check_tensor("queue", queue, ndim=2, shape_hint="(K, D)")
    if queue.shape[1] != q.shape[1]:
        raise ValueError(f"queue: expected shape (K, D) with D = {q.shape[1]} like q, got {tuple(queue.shape)}")
    if queue.dtype != q.dtype:
        raise TypeError(f"queue: expected dtype {str(q.dtype).replace('torch.', '')} (the dtype of q), got "
                        f"{str(queue.dtype).replace('torch.', '')}")
    check_same_device(q=q, queue=queue)
    K = queue.shape[0]
    check_number("t", t, low=1, integer=True)
    if t > K:
        raise ValueError(f"t: expected at most K = {K} (the queue's rows), got {t}")
    check_number("chunk_size", chunk_size, low=1, integer=True)
    with torch.no_grad():
        q, queue = q.detach(), queue.detach()
        if q.dtype in (torch.bfloat16, torch.float16):
            q, queue = q.float(), queue.float()
        chunk = max(int(chunk_size), int(t))
        best_v = best_i = None
        for c0 in range(0, K, chunk):
            s = q @ queue[c0:c0 + chunk].t()
            v, i = torch.topk(s, min(t, s.shape[1]), dim=1)
            i = i + c0
            if best_v is not None:
                # Running entries first: a stable sort keeps the lower (earlier) index ahead of an equal value.
                v, i = torch.cat([best_v, v], dim=1), torch.cat([best_i, i], dim=1)
            order = torch.sort(v, dim=1, descending=True, stable=True).indices[:, :t]
            best_v, best_i = torch.gather(v, 1, order), torch.gather(i, 1, order)
        return best_i


__all__ = ["queue_soft_cross_entropy", "queue_topk"]
