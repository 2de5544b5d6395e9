"""The fused augmentation op ``mgclr::augment`` (torch.library), and what every caller of it shares.

* :class:`AugmentProgram`: ops in execution order (with their one-of groups), checked against the limits of
  the ABI and encoded into the two flat lists the kernels read (``csrc/core/augment_program.h``);
* :func:`run_program`: one call of a program on a batch: input checks, the Philox seed, replay of recorded
  parameters, float32 compute for other dtypes, an ``out=`` buffer, the NVTX range;
* :class:`AugmentParams`: the sampled parameter records of a call, decoded by name, replayable;
* the registered ops ``mgclr::augment`` and ``mgclr::augment_out`` with fake implementations, so a call
  traces under ``torch.compile(fullgraph=True)`` and passes ``torch.library.opcheck``.

A single transform (``mgclr.ops.<op_name>``, ``Transform()(x)``) and :class:`mgclr.augment.Pipeline` run
through the same :func:`run_program`. The ops are not differentiable: augmentation is input preprocessing.
Transforms are duck-typed here (``op_name``, ``p``, ``same_on_batch``, ``encode``, ``output_frames``,
``permutation``); their classes live in :mod:`mgclr.ops.transforms`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from .._ext import cuda_kernels_for, native
from .._seeding import MAX_OFFSET, MAX_SEED, resolve_seed
from .._validation import check_finite_tensor, check_number, check_same_device, check_tensor
from ..profiling import range as nvtx_range
from .augment_abi import abi, op_abi

# ----------------------------------------------------------------------------------------- programs ----


# (code, int arguments, float arguments, flip permutation or None): see AugmentProgram.signature
OpSignature = Tuple[int, Tuple[int, ...], Tuple[float, ...], Optional[Tuple[int, ...]]]


@dataclass(frozen=True)
class ProgramEntry:
    """One op of a program; ``group >= 0`` makes it member ``member`` of a one-of group of ``group_size``."""

    transform: Any
    group: int = -1
    group_size: int = 0
    member: int = 0


class AugmentProgram:
    """Ops in execution order, encoded per input size ``(V, T)`` (cached: transforms are treated as
    immutable once in a program). The order must be canonical (stages temporal, spatial, pointwise,
    filter); :class:`mgclr.augment.Pipeline` sorts its transforms into it."""

    def __init__(self, entries: Sequence[ProgramEntry], coord_channels: int = 3, *, owner: str = "Pipeline") -> None:
        self.entries = tuple(entries)
        self.coord_channels = int(check_number("coord_channels", coord_channels, low=2, high=3, integer=True))
        limits = abi().limits
        ops = [e.transform for e in self.entries]
        if len(ops) > limits.max_ops:
            raise ValueError(f"{owner}: transforms: at most {limits.max_ops} ops, got {len(ops)}")
        stages = [op_abi(t.op_name).stage for t in ops]
        if stages != sorted(stages):
            raise ValueError(f"{owner}: transforms: ops must run in canonical stage order (temporal, spatial, "
                             f"pointwise, filter), got {', '.join(t.op_name for t in ops)}")
        resampling = [t.op_name for t in ops if op_abi(t.op_name).resamples]
        if len(resampling) > limits.max_resampling_ops:
            raise ValueError(f"{owner}: transforms: at most {limits.max_resampling_ops} resampling ops (crop_resize, "
                             f"repeat_clip, drop_frames) per pipeline, got {', '.join(resampling)}")
        if sum(op_abi(t.op_name).stage_name == "filter" for t in ops) > 1:
            raise ValueError(f"{owner}: transforms: at most one gaussian_blur per pipeline")
        flips = {t.layout.name for t in ops if t.op_name == "flip"}
        if len(flips) > 1:
            raise ValueError(f"{owner}: transforms: all flips must use one layout, got {sorted(flips)}")
        self._encoded: Dict[Tuple[int, int], Tuple[List[int], List[float]]] = {}
        self._signatures: Dict[int, Tuple[OpSignature, ...]] = {}

    @classmethod
    def single(cls, transform: Any, coord_channels: int = 3) -> AugmentProgram:
        return cls([ProgramEntry(transform)], coord_channels, owner=transform.op_name)

    @property
    def transforms(self) -> Tuple[Any, ...]:
        return tuple(e.transform for e in self.entries)

    @property
    def execution_order(self) -> Tuple[str, ...]:
        return tuple(e.transform.op_name for e in self.entries)

    def output_frames(self, frames: int) -> int:
        for t in self.transforms:
            frames = t.output_frames(frames)
        return frames

    def encode(self, num_joints: int, frames: int) -> Tuple[List[int], List[float]]:
        """The (integer, float) program for V = ``num_joints`` joints and T = ``frames`` input frames."""
        key = (num_joints, frames)
        if key not in self._encoded:
            self._encoded[key] = self._encode(num_joints, frames)
        return self._encoded[key]

    def signature(self, num_joints: int) -> Tuple[OpSignature, ...]:
        """Per op, what a replay of its records must share with the call that drew them: the op's code and
        arguments (phase 2 reads them) and, for a flip, its permutation. ``p``, ``same_on_batch`` and one-of
        groups only steer sampling, which a replay skips, so an op's records also replay alone."""
        if num_joints not in self._signatures:
            self.encode(num_joints, 1)  # validates the arguments against the ABI
            signatures = []
            for e in self.entries:
                op = e.transform
                spec = op_abi(op.op_name)
                args = op.encode(num_joints)
                perm = op.permutation(num_joints)
                signatures.append((spec.code, tuple(int(args[n]) for n in spec.int_args),
                                   tuple(float(args[n]) for n in spec.float_args),
                                   None if perm is None else tuple(int(v) for v in perm)))
            self._signatures[num_joints] = tuple(signatures)
        return self._signatures[num_joints]

    def _encode(self, num_joints: int, frames: int) -> Tuple[List[int], List[float]]:
        limits = abi().limits
        if num_joints > limits.max_joints:
            raise ValueError(f"x: at most {limits.max_joints} joints (V) are supported, got V={num_joints}")
        prog_i = [len(self.entries), self.coord_channels, num_joints, self.output_frames(frames)]
        prog_f: List[float] = []
        perm = None
        for e in self.entries:
            op = e.transform
            spec = op_abi(op.op_name)
            args = op.encode(num_joints)
            expected = set(spec.int_args) | set(spec.float_args)
            if set(args) != expected:  # a transform class out of step with csrc/core/augment_abi.h
                raise RuntimeError(f"{type(op).__name__}.encode returned arguments {sorted(args)}, the extension's "
                                   f"{op.op_name} takes {sorted(expected)}")
            ints = [int(args[name]) for name in spec.int_args] + [0] * (limits.int_args - len(spec.int_args))
            floats = [float(args[name]) for name in spec.float_args]
            floats += [0.0] * (limits.float_args - len(spec.float_args))
            prog_i += [spec.code, int(op.same_on_batch), e.group, e.group_size, e.member] + ints
            prog_f += [op.p] + floats
            perm = op.permutation(num_joints) or perm
        if perm is not None:
            prog_i += list(perm)
        return prog_i, prog_f


