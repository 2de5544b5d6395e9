"""Throughput of the pretraining step, split by stage (``mgclr bench``; ``benchmarks/bench_train.py``
compares it with an ISC-style step)."""

from __future__ import annotations

import time
from typing import Any, Dict, Union

import torch

from ..profiling import record_stages
from .build import build_model, build_pretrain_pipelines, sgd, stream_feeds
from .config import ExperimentConfig
from .distributed import EpochSampler, local_seed, resolve_device
from .experiment import Experiment, resolve
from .loader import augment_in_workers, pretrain_loader
from .pretrain import train_step, warn_emulated_bf16

__all__ = ["STAGES", "benchmark_pretrain_step"]

STAGES = ("data", "augment", "forward", "loss", "backward", "optimizer", "ema", "enqueue")


def benchmark_pretrain_step(config: Union[ExperimentConfig, Experiment], steps: int = 20, warmup: int = 3
                            ) -> Dict[str, Any]:
    """Median-free totals over ``steps`` steps after ``warmup``: samples/s and seconds per step per stage
    (device-synchronised at stage boundaries, so the stages add up to the step), and on CUDA the peak memory the
    allocator held over those steps (``peak_memory_bytes``)."""
    experiment = resolve(config)
    config, train_set, info = experiment.config, experiment.train_set, experiment.info
    device = resolve_device(config.device, 0)
    warn_emulated_bf16(config, device)
    model = build_model(config, info).to(device).train()
    pipelines = build_pretrain_pipelines(config, info)
    for pipe in pipelines.values():
        pipe.to(device)
    optimizer = sgd([p for s in model.streams.values() for p in s.query_parameters()], config.pretrain.optim)
    # The training loop's loader: with data.augment_in_workers the workers make the views (and seed them by
    # the batch's own step), so the stage split then shows the augmentation inside "data".
    sampler = EpochSampler(len(train_set), config.data.batch_size, seed=config.seed)
    loader = pretrain_loader(train_set, sampler, config, device, torch.Generator().manual_seed(config.seed),
                             augment_in_workers(config, device), pipelines, stream_feeds(model.streams, pipelines))
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    batches, epoch = iter(loader), 0

    def one(step: int) -> None:
        nonlocal batches, epoch
        from ..profiling import range as nvtx_range

        with nvtx_range("mgclr/data"):
            try:
                x, lengths, _, *made = next(batches)
            except StopIteration:
                epoch += 1
                sampler.set_epoch(epoch)
                batches = iter(loader)
                x, lengths, _, *made = next(batches)
            x, lengths = x.to(device, non_blocking=True), lengths.to(device, non_blocking=True)
        train_step(model, pipelines, optimizer, x, lengths, local_seed(config.seed, 0, step), amp=config.pretrain.amp,
                   grad_clip=config.pretrain.grad_clip, views=made[0] if made else None)

    for step in range(warmup):
        one(step)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    with record_stages([f"mgclr/{s}" for s in STAGES], sync) as timer:
        started = time.perf_counter()
        for step in range(steps):
            one(warmup + step)
        if sync:
            sync()
        elapsed = time.perf_counter() - started
    per_step = {s: timer.times.get(f"mgclr/{s}", 0.0) / steps for s in STAGES}
    result = {"device": str(device), "batch_size": config.data.batch_size, "steps": steps,
              "step_s": elapsed / steps, "samples_per_s": config.data.batch_size * steps / elapsed,
              "stages_s": per_step}
    if device.type == "cuda":
        result["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
    return result
