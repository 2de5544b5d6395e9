"""The augmentation ABI as the extension exports it (``csrc/core/augment_abi.h``, ``mgclr._C.augment_abi()``).

Op codes, stages, limits, the slots of each op's arguments and the words of each op's parameter record are
defined once, in C++; Python reads them from here and never restates a number. Reading needs the compiled
extension: without it the first use raises the extension's build error (augmentation has no fallback).

    abi().limits.max_ops           16 ops per program, and the other limits
    abi().header                   the words every record starts and ends with (applied, input_length, ...)
    op_abi("coordinate_perturbation").fields   Field("lambda", word=2, count=1, kind="f"), ...
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Dict, Tuple

from .._ext import native

__all__ = ["ABI", "Field", "Limits", "OpABI", "abi", "op_abi"]

_FIELD_KINDS = {"i": "i", "f": "f", "m": "mask"}


@dataclass(frozen=True)
class Field:
    """A field of an op's record: first word, number of words and type ('i' int32, 'f' float32, 'mask' a
    joint bitmask of ``limits.mask_words`` words, decoded to one bool per joint)."""

    name: str
    word: int
    count: int = 1
    kind: str = "i"

    @property
    def words(self) -> range:
        return range(self.word, self.word + self.count)


@dataclass(frozen=True)
class OpABI:
    """One op: its code, stage (number and name), whether it resamples time, the names of its int and float
    argument slots in slot order, and its record fields."""

    name: str
    code: int
    stage: int
    stage_name: str
    resamples: bool
    int_args: Tuple[str, ...]
    float_args: Tuple[str, ...]
    fields: Tuple[Field, ...]


@dataclass(frozen=True)
class Limits:
    max_ops: int
    max_joints: int
    mask_words: int
    max_resampling_ops: int
    max_taps: int
    max_segments: int
    max_blur_radius: int
    int_args: int
    float_args: int
    record_words: int
    program_header: int
    ints_per_op: int
    floats_per_op: int


@dataclass(frozen=True)
class ABI:
    limits: Limits
    header: Dict[str, int]    # applied, input_length, first_op_word, counter_sample, counter_stream
    counters: Dict[str, int]  # Philox counter blocks: per_joint_block, per_element_block, group_stream_base
    stages: Dict[str, int]    # temporal, spatial, pointwise, filter -> stage number (the canonical order)
    ops: Dict[str, OpABI]

    def stage_name(self, stage: int) -> str:
        return next(name for name, number in self.stages.items() if number == stage)


def _slots(args, kind: str) -> Tuple[str, ...]:
    named = sorted((slot, name) for name, k, slot in args if k == kind)
    if [slot for slot, _ in named] != list(range(len(named))):
        raise RuntimeError(f"mgclr._C.augment_abi(): {kind} argument slots are not 0..n-1: {named}")
    return tuple(name for _, name in named)


@functools.cache
def abi() -> ABI:
    """The ABI of the installed extension (read once)."""
    raw = native().augment_abi()
    stages = {str(k): int(v) for k, v in raw["stages"].items()}
    names = {number: name for name, number in stages.items()}
    ops = {}
    for name, entry in raw["ops"].items():
        ops[str(name)] = OpABI(
            name=str(name), code=int(entry["code"]), stage=int(entry["stage"]), stage_name=names[int(entry["stage"])],
            resamples=bool(entry["resamples"]), int_args=_slots(entry["args"], "i"),
            float_args=_slots(entry["args"], "f"),
            fields=tuple(Field(str(n), int(w), int(c), _FIELD_KINDS[k]) for n, w, c, k in entry["fields"]))
    return ABI(limits=Limits(**{str(k): int(v) for k, v in raw["limits"].items()}),
               header={str(k): int(v) for k, v in raw["header"].items()},
               counters={str(k): int(v) for k, v in raw["counters"].items()}, stages=stages, ops=ops)


def op_abi(name: str) -> OpABI:
    """The ABI entry of the op called ``name``."""
    ops = abi().ops
    if name not in ops:
        raise KeyError(f"the extension defines no augmentation op {name!r} (it has: {', '.join(sorted(ops))}); "
                       "rebuild mgclr after adding an op to csrc/core/augment_abi.h")
    return ops[name]