# ------------------------------------------------------------------------------------------ records ----


def decode_joint_mask(words: torch.Tensor, num_joints: int) -> torch.Tensor:
    """Joint choices of a record: (N, mask_words) int32 bitmask words -> (N, num_joints) bool."""
    bits = torch.arange(32, device=words.device, dtype=torch.int64)
    expanded = (words.long().unsqueeze(-1) >> bits) & 1
    return expanded.reshape(words.shape[0], -1)[:, :num_joints].bool()


def decode_record(records: torch.Tensor, op_name: str, num_joints: int) -> Dict[str, torch.Tensor]:
    """The fields of one op's records ``(N, record_words)`` int32, by name: ``applied`` (N,) bool,
    ``input_length`` (N,) int64 and the op's own fields (int32, float32, or (N, V) bool for joint masks;
    a field of one word is returned as (N,), of several as (N, words))."""
    header = abi().header
    out = {"applied": records[:, header["applied"]] != 0, "input_length": records[:, header["input_length"]].long()}
    for f in op_abi(op_name).fields:
        words = records[:, f.word:f.word + f.count]
        if f.kind == "f":
            value = words.contiguous().view(torch.float32)
        elif f.kind == "mask":
            value = decode_joint_mask(words, num_joints)
        else:
            value = words
        out[f.name] = value[:, 0] if f.count == 1 and f.kind != "mask" else value
    return out


def encode_joint_mask(chosen: torch.Tensor) -> torch.Tensor:
    """(N, V) bool joint choices -> (N, mask_words) int32 bitmask words (the inverse of decode_joint_mask)."""
    N, V = chosen.shape
    words = abi().limits.mask_words
    if V > 32 * words:
        raise ValueError(f"joints: expected at most {32 * words} joints, got {V}")
    bits = torch.zeros(N, 32 * words, dtype=torch.int64)
    bits[:, :V] = chosen.to(torch.int64).cpu()
    packed = (bits.view(N, words, 32) << torch.arange(32, dtype=torch.int64)).sum(dim=2)
    return torch.where(packed >= 2**31, packed - 2**32, packed).to(torch.int32)


