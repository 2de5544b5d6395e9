"""NVTX ranges for Nsight Systems that cost nothing when no profiler is attached.

``with mgclr.profiling.range("pretrain/step"):`` pushes an NVTX range through the ``nvtx`` package when it
is installed (``pip install mgclr[nvtx]``), else through ``torch.cuda.nvtx`` when CUDA is available, else it
does nothing. The choice is made once, at import.

``with record_stages(names) as timer:`` additionally times the ranges called ``names`` (wall clock, with a
device synchronisation at both ends of each when ``sync`` is given): the pretraining step's stages, for
``mgclr bench`` and ``benchmarks/bench_train.py``. Outside it, a range costs one global lookup more.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Callable, ContextManager, Dict, Iterable, Iterator, Optional

__all__ = ["StageTimer", "annotate", "range", "record_stages"]


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


class StageTimer:
    """Seconds spent in each recorded range (``times``) and how often it ran (``counts``)."""

    def __init__(self, names: Iterable[str], sync: Optional[Callable[[], None]] = None) -> None:
        self.names = set(names)
        self.sync = sync
        self.times: Dict[str, float] = defaultdict(float)
        self.counts: Dict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        if self.sync:
            self.sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.sync:
                self.sync()
            self.times[name] += time.perf_counter() - start
            self.counts[name] += 1


_recorder: Optional[StageTimer] = None


@contextlib.contextmanager
def record_stages(names: Iterable[str], sync: Optional[Callable[[], None]] = None) -> Iterator[StageTimer]:
    """Time the ranges called ``names`` while the block runs (one recorder at a time)."""
    global _recorder
    previous, _recorder = _recorder, StageTimer(names, sync)
    try:
        yield _recorder
    finally:
        _recorder = previous


def range(name: str) -> ContextManager:  # noqa: A001 - mirrors nvtx.range / torch.cuda.nvtx.range
    """Context manager marking ``name`` on the Nsight timeline (a no-op without NVTX)."""
    if _recorder is not None and name in _recorder.names:
        stack = contextlib.ExitStack()
        stack.enter_context(_backend(name))
        stack.enter_context(_recorder.timed(name))
        return stack
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
