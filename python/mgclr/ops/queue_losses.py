"""The rest of the queue-loss family, on the machinery of :func:`mgclr.ops.queue_infonce` (no N × K tensor).

* :func:`queue_soft_cross_entropy` — AimCLR's D3M: ``−Σ_j p_j log r_j`` over ``[k⁺, queue]``, p the softmax
  of a target query's logits (no gradient), r that of ``q``'s. Since ``Σ_j p_j · (q·c_j)/τ = q·P̄/τ`` with
  ``P̄ = Σ_j p_j c_j``, it is ``L_r − q·P̄/τ``: the plain loss of q (any impl: ``L_r − s0``) plus
  ``s0 − q·P̄/τ``, where ``P̄ = τ·dq_target + k⁺`` comes from the gradient every memory-free impl already
  computes for the target (``dq = (P̄ − k⁺)/τ``). Two passes over the queue, no logits kept.
* :func:`queue_softmax_mean` — ``P̄ = Σ_j p_j c_j`` of a target query, the one quantity D3M needs of its target
  (computed once, it serves several queries).
* :func:`queue_topk` — each query's t most similar queue indices (AimCLR's nearest-neighbour mining,
  CrosSCLR's cross-view positives), over chunks of the queue.
* :func:`queue_context_infonce` — CrosSCLR's cross-view loss with context: over 2K+1 candidates, the plain
  logits of ``q`` and each queue entry's *context* logit ``(q·Q_j)(q'·Q'_j)/τ``, where ``q'`` and ``Q'`` are a
  partner stream's query and queue (holding the same samples in the same order). Chunked over the queue
  with the gradient recomputed chunk by chunk in backward: memory O(N·chunk_size), never N × 2K.
* extra positives: ``queue_infonce(..., positives=P)`` (in :mod:`mgclr.ops.infonce`).

Rules as for ``queue_infonce``: NaN in any input row makes that row's loss NaN (a NaN queue row every
row's); ``check_finite=True`` raises instead. Eager references in :mod:`mgclr.ops.reference`.
"""

from __future__ import annotations

from typing import Optional

import torch

from .._validation import check_finite_tensor, check_number, check_same_device, check_tensor
from .auto_policy import threshold
from .infonce import _check_positives, _per_sample, _resolve_impl, _validate
from .reference import (
    queue_context_infonce_reference,
    queue_soft_cross_entropy_reference,
    queue_softmax_mean_reference,
)

_REDUCTIONS = ("mean", "none")


def _check_like_q(name: str, t: torch.Tensor, q: torch.Tensor) -> None:
    check_tensor(name, t, ndim=2, shape_hint="(N, D)")
    if tuple(t.shape) != tuple(q.shape):
        raise ValueError(f"{name}: expected shape (N, D) = {tuple(q.shape)} like q, got {tuple(t.shape)}")
    if t.dtype != q.dtype:
        raise TypeError(f"{name}: expected dtype {str(q.dtype).replace('torch.', '')} (the dtype of q), got "
                        f"{str(t.dtype).replace('torch.', '')}")
    check_same_device(q=q, **{name: t})


def queue_softmax_mean(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float,
                       impl: str = "auto", *, check_finite: bool = False, chunk_size: int = 4096) -> torch.Tensor:
    """``P̄_i = Σ_j p_ij c_j``: the candidates ``c = [k⁺_i, queue]`` averaged under the softmax p of ``q_i``'s
    logits ``q_i·c_j/τ``, ``(N, D)`` with no gradient (the attention output of q over the candidates). It is
    what :func:`queue_soft_cross_entropy` needs of its target; computed once, one target serves several
    queries (AimCLR's two D3M terms share the normal query's). One memory-free pass over the queue (``impl``
    as :func:`mgclr.ops.queue_infonce`; ``"reference"`` builds the logits). Float32 for half-type inputs."""
    _validate(q, k, queue, temperature, impl, check_finite, chunk_size)
    tau = float(temperature)
    impl = _resolve_impl(impl, q.device, q.shape[0], queue.shape[0], q.shape[1], q.dtype, False)
    with torch.no_grad():
        if impl == "reference":
            half = (torch.bfloat16, torch.float16)
            q, k, queue = (t.detach().float() if t.dtype in half else t.detach() for t in (q, k, queue))
            return queue_softmax_mean_reference(q, k, queue, tau)
        _, kc, _, _, _, dq = _per_sample(q.detach(), k, queue, tau, impl, False, int(chunk_size), False)
        return (dq.to(kc.dtype) * tau + kc).detach()  # dq = (P̄ − k⁺)/τ