@dataclass
class AugmentParams:
    """Sampled parameters of one call (per view, sample and op): inspect them or pass them back to replay.

    ``records``: (views, N, n_ops, record_words) int32 raw records (layout: ``csrc/core/augment_abi.h``;
    :meth:`fields` decodes them by name); ``lengths``: (views, N) valid output frames; ``seed``/``offset``:
    the Philox key of the call (per-element draws such as noise are recomputed from it on replay);
    ``op_names``: the ops in execution order; ``coord_channels`` and ``signatures`` (per op: code, arguments
    and flip permutation) what a replay must match.
    """

    records: torch.Tensor
    lengths: torch.Tensor
    seed: int
    offset: int
    op_names: Tuple[str, ...]
    transforms: Tuple[Any, ...]
    num_joints: int
    coord_channels: int
    signatures: Tuple[OpSignature, ...]

    def index(self, op: Union[int, str]) -> int:
        if isinstance(op, int):
            return op
        matches = [i for i, name in enumerate(self.op_names) if name == op]
        if not matches:
            raise KeyError(f"op {op!r} is not in this pipeline (ops: {', '.join(self.op_names)})")
        return matches[0]

    def applied(self, op: Union[int, str], view: int = 0) -> torch.Tensor:
        """(N,) bool: whether the op was applied to each sample."""
        return self.records[view, :, self.index(op), abi().header["applied"]] != 0

    def fields(self, op: Union[int, str], view: int = 0) -> Dict[str, torch.Tensor]:
        """Decoded fields of one op (see :func:`decode_record`)."""
        j = self.index(op)
        return decode_record(self.records[view, :, j], self.op_names[j], self.num_joints)

    def replace(self, op: Union[int, str], view: Optional[int] = None, **fields) -> AugmentParams:
        """A copy with fields of one op set by name, to replay chosen draws (another method's, a fixed angle):
        ``applied`` (N,) bool and the op's own fields (:meth:`fields` names them; (N, V) bool for a joint
        mask, (N, words) for a field of several words). ``view`` None sets every view."""
        j = self.index(op)
        known = {f.name: f for f in op_abi(self.op_names[j]).fields}
        records = self.records.clone()
        N = records.shape[1]
        views = range(records.shape[0]) if view is None else [view]
        for name, value in fields.items():
            value = torch.as_tensor(value).cpu()
            if name == "applied":
                words, start = value.to(torch.int32).view(N, 1), abi().header["applied"]
            elif name in known:
                f = known[name]
                if f.kind == "mask":
                    words = encode_joint_mask(value.bool().view(N, -1))
                elif f.kind == "f":
                    words = value.to(torch.float32).reshape(N, f.count).contiguous().view(torch.int32)
                else:
                    words = value.to(torch.int32).reshape(N, f.count)
                start = f.word
            else:
                raise KeyError(f"{name!r} is not a field of {self.op_names[j]} (fields: applied, "
                               f"{', '.join(known)})")
            for v in views:
                records[v, :, j, start:start + words.shape[1]] = words.to(records.device)
        return dataclasses.replace(self, records=records)

    def select_op(self, op: Union[int, str]) -> AugmentParams:
        """The records of a single op, to replay it alone with its own transform."""
        j = self.index(op)
        return AugmentParams(self.records[:, :, j:j + 1].contiguous(), self.lengths, self.seed, self.offset,
                             (self.op_names[j],), (self.transforms[j],), self.num_joints, self.coord_channels,
                             (self.signatures[j],))

    def to(self, device) -> AugmentParams:
        return AugmentParams(self.records.to(device), self.lengths.to(device), self.seed, self.offset,
                             self.op_names, self.transforms, self.num_joints, self.coord_channels, self.signatures)


# -------------------------------------------------------------------------------- registered ops ----


def _program_sizes(prog_i: List[int]) -> Tuple[int, int]:
    """(n_ops, t_out) from the integer program header."""
    return int(prog_i[0]), int(prog_i[3])


def _program_blurs(prog_i: List[int]) -> bool:
    limits = abi().limits
    n_ops = _program_sizes(prog_i)[0]
    codes = {prog_i[limits.program_header + j * limits.ints_per_op] for j in range(n_ops)}
    return any(op.code in codes for op in abi().ops.values() if op.stage_name == "filter")


