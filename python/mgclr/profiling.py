"""Stage ranges for Nsight Systems and the torch profiler that cost nothing when neither is recording.

``with mgclr.profiling.range("mgclr/loss"):`` pushes an NVTX range through the ``nvtx`` package when it is
installed (``pip install mgclr[nvtx]``), else through ``torch.cuda.nvtx`` when CUDA is available (the choice is
made once, at import), and, while a ``torch.profiler`` (or ``torch.autograd.profiler``) is recording, a
``record_function`` of the same name, so that ``mgclr pretrain --profile N``'s Chrome trace shows the stages.
With neither, a range is one check of the profiler's state (about 0.1 us) and a ``nullcontext``.

``with record_stages(names) as timer:`` additionally times the ranges called ``names`` (wall clock, with a
device synchronisation at both ends of each when ``sync`` is given): the pretraining step's stages, for
``mgclr bench`` and ``benchmarks/bench_train.py``. Outside it, a range costs one global lookup more.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Callable, ContextManager, Dict, Iterable, Iterator, Optional

import torch

__all__ = ["StageTimer", "annotate", "range", "record_stages"]


def _pick_backend() -> Callable[[str], ContextManager]:
    try:
        import nvtx  # type: ignore

        return lambda name: nvtx.annotate(name, domain="mgclr")
    except ImportError:
        pass
    try:
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


def _profiler_recording() -> bool:
    return torch.autograd._profiler_enabled()


def range(name: str) -> ContextManager:  # noqa: A001 - mirrors nvtx.range / torch.cuda.nvtx.range
    """Context manager marking ``name`` on the Nsight timeline and in a recording torch profiler's trace (a
    no-op without either)."""
    if torch.compiler.is_compiling():  # folded by dynamo: compiled graphs carry no ranges (and no graph break)
        return contextlib.nullcontext()
    timed = _recorder is not None and name in _recorder.names
    recording = _profiler_recording()
    if not (timed or recording):
        return _backend(name)
    stack = contextlib.ExitStack()
    stack.enter_context(_backend(name))
    if recording:
        stack.enter_context(torch.autograd.profiler.record_function(name))
    if timed:
        stack.enter_context(_recorder.timed(name))
    return stack


def annotate(name: str):
    """Decorator form of :func:`range`."""

    def wrap(fn):
        import functools

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with range(name):
                return fn(*args, **kwargs)

        return inner

    return wrap
