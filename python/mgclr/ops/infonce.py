"""Queue InfoNCE (MoCo's contrastive loss against a queue of negatives) without the N×K logits.

``queue_infonce(q, k, queue, temperature)`` returns the mean over the batch of
``ℓ_i = logsumexp_j s_ij − s_i0`` with ``s_i0 = q_i·k_i/τ`` and ``s_ij = q_i·queue_j/τ``. Only ``q`` gets a
gradient (``k`` and ``queue`` are constants); ``∂ℓ_i/∂q_i = (Σ_j p_ij c_j − k_i)/τ``, c = [k_i; queue].

Implementations (``impl=``):

* ``"reference"``: eager torch (``mm`` + ``cat`` + ``cross_entropy``); memory O(N·K).
* ``"chunked"``: torch matmuls over chunks of ``chunk_size`` queue rows, folded by mgclr's online-logsumexp
  kernel; memory O(N·chunk_size).
* ``"fused"``: mgclr's kernel end to end: one online-softmax pass gives the loss, the rank of the positive
  and dq, which is stored for backward (backward only scales it by the incoming gradient); memory O(N·D).
  CPU: OpenMP, AVX-512 when the CPU has it. CUDA: tiles split over K with a fixed-order combine (same bits
  every run), fp32 accumulation, double-buffered queue tiles (cp.async); ``tf32=True`` computes both
  products (logits and the probability-weighted accumulate) on TF32 tensor cores. Verified in the CUDA
  emulation (csrc/emu); never run on a GPU yet.
* ``"attention"``: PyTorch's attention kernels (:mod:`mgclr.ops.attention_backend`). The forward and dq
  are one attention pass over the queue: with ``(O, LSE_Q)`` the output and log-sum-exp of queries ``q``
  (scale 1/τ) over keys = values = the queue, and ``d = LSE_Q − l0``, ``ℓ = softplus(d)`` and
  ``dq = sigmoid(d)·(O − k)/τ`` (``sigmoid(d)`` is the queue's share of the softmax, 1 − p0, without the
  cancellation of ``p0 − 1``). Memory O(N·D); no N × K tensor. The rank of the positive (for
  ``return_stats``) is one more pass of chunked logits, run only when stats are asked for. CPU: the flash
  kernel (float32 / float64; half types in float32 like every impl). CUDA: FlashAttention-2 for
  bfloat16/float16 (kept in their dtype: tensor cores, fp32 LSE; the loss in fp32), the memory-efficient
  kernel for float32; no float64. Each entry point is a private aten op, checked once per (device, dtype,
  D) against an explicit computation; where none passes (or this torch lacks it) the call warns once and
  computes by ``"chunked"``.
* ``"auto"`` (default): by measured crossovers (benchmarks/RESULTS.md, "Queue InfoNCE"; the thresholds live in
  ``mgclr/ops/auto_policy.json``, :mod:`mgclr.ops.auto_policy`). CUDA:
  ``"attention"`` (no mgclr CUDA kernel has run on a GPU yet; PyTorch's are run daily by millions), for
  float64 ``"fused"`` where its shared memory fits the device (:func:`cuda_fused_fits`), else
  ``"chunked"``. CPU: ``"attention"`` from N·K = ``CPU_ATTENTION_MIN_NK_LOSS`` (loss alone; 64 x 1024 as
  measured) / ``CPU_ATTENTION_MIN_NK_STATS`` (with ``return_stats``; 128 x 4096), below that ``"fused"``
  where it has its AVX-512 path, else ``"chunked"``.
  ``"reference"`` without the extension (CPU: ``"attention"`` when torch has it).

Because chunked, fused and attention compute dq in the forward, an in-place ``enqueue`` after the forward does not
change the backward; the reference snapshots the queue for the same reason.

Dtypes: float32 and float64 run in their own precision (float64 makes ``gradcheck`` meaningful);
bfloat16/float16 inputs are upcast to float32 (fp32 accumulation), the loss is returned in float32 and the
gradient reaches ``q`` in its own dtype through the cast (``"attention"`` on CUDA: see above).

One rule for every implementation and dtype:

* **NaN in, NaN out.** A NaN in ``q_i`` or ``k_i`` makes row i's loss and gradient NaN; a NaN in any
  queue row makes every row's. The mean loss is then NaN: a diverging key encoder is never hidden behind
  a finite loss. ``check_finite=True`` raises instead, naming the tensor.
* **Ties count for the positive.** The implementations compute logits in different orders, so logits equal
  in exact arithmetic may differ by rounding. A negative outranks the positive only when its logit is
  above by more than :func:`tie_tolerance` (the worst rounding of two D-term dot products of unit vectors),
  so every implementation reports the same rank wherever the difference is not within rounding.
* **First-order gradients.** ``chunked``, ``fused`` and ``attention`` store dq in the forward and have no second
  derivative: a backward with ``create_graph=True`` through them raises (use ``impl="reference"``).
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import NamedTuple, Optional, Tuple, Union

import torch

from .. import _ext
from .._validation import FLOAT32_MAX, check_finite_tensor, check_number, check_same_device, check_tensor
from .auto_policy import threshold
from .enqueue import enqueue_, queue_enqueue_  # noqa: F401 - re-exported: the enqueue was defined here before
from .reference import queue_infonce_reference

IMPLS = ("auto", "reference", "chunked", "fused", "attention")
_SUPPORTED = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


class QueueInfoNCEStats(NamedTuple):
    """What ``queue_infonce(..., return_stats=True)`` returns; every field is a tensor (no host sync).

    loss: ``()`` mean over the batch (differentiable w.r.t. q). per_sample: ``(N,)`` ℓ_i (differentiable).
    top1, top5: ``()`` fraction of rows whose positive ranks first / in the first five among the K+1
    logits (ties count for the positive). rank: ``(N,)`` int64 number of negatives scoring strictly above
    the positive.
    """

    loss: torch.Tensor
    per_sample: torch.Tensor
    top1: torch.Tensor
    top5: torch.Tensor
    rank: torch.Tensor


# ------------------------------------------------------------------------------------- kernels ----


def _cuda_kernels(t: torch.Tensor, impl: str) -> Optional[_ext.CudaKernels]:
    """The CUDA kernels for t (real for a CUDA tensor, emulated inside mgclr._ext.emulated_cuda()), or None."""
    try:
        return _ext.cuda_kernels_for(t)
    except RuntimeError as exc:
        raise RuntimeError(f"queue_infonce(impl={impl!r}): {exc}; or use impl='reference'") from None


# The shortest queue slice a split gets (a Python choice of the launch policy, not a kernel limit).
MIN_SPLIT_ROWS = 256


def _cuda_splits(N: int, K: int, sms: int) -> int:
    # Enough (row block, K slice) pairs to fill the GPU twice, slices of at least MIN_SPLIT_ROWS queue rows; a
    # function of the shapes and the device only, so a given problem always combines the same partials in the
    # same order.
    launch = cuda_fused_launch()
    row_blocks = -(-N // launch["block_rows"])
    return int(max(1, min(launch["max_splits"], -(-K // MIN_SPLIT_ROWS), -(-2 * sms // row_blocks))))


def tie_tolerance(D: int, temperature: float, dtype: torch.dtype, tf32: bool = False) -> float:
    """How far above the positive's logit a negative's must be to outrank it: ``2 (D + 2) u / tau``, twice
    the worst rounding error of a D-term dot product of unit vectors scaled by 1/tau, with u the unit
    roundoff of the arithmetic (float32: 2^-24, float64: 2^-53). With ``tf32`` the negatives' inputs are
    rounded to TF32 (u = 2^-11) before an fp32 accumulation: ``2 (2 * 2^-11 + D * 2^-24) / tau``."""
    if dtype == torch.float64:
        return 2.0 * (D + 2) * 2.0**-53 / temperature
    if tf32:
        return 2.0 * (2 * 2.0**-11 + D * 2.0**-24) / temperature
    return 2.0 * (D + 2) * 2.0**-24 / temperature


def _fused_forward(q, k, queue, temperature: float, tf32: bool):
    q, k, queue = q.contiguous(), k.contiguous(), queue.contiguous()
    N, D = q.shape
    K = queue.shape[0]
    dbl = q.dtype == torch.float64
    cuda = _cuda_kernels(q, "fused")
    tie = tie_tolerance(D, temperature, q.dtype, bool(tf32) and cuda is not None and not dbl)
    loss = q.new_empty((N,))
    lse = q.new_empty((N,))
    rank = torch.empty((N,), dtype=torch.int64, device=q.device)
    dq = q.new_empty((N, D))
    if cuda is not None:
        S = _cuda_splits(N, K, _ext.cuda_sm_count(cuda, q.device))
        ws_m = q.new_empty((S, N))
        ws_l = q.new_empty((S, N))
        ws_acc = q.new_empty((S, N, D))
        ws_cnt = torch.empty((S, N), dtype=torch.int64, device=q.device)
        C, stream, dev = cuda.module, cuda.stream, cuda.device  # the launcher holds a device guard for the call
        C.infonce_fused_cuda(q.data_ptr(), k.data_ptr(), queue.data_ptr(), N, K, D, float(temperature), tie,
                             loss.data_ptr(), lse.data_ptr(), rank.data_ptr(), dq.data_ptr(), ws_m.data_ptr(),
                             ws_l.data_ptr(), ws_acc.data_ptr(), ws_cnt.data_ptr(), S, dbl, bool(tf32), stream, dev)
    else:
        _ext.native().infonce_fused_cpu(q.data_ptr(), k.data_ptr(), queue.data_ptr(), N, K, D, float(temperature),
                                        tie, loss.data_ptr(), lse.data_ptr(), rank.data_ptr(), dq.data_ptr(), dbl)
    return loss, rank, dq


def _chunked_forward(q, k, queue, temperature: float, chunk_size: int):
    q, k, queue = q.contiguous(), k.contiguous(), queue.contiguous()
    N, D = q.shape
    K = queue.shape[0]
    dbl = q.dtype == torch.float64
    tie = tie_tolerance(D, temperature, q.dtype)
    cuda = _cuda_kernels(q, "chunked")
    C = cuda.module if cuda is not None else _ext.native()
    if cuda is not None:
        stream, dev = cuda.stream, cuda.device

        def update(s, n_cols, s0, m, l, rank, scale):
            C.infonce_online_update_cuda(s.data_ptr(), N, n_cols, n_cols, s0.data_ptr(), m.data_ptr(), l.data_ptr(),
                                         rank.data_ptr(), scale.data_ptr(), tie, dbl, stream, dev)
    else:

        def update(s, n_cols, s0, m, l, rank, scale):
            C.infonce_online_update_cpu(s.data_ptr(), N, n_cols, n_cols, s0.data_ptr(), m.data_ptr(),
                                        l.data_ptr(), rank.data_ptr(), scale.data_ptr(), tie, dbl)

    inv_tau = 1.0 / temperature
    qs = q * inv_tau
    s0 = (qs * k).sum(dim=1)
    m = s0.clone()
    l = torch.ones_like(s0)
    rank = torch.zeros((N,), dtype=torch.int64, device=q.device)
    scale = torch.empty_like(s0)
    acc = k.clone()  # the positive's term exp(s0 - m) * k with m = s0
    chunk = min(chunk_size, K)
    buf = q.new_empty((N * chunk,))
    for c0 in range(0, K, chunk):
        part = queue[c0:c0 + chunk]
        n_cols = part.shape[0]
        s = buf[: N * n_cols].view(N, n_cols)
        torch.mm(qs, part.t(), out=s)
        update(s, n_cols, s0, m, l, rank, scale)
        acc.mul_(scale.unsqueeze(1)).addmm_(s, part)
    loss = m + torch.log(l) - s0
    dq = (acc / l.unsqueeze(1) - k) * inv_tau
    return loss, rank, dq


def _count_above(qs: torch.Tensor, queue: torch.Tensor, threshold: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """rank_i = #{j : qs_i·queue_j > threshold_i}, over chunks of queue rows (memory O(N·chunk_size)); the
    logits are the same fp32/fp64 matmul the chunked path folds, so the ranks agree with it. The comparison
    is written in place as 1.0 / 0.0 and summed in the float dtype (4x faster than summing a bool tensor,
    which torch widens to int64): exact while a chunk has at most 2^24 columns."""
    N = qs.shape[0]
    rank = torch.zeros((N,), dtype=torch.int64, device=qs.device)
    chunk = min(chunk_size, queue.shape[0], 1 << 24)
    buf = qs.new_empty((N * chunk,))
    thr = threshold.unsqueeze(1)
    for c0 in range(0, queue.shape[0], chunk):
        part = queue[c0:c0 + chunk]
        s = buf[: N * part.shape[0]].view(N, part.shape[0])
        torch.mm(qs, part.t(), out=s)
        rank += s.gt_(thr).sum(dim=1).to(torch.int64)
    return rank


_warned_no_attention = set()


def _attention_forward(q, k, queue, temperature: float, with_rank: bool, chunk_size: int):
    """Loss and dq from one attention pass over the queue (module docstring, "attention"); the rank only
    when asked (one more pass of logits). Falls back to the chunked path, with one warning per (device,
    dtype, D), where this torch has no attention kernel that passes the probe."""
    from .attention_backend import attention_kernel

    N, D = q.shape
    # CUDA half types stay in their dtype (tensor cores; fp32 accumulation and LSE); CPU computes them in
    # float32 like every other impl (no speed to gain without AMX).
    compute = q.dtype if (q.is_cuda and q.dtype in (torch.bfloat16, torch.float16)) else (
        torch.float64 if q.dtype == torch.float64 else torch.float32)
    found = attention_kernel(q.device, compute, D)
    q32 = q.float() if q.dtype in (torch.bfloat16, torch.float16) else q
    k32 = k.float() if k.dtype in (torch.bfloat16, torch.float16) else k
    queue32 = queue.float() if queue.dtype in (torch.bfloat16, torch.float16) else queue
    if found is None:
        key = (str(q.device), compute, D)
        if key not in _warned_no_attention:
            _warned_no_attention.add(key)
            warnings.warn(f"queue_infonce(impl='attention'): this torch ({torch.__version__}) has no attention kernel "
                          f"with log-sum-exp that passes mgclr's check for {compute} on {q.device.type} at D={D}; "
                          "using impl='chunked' instead", RuntimeWarning, stacklevel=3)
        loss, rank, dq = _chunked_forward(q32, k32, queue32, temperature, chunk_size)
        return loss, rank, dq.to(q.dtype)
    _, kernel = found
    q32, k32, queue32 = q32.contiguous(), k32.contiguous(), queue32.contiguous()
    inv_tau = 1.0 / temperature
    out, lse_queue = kernel(q.to(compute).contiguous(), queue.to(compute).contiguous(), inv_tau)
    l0 = (q32 * k32).sum(dim=1) * inv_tau          # the positive's logit, always in fp32/fp64
    d = lse_queue.to(l0.dtype) - l0               # log(sum over the queue / exp(l0))
    loss = torch.nn.functional.softplus(d, threshold=20.0)   # L - l0 = log(1 + e^d)
    w = torch.sigmoid(d)                          # the queue's share of the softmax, 1 - p0, without cancelling
    dq = (out.to(l0.dtype) - k32) * (w * inv_tau).unsqueeze(1)
    if with_rank:
        # The chunked path's logits and positive (qs = q / tau first), so the ranks agree with it.
        qs = q32 * inv_tau
        rank = _count_above(qs, queue32, (qs * k32).sum(dim=1) + tie_tolerance(D, temperature, q32.dtype), chunk_size)
    else:
        rank = torch.full((N,), -1, dtype=torch.int64, device=q.device)  # never read (queue_infonce)
    return loss, rank, dq.to(q.dtype)


# ------------------------------------------------------------------------- torch.library ops ----


@torch.library.custom_op("mgclr::queue_infonce_fused", mutates_args=())
def _fused_op(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float,
              tf32: bool) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(per_sample_loss (N,), rank (N,) int64, dq (N, D)) by the fused kernel."""
    return _fused_forward(q, k, queue, temperature, tf32)