def _launch(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out):
    """Launch the kernels writing into ``out``; returns (out_lengths, records)."""
    n_ops, t_out = _program_sizes(prog_i)
    N, C, T, V, M = x.shape
    out_lengths = torch.empty((n_views, N), dtype=torch.int64, device=x.device)
    replay = records is not None
    recs = records.clone() if replay else torch.zeros((n_views, N, n_ops, abi().limits.record_words),
                                                      dtype=torch.int32, device=x.device)
    if N == 0:
        return out_lengths, recs
    ext = native()
    lengths_ptr = lengths.data_ptr() if lengths is not None else 0
    args = (x.data_ptr(), lengths_ptr, [N, C, T, V, M], prog_i, prog_f, n_views, seed, offset, replay,
            recs.data_ptr(), out_lengths.data_ptr(), out.data_ptr())
    cuda = cuda_kernels_for(x)  # the real kernels for a CUDA x; the emulated ones under emulated_cuda()
    if cuda is not None:
        scratch = torch.empty_like(out) if _program_blurs(prog_i) else None
        cuda.module.augment_cuda(*args, scratch.data_ptr() if scratch is not None else 0, cuda.stream, cuda.device)
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
    out_lengths (n_views, N) int64, records (n_views, N, n_ops, record_words) int32). ``records`` given =
    replay."""
    out = torch.empty(_output_shape(x, prog_i, n_views), dtype=x.dtype, device=x.device)
    out_lengths, recs = _launch(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out)
    return out, out_lengths, recs


@augment_op.register_fake
def _(x, lengths, prog_i, prog_f, n_views, seed, offset, records):
    n_ops = _program_sizes(prog_i)[0]
    N = x.shape[0]
    return (x.new_empty(_output_shape(x, prog_i, n_views)),
            x.new_empty((n_views, N), dtype=torch.int64),
            x.new_empty((n_views, N, n_ops, abi().limits.record_words), dtype=torch.int32))


@torch.library.custom_op("mgclr::augment_out", mutates_args=("out",))
def augment_out_op(x: torch.Tensor, lengths: Optional[torch.Tensor], prog_i: List[int], prog_f: List[float],
                   n_views: int, seed: int, offset: int, records: Optional[torch.Tensor], out: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Like ``augment`` but writes into a caller's ``out`` (n_views, N, C, t_out, V, M) float32 contiguous,
    so that a training loop can reuse one buffer. Returns (out_lengths, records)."""
    return _launch(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out)


@augment_out_op.register_fake
def _(x, lengths, prog_i, prog_f, n_views, seed, offset, records, out):
    n_ops = _program_sizes(prog_i)[0]
    N = x.shape[0]
    return (x.new_empty((n_views, N), dtype=torch.int64),
            x.new_empty((n_views, N, n_ops, abi().limits.record_words), dtype=torch.int32))


# ------------------------------------------------------------------------------------------- calls ----


def run_program(program: AugmentProgram, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *,
                two_views: bool = False, generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                return_params: bool = False, params: Optional[AugmentParams] = None, check_finite: bool = False,
                check_lengths: bool = True, out: Optional[torch.Tensor] = None):
    """One call of ``program`` on ``x`` (N, C, T, V, M); the arguments are documented on
    :class:`mgclr.augment.Pipeline`. Returns the output, ``(q, k)`` with ``two_views``, and an
    :class:`AugmentParams` after them with ``return_params``."""
    lengths = _check_inputs(program.coord_channels, x, lengths, check_finite, check_lengths)
    if x.requires_grad and torch.is_grad_enabled():
        raise ValueError("x: requires grad, but the augmentation ops are not differentiable (they are input "
                         "preprocessing, and their parameters are drawn, not learned): pass x.detach()")
    N, C, T, V, M = x.shape
    n_views = 2 if two_views else 1
    prog_i, prog_f = program.encode(V, T)
    records = None
    if params is not None:
        records = _check_replay(program, params, N, V, n_views, x.device, lengths, T)
        seed_, offset = params.seed, params.offset
    else:
        seed_, offset = resolve_seed(seed, generator)
    dtype = x.dtype
    work = x if dtype == torch.float32 else x.float()
    with nvtx_range("mgclr.augment"):
        if out is None:
            out, out_lengths, recs = augment_op(work.contiguous(), lengths, prog_i, prog_f, n_views, seed_, offset,
                                                records)
        else:
            out = _check_out(out, (n_views, N, C, _program_sizes(prog_i)[1], V, M), x)
            out_lengths, recs = augment_out_op(work.contiguous(), lengths, prog_i, prog_f, n_views, seed_, offset,
                                               records, out)
    if dtype != torch.float32:
        out = out.to(dtype)
    views = (out[0], out[1]) if two_views else out[0]
    if not return_params:
        return views
    info = AugmentParams(recs, out_lengths, seed_, offset, program.execution_order, program.transforms, V,
                         program.coord_channels, program.signature(V))
    return views, info


