"""``Pipeline``: a list of skeleton transforms executed as one fused pass per view.

The ops run in the canonical order of DESIGN.md: temporal ops (composed into a per-sample source-frame
map), spatial ops, pointwise ops, then a temporal filter; within a stage the given order is kept (the order
is stable, see :attr:`Pipeline.execution_order`). ``two_views=True`` writes both MoCo views from one read of
``x`` in one call. ``return_params=True`` returns an :class:`AugmentParams`; passing it back as ``params=``
replays exactly the same augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..ops._checks import check_finite_tensor, check_number, check_same_device, check_tensor
from ..ops._random import resolve_seed
from ..ops.augment import (
    FLOATS_PER_OP,
    INTS_PER_OP,
    RECORD_WORDS,
    augment_op,
    augment_out_op,
    decode_joint_mask,
)
from ..profiling import range as nvtx_range
from .transforms import FILTER, STAGE_NAMES, SkeletonTransform

MAX_OPS = 16
MAX_JOINTS = 256


class OneOf(nn.Module):
    """Apply exactly one of ``transforms`` per sample, chosen uniformly (then with that op's own ``p``).
    All members must belong to the same stage (e.g. ``OneOf([Shear(), JointShake()])`` as in ISC)."""

    def __init__(self, transforms: Sequence[SkeletonTransform]) -> None:
        super().__init__()
        if len(transforms) < 1:
            raise ValueError("OneOf: transforms: expected at least one transform, got none")
        for i, t in enumerate(transforms):
            if not isinstance(t, SkeletonTransform):
                raise TypeError(f"OneOf: transforms[{i}]: expected a SkeletonTransform, got {type(t).__name__}")
        stages = {t.stage for t in transforms}
        if len(stages) != 1:
            raise ValueError("OneOf: transforms: expected ops of one stage, got "
                             + ", ".join(f"{t.op_name} ({STAGE_NAMES[t.stage]})" for t in transforms))
        self.transforms = nn.ModuleList(transforms)
        self.stage = stages.pop()


@dataclass
class AugmentParams:
    """Sampled parameters of one call (per view, sample and op) — inspect them or pass them back to replay.

    ``records``: (views, N, n_ops, 32) int32 raw records (layout: ``csrc/core/augment.h`` and each
    transform's ``fields``); ``lengths``: (views, N) valid output frames; ``seed``/``offset``: the Philox key
    of the call (per-element draws such as noise are recomputed from it on replay); ``op_names``: the ops in
    execution order.
    """

    records: torch.Tensor
    lengths: torch.Tensor
    seed: int
    offset: int
    op_names: Tuple[str, ...]
    transforms: Tuple[SkeletonTransform, ...]
    num_joints: int

    def index(self, op: Union[int, str]) -> int:
        if isinstance(op, int):
            return op
        matches = [i for i, name in enumerate(self.op_names) if name == op]
        if not matches:
            raise KeyError(f"op {op!r} is not in this pipeline (ops: {', '.join(self.op_names)})")
        return matches[0]

    def applied(self, op: Union[int, str], view: int = 0) -> torch.Tensor:
        """(N,) bool: whether the op was applied to each sample."""
        return self.records[view, :, self.index(op), 0] != 0

    def fields(self, op: Union[int, str], view: int = 0) -> Dict[str, torch.Tensor]:
        """Decoded fields of one op: {"applied", "input_length", and the op's own fields}."""
        j = self.index(op)
        rec = self.records[view, :, j]
        out = {"applied": rec[:, 0] != 0, "input_length": rec[:, 1].long()}
        for f in self.transforms[j].fields:
            words = rec[:, f.word:f.word + f.count]
            if f.kind == "f":
                value = words.view(torch.float32)
            elif f.kind == "mask":
                value = decode_joint_mask(words, self.num_joints)
            else:
                value = words
            out[f.name] = value[:, 0] if f.count == 1 else value
        return out

    def select_op(self, op: Union[int, str]) -> AugmentParams:
        """The records of a single op, to replay it alone with its own transform."""
        j = self.index(op)
        return AugmentParams(self.records[:, :, j:j + 1].contiguous(), self.lengths, self.seed, self.offset,
                             (self.op_names[j],), (self.transforms[j],), self.num_joints)

    def to(self, device) -> AugmentParams:
        return AugmentParams(self.records.to(device), self.lengths.to(device), self.seed, self.offset,
                             self.op_names, self.transforms, self.num_joints)



class Pipeline(nn.Module):
    """Fused skeleton augmentation.

    Args:
        transforms: transforms (and :class:`OneOf` groups), in any order; they run in canonical order.
        coord_channels: 2 or 3 leading channels of ``x`` are coordinates; the rest are carried along.
        two_views: return two independently augmented views ``(q, k)`` from one read of ``x``.

    Call: ``pipeline(x, lengths=None, *, generator=None, seed=None, return_params=False, params=None)`` with
    ``x`` (N, C, T, V, M) float (float16/bfloat16/float64 are computed in float32 and cast back), ``lengths``
    (N,) integer valid frames in [1, T]. Returns the output(s) (frames past each sample's valid length are
    zero), plus an :class:`AugmentParams` with ``return_params=True``. ``check_lengths`` validates the
    lengths (for CUDA tensors that is a device synchronisation; pass False in a hot loop whose lengths are
    known good: the kernels then clamp them into [1, T]). ``check_finite`` rejects NaN/inf in ``x``.
    ``out`` (float32 input only) is a buffer to write into — (N, C, t_out, V, M), or (2, N, C, t_out, V, M)
    with two views — so that a loop can reuse it; large new outputs otherwise cost page faults every call.
    """

    def __init__(self, transforms: Sequence[Union[SkeletonTransform, OneOf]], coord_channels: int = 3,
                 two_views: bool = False) -> None:
        super().__init__()
        if isinstance(transforms, (SkeletonTransform, OneOf)):
            transforms = [transforms]
        entries: List[Tuple[int, int, SkeletonTransform, int, int, int]] = []  # stage, pos, op, group, size, member
        group_id = 0
        for pos, item in enumerate(transforms):
            if isinstance(item, OneOf):
                for member, t in enumerate(item.transforms):
                    entries.append((t.stage, pos, t, group_id, len(item.transforms), member))
                group_id += 1
            elif isinstance(item, SkeletonTransform):
                entries.append((item.stage, pos, item, -1, 0, 0))
            else:
                raise TypeError(f"Pipeline: transforms[{pos}]: expected a SkeletonTransform or OneOf, "
                                f"got {type(item).__name__}")
        if len(entries) > MAX_OPS:
            raise ValueError(f"Pipeline: transforms: at most {MAX_OPS} ops, got {len(entries)}")
        entries.sort(key=lambda e: (e[0], e[1]))  # stable: canonical stage order, given order within a stage
        if sum(e[2].resamples for e in entries) > 2:
            raise ValueError("Pipeline: transforms: at most two resampling ops (crop_resize, repeat_clip, "
                             "drop_frames) per pipeline")
        if sum(e[2].stage == FILTER for e in entries) > 1:
            raise ValueError("Pipeline: transforms: at most one gaussian_blur per pipeline")
        flips = {e[2].layout.name for e in entries if e[2].op_name == "flip"}
        if len(flips) > 1:
            raise ValueError(f"Pipeline: transforms: all flips must use one layout, got {sorted(flips)}")
        self._entries = entries
        self._programs: Dict[Tuple[int, int], Tuple[List[int], List[float]]] = {}
        self.ops = nn.ModuleList([e[2] for e in entries])
        self.coord_channels = int(check_number("coord_channels", coord_channels, low=2, high=3, integer=True))
        if not isinstance(two_views, bool):
            raise TypeError(f"two_views: expected a bool, got {type(two_views).__name__}")
        self.two_views = two_views

    @property
    def execution_order(self) -> Tuple[str, ...]:
        return tuple(e[2].op_name for e in self._entries)

    def extra_repr(self) -> str:
        return f"coord_channels={self.coord_channels}, two_views={self.two_views}"

    def output_frames(self, frames: int) -> int:
        for e in self._entries:
            frames = e[2].output_frames(frames)
        return frames

    def program(self, num_joints: int, frames: int) -> Tuple[List[int], List[float]]:
        """The (integer, float) program of csrc/core/augment_program.h for V joints and T frames (cached:
        transforms are treated as immutable once in a pipeline)."""
        key = (num_joints, frames)
        if key not in self._programs:
            self._programs[key] = self._build_program(num_joints, frames)
        return self._programs[key]

    def _build_program(self, num_joints: int, frames: int) -> Tuple[List[int], List[float]]:
        if num_joints > MAX_JOINTS:
            raise ValueError(f"x: at most {MAX_JOINTS} joints (V) are supported, got V={num_joints}")
        prog_i = [len(self._entries), self.coord_channels, num_joints, self.output_frames(frames)]
        prog_f: List[float] = []
        perm = None
        for _, _, op, group, size, member in self._entries:
            ints, floats = op.encode(num_joints)
            prog_i += [op.code, int(op.same_on_batch), group, size, member] + (ints + [0] * 4)[:4]
            prog_f += [op.p] + (floats + [0.0] * 8)[:8]
            perm = op.permutation(num_joints) or perm
        assert len(prog_i) == 4 + INTS_PER_OP * len(self._entries)
        assert len(prog_f) == FLOATS_PER_OP * len(self._entries)
        if perm is not None:
            prog_i += list(perm)
        return prog_i, prog_f

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *,
                generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                return_params: bool = False, params: Optional[AugmentParams] = None, check_finite: bool = False,
                check_lengths: bool = True, out: Optional[torch.Tensor] = None):
        lengths = self._check_inputs(x, lengths, check_finite, check_lengths)
        N, C, T, V, M = x.shape
        n_views = 2 if self.two_views else 1
        prog_i, prog_f = self.program(V, T)
        records = None
        if params is not None:
            records = self._check_replay(params, N, n_views, x.device, lengths, T)
            seed_, offset = params.seed, params.offset
        else:
            seed_, offset = resolve_seed(seed, generator)
        dtype = x.dtype
        work = x if dtype == torch.float32 else x.float()
        with nvtx_range("mgclr.augment"):
            if out is None:
                out, out_lengths, recs = augment_op(work.contiguous(), lengths, prog_i, prog_f, n_views, seed_,
                                                    offset, records)
            else:
                out = self._check_out(out, (n_views, N, C, prog_i[3], V, M), x)
                out_lengths, recs = augment_out_op(work.contiguous(), lengths, prog_i, prog_f, n_views, seed_,
                                                   offset, records, out)
        if dtype != torch.float32:
            out = out.to(dtype)
        views = (out[0], out[1]) if self.two_views else out[0]
        if not return_params:
            return views
        info = AugmentParams(recs, out_lengths, seed_, offset, self.execution_order, tuple(self.ops), V)
        return views, info

    def _check_inputs(self, x, lengths, check_finite: bool, check_lengths: bool) -> Optional[torch.Tensor]:
        """Validates x and lengths; returns lengths as contiguous int64 (or None)."""
        x = check_tensor("x", x, ndim=5, shape_hint="(N, C, T, V, M)")
        N, C, T, V, M = x.shape
        if C < self.coord_channels:
            raise ValueError(f"x: expected at least coord_channels={self.coord_channels} channels (dim 1), "
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
            if check_lengths and N and not torch.compiler.is_compiling():
                low, high = (int(v) for v in torch.aminmax(lengths))  # one reduction, one sync
                if low < 1 or high > T:
                    raise ValueError(f"lengths: expected values in [1, T={T}] (zero-length sequences are not "
                                     f"allowed), got min {low}, max {high}")
        return lengths

    @staticmethod
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

    def _check_replay(self, params: AugmentParams, N: int, n_views: int, device: torch.device,
                      lengths: Optional[torch.Tensor], T: int) -> torch.Tensor:
        if not isinstance(params, AugmentParams):
            raise TypeError(f"params: expected AugmentParams (from return_params=True), got {type(params).__name__}")
        if params.op_names != self.execution_order:
            raise ValueError(f"params: recorded for ops {params.op_names}, this pipeline runs {self.execution_order}")
        expected = (n_views, N, len(self._entries), RECORD_WORDS)
        if tuple(params.records.shape) != expected:
            raise ValueError(f"params: expected records of shape {expected}, got {tuple(params.records.shape)}")
        records = params.records.to(device=device, dtype=torch.int32).contiguous()
        if N and len(self._entries):
            expected_len = lengths if lengths is not None else torch.full((N,), T, dtype=torch.int64, device=device)
            if not bool((records[:, :, 0, 1].long() == expected_len).all()):
                raise ValueError("params: recorded for other sequence lengths than this call's lengths/T; "
                                 "replay needs the same lengths")
        return records