@torch.library.custom_op("mgclr::queue_infonce_chunked", mutates_args=())
def _chunked_op(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float,
                chunk_size: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(per_sample_loss (N,), rank (N,) int64, dq (N, D)) by chunked matmuls + the online-lse kernel."""
    return _chunked_forward(q, k, queue, temperature, chunk_size)


def _fake(q, k, queue, temperature, extra):
    N, D = q.shape
    return q.new_empty((N,)), q.new_empty((N,), dtype=torch.int64), q.new_empty((N, D))


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(output[2])


def _backward(ctx, grad_loss, grad_rank, grad_dq):
    # dq was computed in the forward; the other outputs are internal (rank is an integer, dq is only
    # ever consumed here), so only the loss gradient flows.
    if torch.is_grad_enabled():  # backward(create_graph=True): a derivative of this gradient is wanted
        raise RuntimeError(
            "queue_infonce: impl='fused', 'chunked' and 'attention' compute the gradient in the forward and have no "
            "second derivative, so a backward with create_graph=True through them would differentiate the rest of the "
            "graph only; use impl='reference' for second-order gradients")
    (dq,) = ctx.saved_tensors
    return grad_loss.unsqueeze(1) * dq, None, None, None, None


@torch.library.custom_op("mgclr::queue_infonce_attention", mutates_args=())
def _attention_op(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float, with_rank: bool,
                  chunk_size: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(per_sample_loss (N,), rank (N,) int64 — -1 unless with_rank, dq (N, D)) from PyTorch's attention
    kernels (mgclr.ops.attention_backend)."""
    return _attention_forward(q, k, queue, temperature, with_rank, chunk_size)


def _fake_attention(q, k, queue, temperature, with_rank, chunk_size):
    N, D = q.shape
    loss_dtype = torch.float32 if q.dtype in (torch.bfloat16, torch.float16) else q.dtype
    return q.new_empty((N,), dtype=loss_dtype), q.new_empty((N,), dtype=torch.int64), q.new_empty((N, D))


_attention_op.register_fake(_fake_attention)
_attention_op.register_autograd(lambda ctx, gl, gr, gd: _backward(ctx, gl, gr, gd) + (None,),
                                setup_context=_setup_context)

for _op in (_fused_op, _chunked_op):
    _op.register_fake(_fake)
    _op.register_autograd(_backward, setup_context=_setup_context)


# ------------------------------------------------------------------------------ public entry ----


@functools.cache
def cuda_fused_launch() -> dict:
    """The CUDA fused kernel's launch geometry and limits as the extension defines them
    (``csrc/core/infonce_launch.h``, exported as ``mgclr._C.infonce_launch()``; a CPU-only build has them
    too): ``block_rows``, ``tile_rows``, ``tile_buffers``, ``threads``, ``max_splits``, ``tf32_column_tile``,
    ``tf32_ld_pad``, ``scalar_ld_pad``, ``shared_bytes_without_optin`` and ``row_state_bytes`` (the kernel's
    static shared memory, per ``"float32"`` / ``"float64"``)."""
    raw = _ext.native().infonce_launch()
    out = {str(key): int(value) for key, value in raw.items() if key != "row_state_bytes"}
    out["row_state_bytes"] = {str(key): int(value) for key, value in raw["row_state_bytes"].items()}
    return out


def cuda_fused_shared_bytes(D: int, dtype: torch.dtype, tf32: bool = False) -> int:
    """Shared memory per block the CUDA fused kernel needs at width D, from the launch geometry the
    extension exports (:func:`cuda_fused_launch`): the dynamic tiles (``block_rows`` query rows,
    ``tile_buffers`` queue tiles of ``tile_rows`` rows — double-buffered —, ``block_rows`` accumulator rows,
    each of ``ld`` values, plus the ``block_rows`` × ``tile_rows`` logit tile) and the static per-row state
    (``row_state_bytes``). The launcher computes the same (``infonce::fused_shared_bytes``, exported as
    ``mgclr._C.infonce_fused_shared_bytes``; tests compare the two)."""
    g = cuda_fused_launch()
    size, kind = (8, "float64") if dtype == torch.float64 else (4, "float32")
    use_tf32 = bool(tf32) and dtype != torch.float64
    if use_tf32:
        ld = -(-D // g["tf32_column_tile"]) * g["tf32_column_tile"] + g["tf32_ld_pad"]
    else:
        ld = D + g["scalar_ld_pad"]
    rows = 2 * g["block_rows"] + g["tile_buffers"] * g["tile_rows"]
    return size * (rows * ld + g["block_rows"] * g["tile_rows"]) + g["row_state_bytes"][kind]


def cuda_fused_fits(D: int, dtype: torch.dtype, tf32: bool, shared_optin_bytes: int) -> bool:
    """Whether the CUDA fused kernel can launch at width D on a device allowing ``shared_optin_bytes`` of
    shared memory per block (sm_80: 166912, sm_90: 232448): float64 stops at D = 210 on an A100."""
    return cuda_fused_shared_bytes(D, dtype, tf32) <= shared_optin_bytes


def _cuda_shared_optin(device: torch.device) -> int:
    props = torch.cuda.get_device_properties(device)
    return int(getattr(props, "shared_memory_per_block_optin", cuda_fused_launch()["shared_bytes_without_optin"]))


def _attention_available(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether this torch has the attention entry point for this device and dtype (the op's numbers are
    checked once at first use, inside the op; see mgclr.ops.attention_backend)."""
    if device.type == "cpu":
        return hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu")
    if device.type == "cuda":
        return dtype != torch.float64 and hasattr(torch.ops.aten, "_scaled_dot_product_efficient_attention")
    return False


# CPU crossovers in N·K: the attention pass beats mgclr's kernels from CPU_ATTENTION_MIN_NK_LOSS for the
# loss alone and from CPU_ATTENTION_MIN_NK_STATS when the rank is wanted too (return_stats: one more pass of
# logits); below, the per-call overhead of the extra torch ops loses to mgclr's single kernel call. The
# values, the machine that measured them and the command that measures them again
# (benchmarks/bench_infonce.py --small --compare-policy): auto_policy.json.
CPU_ATTENTION_MIN_NK_LOSS = threshold("infonce_cpu_attention_min_nk_loss")
CPU_ATTENTION_MIN_NK_STATS = threshold("infonce_cpu_attention_min_nk_stats")


def _resolve_impl(impl: str, device: torch.device, N: int = 1, K: int = 1, D: int = 0,
                  dtype: torch.dtype = torch.float32, with_stats: bool = True, tf32: bool = False) -> str:
    if impl != "auto":
        return impl
    if device.type not in ("cpu", "cuda"):
        return "reference"
    if device.type == "cuda":
        # No mgclr CUDA kernel has run on a GPU yet: PyTorch's attention kernels (run by millions daily)
        # until a GPU measurement says otherwise; float64 has none, so mgclr's kernels where they launch.
        if _attention_available(device, dtype):
            return "attention"
        if _ext._C is None or not _ext.cuda_compiled() or _ext.cuda_device_coverage(device.index).kind == "none":
            return "reference"
        return "fused" if cuda_fused_fits(D, dtype, tf32, _cuda_shared_optin(device)) else "chunked"
    return _resolve_cpu(N * K, with_stats)


def _resolve_cpu(nk: int, with_stats: bool) -> str:
    attention = _attention_available(torch.device("cpu"), torch.float32)
    if _ext._C is None:
        return "attention" if attention else "reference"
    if attention and nk >= (CPU_ATTENTION_MIN_NK_STATS if with_stats else CPU_ATTENTION_MIN_NK_LOSS):
        return "attention"
    # The portable fused loop (no AVX-512F: a libm exp per logit) loses to the matmul chunks.
    return "fused" if _fused_cpu_is_fast() else "chunked"


@functools.cache
def _fused_cpu_is_fast() -> bool:
    return bool(_ext.native().infonce_fused_cpu_fast())


def _check_temperature_precision(temperature: float, dtype: torch.dtype) -> None:
    """The kernels use 1 / tau in the compute dtype (float64 for float64 inputs, else float32). Plain Python
    arithmetic, so that it traces under torch.compile."""
    name, largest = ("float64", sys.float_info.max) if dtype == torch.float64 else ("float32", FLOAT32_MAX)
    if temperature * largest < 1.0:  # 1 / temperature > largest, without overflowing on the way
        raise ValueError(f"temperature: 1/temperature overflows {name}, the precision the loss is computed in; "
                         f"expected temperature >= {1.0 / largest:.3g}, got {temperature!r}")


def _validate(q, k, queue, temperature, impl, check_finite, chunk_size):
    check_tensor("q", q, ndim=2, dtypes=_SUPPORTED, shape_hint="(N, D)")
    check_tensor("k", k, ndim=2, dtypes=_SUPPORTED, shape_hint="(N, D)")
    check_tensor("queue", queue, ndim=2, dtypes=_SUPPORTED, shape_hint="(K, D)")
    N, D = q.shape
    if N < 1 or D < 1:
        raise ValueError(f"q: expected shape (N, D) with N >= 1 and D >= 1, got {tuple(q.shape)}")
    if tuple(k.shape) != (N, D):
        raise ValueError(f"k: expected shape (N, D) = {(N, D)} like q, got {tuple(k.shape)}")
    if queue.shape[1] != D:
        raise ValueError(f"queue: expected shape (K, D) with D = {D} like q, got {tuple(queue.shape)}")
    if queue.shape[0] < 1:
        raise ValueError(f"queue: expected K >= 1 rows, got shape {tuple(queue.shape)}")
    check_number("temperature", temperature, low=0.0, low_inclusive=False)
    _check_temperature_precision(temperature, q.dtype)
    check_same_device(q=q, k=k, queue=queue)
    for name, t in (("k", k), ("queue", queue)):
        if t.dtype != q.dtype:
            raise TypeError(f"{name}: expected dtype {str(q.dtype).replace('torch.', '')} (the dtype of q), "
                            f"got {str(t.dtype).replace('torch.', '')}")
    if impl not in IMPLS:
        raise ValueError(f"impl: expected one of {IMPLS}, got {impl!r}")
    check_number("chunk_size", chunk_size, low=1, integer=True)
    if check_finite:
        check_finite_tensor("q", q)
        check_finite_tensor("k", k)
        check_finite_tensor("queue", queue)


def _per_sample(q, k, queue, temperature: float, impl: str, with_rank: bool, chunk_size: int, tf32: bool):
    """The plain per-sample loss by ``impl`` (resolved here): returns the inputs as computed (half types
    upcast except for CUDA attention), per_sample (N,), rank (N,) and dq (N, D), the gradient of
    per_sample_i w.r.t. q_i (None from the reference, whose gradient flows through autograd)."""
    impl = _resolve_impl(impl, q.device, q.shape[0], queue.shape[0], q.shape[1], q.dtype, with_rank, tf32)
    k = k.detach()
    queue = queue.detach()
    if q.dtype in (torch.bfloat16, torch.float16) and not (impl == "attention" and q.is_cuda):
        q, k, queue = q.float(), k.float(), queue.float()
    if impl == "reference":
        per_sample, rank = queue_infonce_reference(q, k, queue, temperature,
                                                   tie_tolerance=tie_tolerance(q.shape[1], temperature, q.dtype))
        return q, k, queue, per_sample, rank, None
    if impl == "fused":
        per_sample, rank, dq = _fused_op(q, k, queue, temperature, tf32)
    elif impl == "attention":
        per_sample, rank, dq = _attention_op(q, k, queue, temperature, with_rank, chunk_size)
    else:
        per_sample, rank, dq = _chunked_op(q, k, queue, temperature, chunk_size)
    return q, k, queue, per_sample, rank, dq


def _check_positives(positives, N: int, K: int, device: torch.device) -> torch.Tensor:
    if not isinstance(positives, torch.Tensor):
        raise TypeError(f"positives: expected an (N, t) int64 tensor of queue indices, got {type(positives).__name__}")
    if positives.dtype != torch.int64 or positives.dim() != 2 or positives.shape[0] != N:
        raise ValueError(f"positives: expected an int64 tensor of shape (N, t) = ({N}, t), got "
                         f"{str(positives.dtype).replace('torch.', '')} of shape {tuple(positives.shape)}")
    if positives.device != device:
        raise ValueError(f"positives: expected a tensor on {device} (the device of q), got {positives.device}")
    if positives.numel() and not torch.compiler.is_compiling():
        low, high = int(positives.min()), int(positives.max())  # one sync: a bad index is never gathered
        if low < 0 or high >= K:
            raise ValueError(f"positives: expected queue indices in [0, K) = [0, {K}), got values in "
                             f"[{low}, {high}]")
    return positives


def _extra_positives_term(q, k, queue, positives, temperature: float) -> torch.Tensor:
    """What turns the plain ℓ_i = L_i − s_i0 into ℓ_i = L_i − mean of the logits over {k⁺} ∪ set(P_i):
    s_i0 − (s_i0 + Σ_u s_iu) / (1 + u_i) over the distinct indices u of row i (a repeated index counts
    once, as in AimCLR's mask). Differentiable in q by autograd; memory O(N·t·D), never N × K."""
    if positives.shape[1] == 0:
        return q.new_zeros(q.shape[0])
    ordered, _ = torch.sort(positives, dim=1)
    distinct = torch.ones_like(ordered, dtype=torch.bool)
    distinct[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    keys = queue.detach()[ordered]                                   # (N, t, D)
    s_pos = torch.einsum("nd,ntd->nt", q, keys) / temperature
    s0 = (q * k.detach()).sum(dim=1) / temperature
    weight = distinct.to(s_pos.dtype)
    mean_pos = (s0 + (s_pos * weight).sum(dim=1)) / (1.0 + weight.sum(dim=1))
    return s0 - mean_pos


def queue_infonce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float,
                  impl: str = "auto", *, positives: Optional[torch.Tensor] = None, return_stats: bool = False,
                  check_finite: bool = False, chunk_size: int = 4096,
                  tf32: bool = False) -> Union[torch.Tensor, QueueInfoNCEStats]:
    """MoCo InfoNCE of queries ``q`` against their keys ``k`` and the negatives in ``queue``.

    Args:
        q: ``(N, D)`` L2-normalised queries; the only argument that receives a gradient.
        k: ``(N, D)`` L2-normalised positive keys (detached).
        queue: ``(K, D)`` negatives, K >= 1, row-major (detached; snapshot taken at call time).
        temperature: τ > 0, a Python number.
        impl: ``"auto"``, ``"reference"``, ``"chunked"``, ``"fused"`` or ``"attention"`` (see the module
            docstring).
        positives: optional ``(N, t)`` int64 queue indices that also count as positives of their row
            (AimCLR's nearest-neighbour mining, e.g. from :func:`mgclr.ops.queue_topk`): ℓ_i = L_i − the
            mean logit over {k⁺} ∪ the distinct indices of row i (a repeated index counts once). Computed
            on top of any impl from the t gathered keys (no N × K tensor); the stats' rank stays the
            rank of k⁺. Indices outside [0, K) are an error (one host sync to check).
        return_stats: return a :class:`QueueInfoNCEStats` (loss, per-sample loss, top-1/top-5 accuracy of
            the positive, rank) instead of the scalar loss.
        check_finite: also reject NaN/inf inputs (one device-to-host sync per tensor).
        chunk_size: queue rows per matmul for ``impl="chunked"`` (and the rank pass of ``"attention"``).
        tf32: CUDA fused with float32 data only (ignored otherwise): logits on TF32 tensor cores
            (fp32 accumulation; the positive stays an fp32 dot; ties are judged at TF32's rounding).

    Returns:
        the scalar mean loss, or :class:`QueueInfoNCEStats` when ``return_stats``.

    Raises:
        TypeError / ValueError naming the argument on a bad shape, dtype, device or temperature.
    """
    _validate(q, k, queue, temperature, impl, check_finite, chunk_size)
    if positives is not None:
        positives = _check_positives(positives, q.shape[0], queue.shape[0], q.device)
    q, k, queue, per_sample, rank, _ = _per_sample(q, k, queue, float(temperature), impl, bool(return_stats),
                                                   int(chunk_size), bool(tf32))
    if positives is not None:
        per_sample = per_sample + _extra_positives_term(q, k, queue, positives, float(temperature))
    loss = per_sample.mean()
    if not return_stats:
        return loss
    top1 = (rank < 1).to(per_sample.dtype).mean()
    top5 = (rank < 5).to(per_sample.dtype).mean()
    return QueueInfoNCEStats(loss, per_sample, top1, top5, rank)