def _check_inputs(coord_channels: int, x, lengths, check_finite: bool, check_lengths: bool) -> Optional[torch.Tensor]:
    """Validates x and lengths; returns lengths as contiguous int64 (or None)."""
    x = check_tensor("x", x, ndim=5, shape_hint="(N, C, T, V, M)")
    N, C, T, V, M = x.shape
    if C < coord_channels:
        raise ValueError(f"x: expected at least coord_channels={coord_channels} channels (dim 1), "
                         f"got shape {tuple(x.shape)}")
    if T < 1 or V < 1 or M < 1:
        raise ValueError(f"x: expected T, V, M >= 1, got shape {tuple(x.shape)}")
    if check_finite:
        check_finite_tensor("x", x)
    if lengths is not None:
        lengths = check_tensor("lengths", lengths, ndim=1, dtypes=(torch.int64, torch.int32, torch.int16,
                                                                   torch.uint8), shape_hint="(N,)")
        if lengths.shape[0] != N:
            raise ValueError(f"lengths: expected shape ({N},) to match x's batch, got {tuple(lengths.shape)}")
        check_same_device(x=x, lengths=lengths)
        lengths = lengths.to(torch.int64).contiguous()
        # (values are not checked on meta tensors, which have none: the op's fake gives the output's shape)
        if check_lengths and N and not torch.compiler.is_compiling() and x.device.type != "meta":
            low, high = (int(v) for v in torch.aminmax(lengths))  # one reduction, one sync
            if low < 1 or high > T:
                raise ValueError(f"lengths: expected values in [1, T={T}] (zero-length sequences are not "
                                 f"allowed), got min {low}, max {high}")
    return lengths


def _check_out(out: torch.Tensor, shape: Tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
    out = check_tensor("out", out, dtypes=(torch.float32,))
    expected = shape if shape[0] == 2 else shape[1:]
    if tuple(out.shape) != expected:
        raise ValueError(f"out: expected shape {expected}, got {tuple(out.shape)}")
    check_same_device(x=x, out=out)
    if not out.is_contiguous():
        raise ValueError("out: expected a contiguous tensor")
    if x.dtype != torch.float32:
        raise TypeError(f"out: only float32 inputs can write into out (x is {x.dtype}); drop out= for them")
    return out.view(shape)


def _check_replay(program: AugmentProgram, params: AugmentParams, N: int, V: int, n_views: int,
                  device: torch.device, lengths: Optional[torch.Tensor], T: int) -> torch.Tensor:
    if not isinstance(params, AugmentParams):
        raise TypeError(f"params: expected AugmentParams (from return_params=True), got {type(params).__name__}")
    if params.op_names != program.execution_order:
        raise ValueError(f"params: recorded for ops {params.op_names}, this pipeline runs {program.execution_order}")
    if params.num_joints != V:
        raise ValueError(f"params: recorded for V={params.num_joints} joints, x has V={V}")
    if params.coord_channels != program.coord_channels:
        raise ValueError(f"params: recorded with coord_channels={params.coord_channels}, this pipeline has "
                         f"coord_channels={program.coord_channels}")
    for name, want, got in zip(program.execution_order, program.signature(V), params.signatures):
        if tuple(want) != tuple(got):
            raise ValueError(f"params: {name} was recorded with other arguments than this pipeline's (recorded "
                             f"{got}, here {want}); a replay needs the transforms it was drawn with")
    if not isinstance(params.records, torch.Tensor) or params.records.dtype != torch.int32:
        got = type(params.records).__name__ if not isinstance(params.records, torch.Tensor) else params.records.dtype
        raise TypeError(f"params.records: expected the int32 tensor return_params=True gave, got {got}")
    expected = (n_views, N, len(program.entries), abi().limits.record_words)
    if tuple(params.records.shape) != expected:
        raise ValueError(f"params: expected records of shape {expected}, got {tuple(params.records.shape)}")
    check_number("params.seed", params.seed, low=0, high=MAX_SEED, integer=True)
    check_number("params.offset", params.offset, low=0, high=MAX_OFFSET, integer=True)
    records = params.records.to(device=device).contiguous()
    if N and program.entries:
        expected_len = lengths if lengths is not None else torch.full((N,), T, dtype=torch.int64, device=device)
        if not bool((records[:, :, 0, abi().header["input_length"]].long() == expected_len).all()):
            raise ValueError("params: recorded for other sequence lengths than this call's lengths/T; "
                             "replay needs the same lengths")
    return records
