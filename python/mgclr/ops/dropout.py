"""Dropout from the augmentations' counter RNG: the op ``mgclr::dropout`` (torch.library), :func:`dropout`
and the module :class:`Dropout` (an ``nn.Dropout``).

The same distribution as torch's dropout — each element kept with probability 1 - p and scaled by
1 / (1 - p), independently — drawn from Philox4x32-10 keyed by a seed instead of torch's CPU generator
(``csrc/core/dropout.h``: the element layout; one 64-bit seed drawn from torch's default generator per call,
so ``torch.manual_seed`` makes a run reproducible, as for the augmentations). Why: on the CPU torch's
``bernoulli_`` draws ~14 ns per element on one thread and the released ST-GCN's nine dropouts took half its
forward time (benchmarks/RESULTS.md, "Dropout"); here the mask is recomputed from the counter, ~1 ns per
element on AVX2, never stored, and the backward pass is the same op on the gradient.

Keep probability: 1 - round(p * 2^32) / 2^32, exactly 1 - p whenever p is a multiple of 2^-32 (0.5, 0.1 to
within 2^-33). Float32 and float64 run in the kernels (CPU, CUDA; the CUDA kernel is verified on the host
emulation only); float16 / bfloat16 inputs are computed in float32 and rounded back. A dropped NaN or inf
stays NaN (a multiply by 0), as in torch.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .. import _ext
from .._seeding import resolve_seed
from .._validation import check_number, check_tensor

__all__ = ["Dropout", "dropout", "dropout_drawn_op", "dropout_op", "dropout_threshold"]

_KERNEL_DTYPES = (torch.float32, torch.float64)
_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def dropout_threshold(p: float) -> int:
    """The kernels' keep threshold for p in (0, 1): an element is kept when its uint32 word is >= this."""
    return max(1, min(int(round(float(p) * 2.0**32)), 2**32 - 1))


def _run(x: torch.Tensor, p: float, seed: int, offset: int) -> torch.Tensor:
    # The op is reachable as torch.ops.mgclr.dropout too: checked here, where a wrong dtype would be read as
    # float32 by the kernel and p = 0 or 1 has no threshold (dropout() handles both before the op).
    check_tensor("x", x, dtypes=_KERNEL_DTYPES)
    check_number("p", p, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    x = x.contiguous()
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    args = (x.data_ptr(), out.data_ptr(), x.numel(), dropout_threshold(p), 1.0 / (1.0 - p), seed, offset,
            x.dtype == torch.float64)
    cuda = _ext.cuda_kernels_for(x)
    if cuda is not None:
        cuda.module.dropout_cuda(*args, cuda.stream, cuda.device)
    else:
        _ext.native().dropout_cpu(*args)
    return out


@torch.library.custom_op("mgclr::dropout", mutates_args=())
def dropout_op(x: torch.Tensor, p: float, seed: int, offset: int) -> torch.Tensor:
    """``x * (keep ? 1 / (1 - p) : 0)`` with keep from (seed, offset, element index); x float32 / float64,
    0 < p < 1. Its gradient is the same op on the gradient."""
    return _run(x, p, seed, offset)


@dropout_op.register_fake
def _(x, p, seed, offset):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _setup_context(ctx, inputs, output) -> None:
    _, ctx.p, ctx.seed, ctx.offset = inputs


def _backward(ctx, grad):
    return dropout_op(grad, ctx.p, ctx.seed, ctx.offset), None, None, None


dropout_op.register_autograd(_backward, setup_context=_setup_context)


@torch.library.custom_op("mgclr::dropout_drawn", mutates_args=())
def dropout_drawn_op(x: torch.Tensor, p: float, drawn: torch.Tensor) -> torch.Tensor:
    """:func:`dropout_op` keyed by ``drawn``, a CPU int64 tensor (2,) of (seed, offset) drawn inside the graph:
    the form :func:`dropout` takes under ``torch.compile``, where a seed read on the host would break the graph.
    Its gradient is the same op, with the same ``drawn``, on the gradient."""
    if drawn.shape != (2,) or drawn.dtype != torch.int64 or drawn.device.type != "cpu":
        raise ValueError(f"drawn: expected a CPU int64 tensor of shape (2,) (seed, offset), got {drawn.dtype} of "
                         f"shape {tuple(drawn.shape)} on {drawn.device}")
    seed, offset = _key(drawn)
    return _run(x, p, seed, offset)


def _key(drawn: torch.Tensor):
    return int(drawn[0]), int(drawn[1]) & 0xFFFFFFFF


@dropout_drawn_op.register_fake
def _(x, p, drawn):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _setup_drawn_context(ctx, inputs, output) -> None:
    _, ctx.p, drawn = inputs
    ctx.save_for_backward(drawn)


def _drawn_backward(ctx, grad):
    (drawn,) = ctx.saved_tensors
    return dropout_drawn_op(grad, ctx.p, drawn), None, None


dropout_drawn_op.register_autograd(_drawn_backward, setup_context=_setup_drawn_context)


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, *, seed: Optional[int] = None,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Dropout with the counter-RNG mask (module docstring): ``torch.nn.functional.dropout``'s distribution.

    Args:
        x: a float tensor, any shape, on the CPU or a CUDA device.
        p: probability of zeroing an element, in [0, 1].
        training: False (or p = 0) returns ``x`` itself, as torch does.
        seed: the Philox key (offset 0); without it one seed is drawn from ``generator`` (a CPU
            ``torch.Generator``) or torch's default CPU generator.
    """
    check_tensor("x", x, dtypes=_DTYPES)
    p = float(check_number("p", p, low=0.0, high=1.0))
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    kernel_x = x if x.dtype in _KERNEL_DTYPES else x.float()
    if seed is None and generator is None and torch.compiler.is_compiling():
        # Drawn inside the graph (a host read of it would break the graph at every dropout); the compiled RNG
        # is not eager's, so a compiled run draws other masks than an eager one, as with torch's dropout.
        out = dropout_drawn_op(kernel_x, p, torch.randint(0, 2**62, (2,), dtype=torch.int64, device="cpu"))
    else:
        out = dropout_op(kernel_x, p, *resolve_seed(seed, generator))
    return out if out.dtype == x.dtype else out.to(x.dtype)


class Dropout(nn.Dropout):
    """``nn.Dropout`` drawing its mask from mgclr's counter RNG (:func:`dropout`): same p, same
    distribution, a mask that is never stored, ~10x cheaper on the CPU. ``inplace`` is accepted for
    compatibility and ignored (the result is a new tensor)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)