def queue_soft_cross_entropy(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
                             target_q: Optional[torch.Tensor], temperature: float, impl: str = "auto", *,
                             target_mean: Optional[torch.Tensor] = None, reduction: str = "mean",
                             check_finite: bool = False, chunk_size: int = 4096) -> torch.Tensor:
    """``−Σ_j p_j log r_j`` over the K+1 candidates ``[k⁺, queue]`` (AimCLR's D3M loss).

    Args:
        q: ``(N, D)`` queries whose distribution r is trained (the only argument with a gradient).
        k: ``(N, D)`` positive keys; queue: ``(K, D)`` negatives (both detached).
        target_q: ``(N, D)`` queries giving the target distribution p (detached: no gradient); or None with
            ``target_mean``.
        temperature: τ > 0 for both distributions.
        impl: as :func:`mgclr.ops.queue_infonce` (``"reference"`` builds the logits).
        target_mean: instead of ``target_q``, its :func:`queue_softmax_mean` (computed once for several q).
        reduction: ``"mean"`` (a scalar) or ``"none"`` (per sample, ``(N,)``).

    Returns:
        the loss (float32 for half-type inputs, else q's dtype).
    """
    _validate(q, k, queue, temperature, impl, check_finite, chunk_size)
    if (target_q is None) == (target_mean is None):
        raise ValueError("target_q, target_mean: give one (the target queries, or their queue_softmax_mean), got "
                         + ("neither" if target_q is None else "both"))
    if target_q is not None:
        _check_like_q("target_q", target_q, q)
        if check_finite:
            check_finite_tensor("target_q", target_q)
    else:
        check_tensor("target_mean", target_mean, ndim=2, shape_hint="(N, D)")
        if tuple(target_mean.shape) != tuple(q.shape):
            raise ValueError(f"target_mean: expected shape (N, D) = {tuple(q.shape)} like q, got "
                             f"{tuple(target_mean.shape)}")
        check_same_device(q=q, target_mean=target_mean)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    tau = float(temperature)
    impl = _resolve_impl(impl, q.device, q.shape[0], queue.shape[0], q.shape[1], q.dtype, False)
    if impl == "reference" and target_q is not None:  # the logits in full, once
        half = (torch.bfloat16, torch.float16)
        per_sample = queue_soft_cross_entropy_reference(*(t.float() if t.dtype in half else t
                                                          for t in (q, k, queue, target_q)), tau)
    else:
        # Σ_j p_j·(q·c_j)/τ = q·P̄/τ: the plain loss L_r − s0 of q plus s0 − q·P̄/τ.
        if target_mean is None:
            target_mean = queue_softmax_mean(target_q, k, queue, tau, impl, chunk_size=chunk_size)
        qc, kc, _, plain, _, _ = _per_sample(q, k, queue, tau, impl, False, int(chunk_size), False)
        p_bar = target_mean.detach().to(qc.dtype)
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
        if t == 1:
            return _queue_argmax(q, queue, int(chunk_size))
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


class _ContextLogSumExp(torch.autograd.Function):
    """LSE_i over [s0_i, s_ij, c_ij] (j < K) with s = q·Q_j/τ, c = (q·Q_j)(q'·Q'_j)/τ, s0 = q·k/τ; gradients for
    q and q' (k and both queues are constants). Forward and backward each walk the queue in chunks."""

    @staticmethod
    def forward(ctx, q, q_other, k, queue, queue_other, tau: float, chunk: int):
        with torch.no_grad():
            lse = (q * k).sum(dim=1) / tau
            for c0 in range(0, queue.shape[0], chunk):
                a = q @ queue[c0:c0 + chunk].t()
                b = q_other @ queue_other[c0:c0 + chunk].t()
                b.mul_(a).div_(tau)                                     # the context logits, in place
                lse = torch.logaddexp(lse, torch.logsumexp(b, dim=1))
                lse = torch.logaddexp(lse, torch.logsumexp(a.div_(tau), dim=1))
        ctx.save_for_backward(q, q_other, k, queue, queue_other, lse)
        ctx.tau, ctx.chunk = tau, chunk
        return lse

    @staticmethod
    def backward(ctx, grad_lse):
        q, q_other, k, queue, queue_other, lse = ctx.saved_tensors
        tau, chunk = ctx.tau, ctx.chunk
        g = grad_lse / tau
        s0 = (q * k).sum(dim=1) / tau
        dq = (g * torch.exp(s0 - lse)).unsqueeze(1) * k
        dq_other = torch.zeros_like(q_other)
        for c0 in range(0, queue.shape[0], chunk):
            rows, rows_other = queue[c0:c0 + chunk], queue_other[c0:c0 + chunk]
            a, b = q @ rows.t(), q_other @ rows_other.t()
            # p_context·g, then its two uses; every (N, chunk) temporary reused in place
            weight = torch.exp((a * b).div_(tau).sub_(lse.unsqueeze(1))).mul_(g.unsqueeze(1))
            dq_other.addmm_(weight * a, rows_other)
            weight.mul_(b).add_(torch.exp(a.div_(tau).sub_(lse.unsqueeze(1))).mul_(g.unsqueeze(1)))
            dq.addmm_(weight, rows)
        return dq, dq_other, None, None, None, None, None


