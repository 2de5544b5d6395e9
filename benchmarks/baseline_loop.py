"""What the research-code baselines of ``bench_train.py`` share: a clock of the step's stages (synchronised
with the device at both ends of each, counted only after the warm-up) and a loader that starts over when it
runs out. Benchmark support only."""

from __future__ import annotations

import contextlib
import time
from typing import Dict, Iterable

import torch

# The stages a baseline step is timed in (mgclr's own add "augment": on the device, inside the step).
BASELINE_STAGES = ("data", "forward", "loss", "backward", "optimizer", "ema", "enqueue")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class StageClock:
    """``with clock.stage("loss"):`` adds the stage's wall time once ``clock.start()`` has been called (the end
    of the warm-up); ``clock.per_step(steps)`` gives seconds per step per stage."""

    def __init__(self, stages: Iterable[str], device: torch.device) -> None:
        self.times: Dict[str, float] = dict.fromkeys(stages, 0.0)
        self.device = device
        self.recording = False
        self.started = 0.0

    def start(self) -> None:
        sync(self.device)
        self.recording, self.started = True, time.perf_counter()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    @contextlib.contextmanager
    def stage(self, key: str):
        sync(self.device)
        t0 = time.perf_counter()
        yield
        sync(self.device)
        if self.recording:
            self.times[key] += time.perf_counter() - t0

    def result(self, steps: int, batch: int) -> dict:
        sync(self.device)
        elapsed = time.perf_counter() - self.started
        out = {"samples_per_s": batch * steps / elapsed, "step_s": elapsed / steps,
               "stages_s": {k: v / steps for k, v in self.times.items()}}
        if self.device.type == "cuda":
            out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(self.device)
        return out


class Batches:
    """``next(batches)`` over a DataLoader, starting a new epoch when one ends."""

    def __init__(self, loader) -> None:
        self.loader, self.it = loader, iter(loader)

    def __next__(self):
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)


@torch.no_grad()
def loop_ema(query_params, key_params, m: float) -> None:
    """MoCo's moving average as the research code writes it: a Python loop over the parameters."""
    for pq, pk in zip(query_params, key_params):
        pk.data = pk.data * m + pq.data * (1.0 - m)


@torch.no_grad()
def slice_enqueue(queue: torch.Tensor, ptr: int, keys: torch.Tensor) -> int:
    """MoCo's enqueue as the research code writes it: ``queue (dim, K)[:, ptr:ptr + B] = keys.T`` (K % B == 0
    asserted); returns the next pointer."""
    B, K = keys.shape[0], queue.shape[1]
    assert K % B == 0
    queue[:, ptr:ptr + B] = keys.T
    return (ptr + B) % K


def run_steps(loader, device: torch.device, steps: int, warmup: int, batch: int, optimizer, *, forward, loss,
              ema, enqueue) -> dict:
    """A research-code pretraining step, timed by stage over ``steps`` steps after ``warmup``: ``forward(*views)``
    -> embeddings, ``loss(embeddings)``, backward, ``optimizer.step()``, ``ema()``, ``enqueue(embeddings)``."""
    clock = StageClock(BASELINE_STAGES, device)
    batches = Batches(loader)
    for i in range(warmup + steps):
        if i == warmup:
            clock.start()
        with clock.stage("data"):
            views = [t.to(device).float() for t in next(batches)]
        with clock.stage("forward"):
            embeddings = forward(*views)
        with clock.stage("loss"):
            value = loss(embeddings)
        with clock.stage("backward"):
            optimizer.zero_grad()
            value.backward()
        with clock.stage("optimizer"):
            optimizer.step()
        with clock.stage("ema"):
            ema()
        with clock.stage("enqueue"):
            enqueue(embeddings)
    return clock.result(steps, batch)

