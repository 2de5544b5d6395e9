"""NVTX ranges for Nsight Systems that cost nothing when no profiler is attached.

``with mgclr.profiling.range("pretrain/step"):`` pushes an NVTX range through the ``nvtx`` package when it
is installed (``pip install mgclr[nvtx]``), else through ``torch.cuda.nvtx`` when CUDA is available, else it
does nothing. The choice is made once, at import.
"""

from __future__ import annotations

import contextlib
from typing import Callable, ContextManager

__all__ = ["range", "annotate"]


def _pick_backend() -> Callable[[str], ContextManager]:
    try:
        import nvtx  # type: ignore

        return lambda name: nvtx.annotate(name, domain="mgclr")
    except ImportError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.nvtx.range
    except Exception:  # pragma: no cover - a broken CUDA setup must not break profiling no-ops
        pass
    return lambda name: contextlib.nullcontext()


_backend = _pick_backend()


def range(name: str) -> ContextManager:  # noqa: A001 - mirrors nvtx.range / torch.cuda.nvtx.range
    """Context manager marking ``name`` on the Nsight timeline (a no-op without NVTX)."""
    return _backend(name)


def annotate(name: str):
    """Decorator form of :func:`range`."""

    def wrap(fn):
        import functools

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with _backend(name):
                return fn(*args, **kwargs)

        return inner

    return wrap