def queue_context_infonce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, q_other: torch.Tensor,
                          queue_other: torch.Tensor, temperature: float, *, positives=None, impl: str = "chunked",
                          reduction: str = "mean", check_finite: bool = False,
                          chunk_size: int = 1024) -> torch.Tensor:
    """CrosSCLR's cross-view InfoNCE with context (Li et al., CVPR 2021, its ``context: True``).

    For row i, over the 2K+1 candidates ``[k⁺, queue_j, context_j]`` with logits ``s0 = q·k/τ``,
    ``s_j = q·Q_j/τ`` and ``c_j = (q·Q_j)(q'·Q'_j)/τ`` (``q'``, ``Q'``: the partner stream's query and queue;
    row j of both queues is one sample's key), the loss is ``LSE_i − (s0 + Σ_u (s_u + c_u)) / (1 + 2|U_i|)``:
    the mean of −log p over the positives, k⁺ and, for each distinct index u of ``positives[i]`` (e.g. the
    partner's nearest queue entries, :func:`queue_topk`), both its plain and its context candidate (CrosSCLR's
    mask sets both).

    Args:
        q: ``(N, D)`` this stream's L2-normalised queries (gradient).
        k: ``(N, D)`` its positive keys; queue: ``(K, D)`` its negatives (both constants).
        q_other: ``(N, D')`` the partner stream's queries (gradient, through the context logits).
        queue_other: ``(K, D')`` the partner's queue, the same K samples in the same order (a constant).
        temperature: τ > 0.
        positives: optional ``(N, t)`` int64 queue indices (a repeated index counts once).
        impl: ``"chunked"`` (memory O(N·chunk_size); the default) or ``"reference"`` (the (N, 2K+1) logits,
            eager, as CrosSCLR builds them).
        chunk_size: queue rows per chunk (1024: each chunk's half-dozen (N, chunk) temporaries of the
            log-sum-exp stay near 30 MiB at N = 1024, against 256 MiB for one N × K float32 tensor at K = 65536).
        reduction: ``"mean"`` or ``"none"`` (``(N,)``).

    Returns:
        the loss (float32 for half-type inputs, else q's dtype).
    """
    _validate(q, k, queue, temperature, "reference", check_finite, chunk_size)
    check_tensor("q_other", q_other, ndim=2, shape_hint="(N, D')")
    check_tensor("queue_other", queue_other, ndim=2, shape_hint="(K, D')")
    N, K = q.shape[0], queue.shape[0]
    if q_other.shape[0] != N:
        raise ValueError(f"q_other: expected shape (N, D') with N = {N} like q, got {tuple(q_other.shape)}")
    if tuple(queue_other.shape) != (K, q_other.shape[1]):
        raise ValueError(f"queue_other: expected shape (K, D') = {(K, q_other.shape[1])} (the K of queue: the same "
                         f"samples in the same order; the D' of q_other), got {tuple(queue_other.shape)}")
    for name, t in (("q_other", q_other), ("queue_other", queue_other)):
        if t.dtype != q.dtype:
            raise TypeError(f"{name}: expected dtype {str(q.dtype).replace('torch.', '')} (the dtype of q), got "
                            f"{str(t.dtype).replace('torch.', '')}")
    check_same_device(q=q, q_other=q_other, queue_other=queue_other)
    if impl not in ("chunked", "reference"):
        raise ValueError(f"impl: expected 'chunked' or 'reference', got {impl!r}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    if check_finite:
        check_finite_tensor("q_other", q_other)
        check_finite_tensor("queue_other", queue_other)
    if positives is not None:
        positives = _check_positives(positives, N, K, q.device)
    tau = float(temperature)
    tensors = [q, k.detach(), queue.detach(), q_other, queue_other.detach()]
    if q.dtype in (torch.bfloat16, torch.float16):
        tensors = [t.float() for t in tensors]
    q, k, queue, q_other, queue_other = tensors
    if impl == "reference":
        per_sample = queue_context_infonce_reference(q, k, queue, q_other, queue_other, tau, positives)
    else:
        lse = _ContextLogSumExp.apply(q, q_other, k, queue, queue_other, tau, int(chunk_size))
        per_sample = lse - _mean_positive_logit(q, k, queue, q_other, queue_other, tau, positives)
    return per_sample.mean() if reduction == "mean" else per_sample


def _mean_positive_logit(q, k, queue, q_other, queue_other, tau: float, positives) -> torch.Tensor:
    """(s0 + Σ_u (s_u + c_u)) / (1 + 2|U|) over the distinct indices u of each row (autograd; O(N·t·D))."""
    s0 = (q * k).sum(dim=1) / tau
    if positives is None or positives.shape[1] == 0:
        return s0
    ordered, _ = torch.sort(positives, dim=1)
    distinct = torch.ones_like(ordered, dtype=torch.bool)
    distinct[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    a = torch.einsum("nd,ntd->nt", q, queue[ordered])
    b = torch.einsum("nd,ntd->nt", q_other, queue_other[ordered])
    weight = distinct.to(a.dtype)
    return (s0 + ((a + a * b) / tau * weight).sum(dim=1)) / (1.0 + 2.0 * weight.sum(dim=1))


def _queue_argmax(q: torch.Tensor, queue: torch.Tensor, chunk: int) -> torch.Tensor:
    """queue_topk with t = 1: a running maximum over the chunks (no sort). An earlier chunk keeps a tie; NaN
    outranks every number (torch.max returns a row's NaN)."""
    best_v = best_i = None
    for c0 in range(0, queue.shape[0], chunk):
        v, i = (q @ queue[c0:c0 + chunk].t()).max(dim=1)
        i = i + c0
        if best_v is None:
            best_v, best_i = v, i
        else:
            take = (v > best_v) | (torch.isnan(v) & ~torch.isnan(best_v))
            best_v, best_i = torch.where(take, v, best_v), torch.where(take, i, best_i)
    return best_i.unsqueeze(1)


__all__ = ["queue_context_infonce", "queue_soft_cross_entropy", "queue_softmax_mean", "queue_topk"]


# AimCLR's whole loss from one set of logits wins on the CPU up to this N·K (the value, the machine that measured it
# and the command that measures it again, benchmarks/bench_train.py --method aimclr --compare-policy:
# auto_policy.json).
AIMCLR_SINGLE_PASS_MAX_NK = threshold("aimclr_single_pass_max_nk")


def aimclr_single_pass_wins(device: torch.device, N: int, K: int) -> bool:
    """Whether ``impl="auto"`` computes AimCLR's loss with :func:`aimclr_loss_single_pass` (CPU, small N·K)."""
    return device.type == "cpu" and N * K <= AIMCLR_SINGLE_PASS_MAX_NK


def aimclr_loss_single_pass(q: torch.Tensor, extremes, k: torch.Tensor, queue: torch.Tensor, temperature: float,
                            topk: Optional[int] = None):
    """AimCLR's loss terms from one (V·N, K+1) logits matrix, V = 1 + len(extremes): what ``queue_infonce(q, ...,
    positives=queue_topk(...), return_stats=True)`` and ``queue_soft_cross_entropy(r, ..., target_mean=
    queue_softmax_mean(q, ...))`` for each r in ``extremes`` compute through several memory-free passes, as one
    matmul of the stacked queries (and one in backward) — the released code's single eager pass, faster for small
    N·K (:data:`AIMCLR_SINGLE_PASS_MAX_NK`). ``topk``: NNM's entries per query and view (None: no mining);
    positives and ranks as those functions define them. No validation (the method's inputs are its own).

    Returns ``(stats, d3m)``: a :class:`~mgclr.ops.QueueInfoNCEStats` of q's InfoNCE and the list of D3M losses.
    """
    from .infonce import QueueInfoNCEStats, tie_tolerance

    N, tau = q.shape[0], float(temperature)
    queries = torch.cat([q, *extremes]) if extremes else q
    V = queries.shape[0] // N
    k, queue = k.detach(), queue.detach().clone()  # the clone: a later in-place enqueue leaves backward alone
    pos = (queries * k.repeat(V, 1)).sum(dim=1, keepdim=True)
    logits = torch.cat([pos, queries @ queue.t()], dim=1) / tau
    log_p = torch.log_softmax(logits, dim=1)
    lq = log_p[:N]
    if topk:
        with torch.no_grad():
            found = logits[:, 1:].topk(topk, dim=1).indices.view(V, N, topk).permute(1, 0, 2).reshape(N, -1)
            weight = torch.zeros_like(lq)
            weight[:, 0] = 1.0
            weight.scatter_(1, found + 1, 1.0)  # an entry found twice counts once
        per_sample = -(lq * weight).sum(dim=1) / weight.sum(dim=1)
    else:
        per_sample = -lq[:, 0]
    with torch.no_grad():
        s = logits[:N].detach()
        rank = (s[:, 1:] > s[:, :1] + tie_tolerance(q.shape[1], tau, q.dtype)).sum(dim=1)
        target = lq.detach().exp()
    d3m = [-(target * log_p[N * v:N * (v + 1)]).sum(dim=1).mean() for v in range(1, V)]
    top1 = (rank < 1).to(per_sample.dtype).mean()
    top5 = (rank < 5).to(per_sample.dtype).mean()
    return QueueInfoNCEStats(per_sample.mean(), per_sample, top1, top5, rank), d3m
