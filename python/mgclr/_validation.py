"""Argument validation shared by every op: one wording for every error.

Each check raises ``ValueError`` (wrong value/shape) or ``TypeError`` (wrong type/dtype) naming the
argument, what was expected and what came.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


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


def check_range(name: str, lo, hi, *, low: Optional[float] = None, high: Optional[float] = None) -> None:
    check_number(f"{name}[0]", lo, low=low, high=high)
    check_number(f"{name}[1]", hi, low=low, high=high)
    if lo > hi:
        raise ValueError(f"{name}: expected lower <= upper, got ({lo!r}, {hi!r})")
