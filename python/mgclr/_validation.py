"""Argument validation shared by every op: one wording for every error.

Each check raises ``ValueError`` (wrong value/shape) or ``TypeError`` (wrong type/dtype) naming the
argument, what was expected and what came. Numbers are checked in the precision the kernels use: integer
arguments travel as int32 (:func:`check_int`), float arguments as float32 (:func:`check_float32`), so a
value that would wrap around or overflow / underflow on the way is refused here, by name.
"""

from __future__ import annotations

import difflib
import math
from typing import Iterable, Optional, Sequence

import numpy as np
import torch

FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
INT32_MAX = 2**31 - 1
FLOAT32_MAX = float(np.finfo(np.float32).max)


def did_you_mean(name: object, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"did you mean X? "`` for the choice closest to a misspelt ``name``, else ``""``: the hint every
    unknown-name error in mgclr gives."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=cutoff)
    return f"did you mean {close[0]}? " if close else ""


def check_tensor(name: str, value, *, ndim: Optional[int] = None, dtypes: Sequence[torch.dtype] = FLOAT_DTYPES,
                 shape_hint: str = "") -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor{' ' + shape_hint if shape_hint else ''}, "
                        f"got {type(value).__name__}")
    if ndim is not None and value.dim() != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D tensor {shape_hint}, got shape {tuple(value.shape)}")
    if dtypes and value.dtype not in dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"{name}: expected dtype in ({names}), got {str(value.dtype).replace('torch.', '')}")
    return value


def check_same_device(**tensors: Optional[torch.Tensor]) -> torch.device:
    present = {k: v for k, v in tensors.items() if v is not None}
    devices = {k: v.device for k, v in present.items()}
    first_name, first = next(iter(devices.items()))
    for name, dev in devices.items():
        if dev != first:
            raise ValueError(f"{name}: expected a tensor on {first} (the device of {first_name}), got {dev}")
    return first


def check_finite_tensor(name: str, value: torch.Tensor) -> None:
    if value.numel() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf element(s)")


def check_number(name: str, value, *, low: Optional[float] = None, high: Optional[float] = None,
                 low_inclusive: bool = True, high_inclusive: bool = True, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "an integer" if integer else "a number"
        raise TypeError(f"{name}: expected {kind}, got {type(value).__name__} {value!r}")
    if integer and not float(value).is_integer():
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name}: expected a value {op} {low}, got {value!r}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name}: expected a value {op} {high}, got {value!r}")
    return value


def check_int(name: str, value, *, low: Optional[int] = None, high: int = INT32_MAX) -> int:
    """An integer (``3`` or ``3.0``, not ``True``) in [low, high]; ``high`` defaults to the int32 maximum."""
    check_number(name, value, low=low, high=high, integer=True)
    return int(value)


def as_float32(value: float) -> np.float32:
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        return np.float32(value)


def check_float32(name: str, value, *, low: Optional[float] = None, high: Optional[float] = None,
                  low_inclusive: bool = True, high_inclusive: bool = True, divisor: bool = False) -> float:
    """A finite number in the given range that float32 represents (|value| <= 3.4e38: beyond, it would
    become inf). ``divisor``: the kernels divide by it, so 1 / value must be finite in float32 too."""
    check_number(name, value, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive)
    single = as_float32(value)
    if not np.isfinite(single):
        raise ValueError(f"{name}: expected a value representable in float32 (|value| <= {FLOAT32_MAX:.4g}, the "
                         f"kernels' precision), got {value!r}")
    if divisor:
        with np.errstate(over="ignore", divide="ignore"):
            inverse = np.float32(1) / single
        if not np.isfinite(inverse):
            raise ValueError(f"{name}: the kernels divide by it and 1/{value!r} overflows float32; expected "
                             f"|value| >= {1 / FLOAT32_MAX:.3g}, got {value!r}")
    return float(value)


def check_float32_pair(name: str, value, *, low: Optional[float] = None, high: Optional[float] = None,
                       divisor: bool = False) -> tuple:
    """A ``(low, high)`` pair of :func:`check_float32` numbers with low <= high."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name}: expected a (low, high) pair, got {value!r}")
    lo = check_float32(f"{name}[0]", value[0], low=low, high=high, divisor=divisor)
    hi = check_float32(f"{name}[1]", value[1], low=low, high=high, divisor=divisor)
    if lo > hi:
        raise ValueError(f"{name}: expected lower <= upper, got ({value[0]!r}, {value[1]!r})")
    return lo, hi
