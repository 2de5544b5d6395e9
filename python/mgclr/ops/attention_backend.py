"""PyTorch's attention kernels as the queue InfoNCE's ``(O, LSE)`` pass (``queue_infonce(impl="attention")``).

With queries ``q`` (N, D), keys = values = the queue (K, D) and ``scale = 1/τ``, one attention pass returns

* ``O  = softmax(q queueᵀ / τ) queue``  (N, D), the probability-weighted mean of the negatives, and
* ``LSE = logsumexp_j(q·queue_j / τ)``  (N,),

without ever holding the N × K logits (flash-style online softmax). That is the queue InfoNCE's forward and
its dq (see :mod:`mgclr.ops.infonce`). The entry points are private aten ops, because the public
``scaled_dot_product_attention`` does not return the log-sum-exp:

* CPU: ``torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, *, scale)`` → (O, LSE);
  torch >= 2.2 (float32, float64, bfloat16, float16; LSE in float32 for the half types).
* CUDA, float32 (and any half-type D): ``aten._scaled_dot_product_efficient_attention(q, k, v, None,
  compute_log_sumexp=True, *, scale)`` → (O, LSE padded to a multiple of 32 rows, ...), the
  memory-efficient (CUTLASS) kernel; torch >= 2.0.
* CUDA, bfloat16/float16 with D <= 256: ``aten._scaled_dot_product_flash_attention(q, k, v, *, scale)`` →
  (O, LSE, ...), FlashAttention-2 on tensor cores; torch >= 2.0.

Private ops can change between torch versions, so each (device, dtype, D) is **probed once** before first
use: the candidate runs on a small problem and must reproduce O and LSE of an explicit float64 computation
(float32: 1e-4 relative, half types: 3e-2). The first candidate that passes is used; when none does (op
absent, refused, or wrong), :func:`attention_kernel` returns ``None`` and the caller picks another
implementation (a clear, documented choice — never a crash and never a silently wrong number).
float64 on CUDA has no attention kernel (none of the CUDA backends takes it).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, Tuple

import torch

Kernel = Callable[[torch.Tensor, torch.Tensor, float], Tuple[torch.Tensor, torch.Tensor]]


def _pad_last(t: torch.Tensor, multiple: int) -> torch.Tensor:
    # Zero columns change no dot product and give zero output columns (sliced off by the caller).
    extra = (-t.shape[-1]) % multiple
    return t if extra == 0 else torch.nn.functional.pad(t, (0, extra))


def _cpu_flash(q: torch.Tensor, queue: torch.Tensor, scale: float):
    out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
        q[None, None], queue[None, None], queue[None, None], scale=scale)
    return out[0, 0], lse.reshape(-1)[: q.shape[0]]


def _cuda_efficient(q: torch.Tensor, queue: torch.Tensor, scale: float):
    D = q.shape[1]
    align = 4 if q.dtype == torch.float32 else 8  # the CUTLASS kernel's vector width on the last dim
    qp, kp = _pad_last(q, align)[None, None], _pad_last(queue, align)[None, None]
    res = torch.ops.aten._scaled_dot_product_efficient_attention(qp, kp, kp, None, True, scale=scale)
    return res[0][0, 0, :, :D], res[1].reshape(-1)[: q.shape[0]]


def _cuda_flash(q: torch.Tensor, queue: torch.Tensor, scale: float):
    D = q.shape[1]
    qp, kp = _pad_last(q, 8)[None, None], _pad_last(queue, 8)[None, None]
    res = torch.ops.aten._scaled_dot_product_flash_attention(qp, kp, kp, scale=scale)
    return res[0][0, 0, :, :D], res[1].reshape(-1)[: q.shape[0]]


def _candidates(device_type: str, dtype: torch.dtype, D: int):
    if device_type == "cpu":
        return [("aten._scaled_dot_product_flash_attention_for_cpu", _cpu_flash)]
    if device_type == "cuda" and dtype in (torch.bfloat16, torch.float16):
        names = [("aten._scaled_dot_product_flash_attention", _cuda_flash)] if D <= 256 else []
        return names + [("aten._scaled_dot_product_efficient_attention", _cuda_efficient)]
    if device_type == "cuda" and dtype == torch.float32:
        return [("aten._scaled_dot_product_efficient_attention", _cuda_efficient)]
    return []


def _reproduces_explicit(fn: Kernel, device: torch.device, dtype: torch.dtype, D: int) -> bool:
    g = torch.Generator().manual_seed(0)
    N, K, tau = 37, 70, 0.07  # N off every tile size; K off the key block
    q = torch.nn.functional.normalize(torch.randn(N, D, generator=g, dtype=torch.float64), dim=1)
    queue = torch.nn.functional.normalize(torch.randn(K, D, generator=g, dtype=torch.float64), dim=1)
    qd, queued = q.to(device=device, dtype=dtype), queue.to(device=device, dtype=dtype)
    try:
        out, lse = fn(qd, queued, 1.0 / tau)
    except (RuntimeError, NotImplementedError, AttributeError, TypeError):
        return False
    # What the kernel should have computed from the values it was given (rounded to its dtype).
    q64, queue64 = qd.double().cpu(), queued.double().cpu()
    logits = q64 @ queue64.t() / tau
    want_lse = torch.logsumexp(logits, dim=1)
    want_out = torch.softmax(logits, dim=1) @ queue64
    tol = 1e-4 if dtype in (torch.float32, torch.float64) else 3e-2
    if tuple(out.shape) != (N, D) or tuple(lse.shape) != (N,):
        return False
    return bool(torch.allclose(lse.double().cpu(), want_lse, rtol=tol, atol=tol)
                and torch.allclose(out.double().cpu(), want_out, rtol=tol, atol=tol))


@functools.cache
def _probe(device_type: str, device_index: Optional[int], dtype: torch.dtype, D: int):
    device = torch.device(device_type, device_index) if device_index is not None else torch.device(device_type)
    for name, fn in _candidates(device_type, dtype, D):
        if _reproduces_explicit(fn, device, dtype, D):
            return name, fn
    return None


def attention_kernel(device: torch.device, dtype: torch.dtype, D: int) -> Optional[Tuple[str, Kernel]]:
    """``(entry point name, fn)`` with ``fn(q (N, D), queue (K, D), scale) -> (O (N, D), LSE (N,))`` for
    this device, dtype and width, or ``None`` when this torch has no attention kernel that passes the probe.
    The probe runs once per (device, dtype, D) and is cached."""
    return _probe(device.type, device.index, dtype, int(D))


__all__ = ["attention_kernel"]
