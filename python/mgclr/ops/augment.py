"""The fused augmentation op ``mgclr::augment`` (torch.library) and its launcher.

One registered op runs a whole program of augmentations (one or many ops, one or two views), so the
single-op functions of :mod:`mgclr.ops` and :class:`mgclr.augment.Pipeline` share it: validation and
allocation here, the maths in ``csrc/core/augment.h``. The op has a fake (meta) implementation, so it
traces under ``torch.compile(fullgraph=True)``, and passes ``torch.library.opcheck``. It is not
differentiable: augmentation is input preprocessing (use ``x.detach()``).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch

from .._ext import cuda_compiled, native

RECORD_WORDS = 32
INTS_PER_OP = 9
FLOATS_PER_OP = 9


def decode_joint_mask(words: torch.Tensor, num_joints: int) -> torch.Tensor:
    """Joint choices of a record: (N, 8) int32 bitmask words -> (N, num_joints) bool."""
    bits = torch.arange(32, device=words.device, dtype=torch.int64)
    expanded = (words.long().unsqueeze(-1) >> bits) & 1
    return expanded.reshape(words.shape[0], -1)[:, :num_joints].bool()


def _program_sizes(prog_i: List[int]) -> Tuple[int, int]:
    """(n_ops, t_out) from the integer program header."""
    return int(prog_i[0]), int(prog_i[3])


def _run(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out):
    """Launch the kernels writing into ``out``; returns (out_lengths, records)."""
    n_ops, t_out = _program_sizes(prog_i)
    N, C, T, V, M = x.shape
    out_lengths = torch.empty((n_views, N), dtype=torch.int64, device=x.device)
    replay = records is not None
    recs = records.clone() if replay else torch.zeros((n_views, N, n_ops, RECORD_WORDS), dtype=torch.int32,
                                                      device=x.device)
    if N == 0:
        return out_lengths, recs
    ext = native()
    lengths_ptr = lengths.data_ptr() if lengths is not None else 0
    args = (x.data_ptr(), lengths_ptr, [N, C, T, V, M], prog_i, prog_f, n_views, seed, offset, replay,
            recs.data_ptr(), out_lengths.data_ptr(), out.data_ptr())
    if x.device.type == "cuda":
        if not cuda_compiled():
            raise RuntimeError("x is a CUDA tensor but mgclr was built without its CUDA kernels: rebuild with "
                               "nvcc on PATH (pip install --no-build-isolation .), or move x to the CPU")
        blurs = any(prog_i[4 + j * INTS_PER_OP] == 48 for j in range(n_ops))
        scratch = torch.empty_like(out) if blurs else None
        with torch.cuda.device(x.device):
            stream = torch.cuda.current_stream(x.device).cuda_stream
            ext.augment_cuda(*args, scratch.data_ptr() if scratch is not None else 0, stream, x.device.index)
    elif x.device.type == "cpu":
        ext.augment_cpu(*args)
    else:
        raise ValueError(f"x: expected a CPU or CUDA tensor, got device {x.device}")
    return out_lengths, recs


def _output_shape(x: torch.Tensor, prog_i: List[int], n_views: int) -> Tuple[int, ...]:
    N, C, T, V, M = x.shape
    return (n_views, N, C, _program_sizes(prog_i)[1], V, M)


@torch.library.custom_op("mgclr::augment", mutates_args=())
def augment_op(x: torch.Tensor, lengths: Optional[torch.Tensor], prog_i: List[int], prog_f: List[float],
               n_views: int, seed: int, offset: int, records: Optional[torch.Tensor]
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Raw op: x (N, C, T, V, M) float32 contiguous -> (out (n_views, N, C, t_out, V, M),
    out_lengths (n_views, N) int64, records (n_views, N, n_ops, 32) int32). ``records`` given = replay."""
    out = torch.empty(_output_shape(x, prog_i, n_views), dtype=x.dtype, device=x.device)
    out_lengths, recs = _run(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out)
    return out, out_lengths, recs


@augment_op.register_fake
def _(x, lengths, prog_i, prog_f, n_views, seed, offset, records):
    n_ops = _program_sizes(prog_i)[0]
    N = x.shape[0]
    return (x.new_empty(_output_shape(x, prog_i, n_views)),
            x.new_empty((n_views, N), dtype=torch.int64),
            x.new_empty((n_views, N, n_ops, RECORD_WORDS), dtype=torch.int32))


@torch.library.custom_op("mgclr::augment_out", mutates_args=("out",))
def augment_out_op(x: torch.Tensor, lengths: Optional[torch.Tensor], prog_i: List[int], prog_f: List[float],
                   n_views: int, seed: int, offset: int, records: Optional[torch.Tensor], out: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Like ``augment`` but writes into a caller's ``out`` (n_views, N, C, t_out, V, M) float32 contiguous,
    so that a training loop can reuse one buffer. Returns (out_lengths, records)."""
    return _run(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out)


@augment_out_op.register_fake
def _(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out):
    n_ops = _program_sizes(prog_i)[0]
    N = x.shape[0]
    return (x.new_empty((n_views, N), dtype=torch.int64),
            x.new_empty((n_views, N, n_ops, RECORD_WORDS), dtype=torch.int32))
