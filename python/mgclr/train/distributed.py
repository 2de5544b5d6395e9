"""One process per device, through ``torchrun`` (DDP); a plain ``python``/``mgclr`` run is one process.

``torchrun --nproc-per-node 2 -m mgclr.cli pretrain CONFIG`` sets RANK, WORLD_SIZE, LOCAL_RANK and the
rendezvous; :func:`setup` then joins the process group (NCCL on CUDA, gloo on the CPU) and picks this
rank's device. Data is sharded by :class:`EpochSampler`; keys are all-gathered into every rank's queue
(:class:`~mgclr.models.MoCoQueue`), so queues stay identical; rank 0 alone logs and writes checkpoints.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
from torch.utils.data import Sampler

from .._seeding import derive_seed

__all__ = ["EpochSampler", "Process", "local_seed", "resolve_device", "setup", "teardown"]


@dataclass
class Process:
    rank: int
    world_size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()


def resolve_device(device: str, local_rank: int) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for but torch sees no GPU")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"device: expected auto, cpu, cuda or cuda:N, got {device!r}") from None


def setup(device: str = "auto") -> Process:
    """Join the torchrun process group when there is one; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not torch.distributed.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Process(rank, world, dev)


def teardown(process: Process) -> None:
    if process.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


class EpochSampler(Sampler):
    """Indices of one epoch for one rank: a permutation seeded by (seed, epoch), cut to a whole number of
    batches on every rank, rank r taking batches r, r + world, ... . ``start_batch`` skips this rank's first
    batches, so that a run resumed mid-epoch sees exactly the batches the uninterrupted run would have."""

    def __init__(self, size: int, batch_size: int, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.epoch, self.start_batch = 0, 0
        if self.batches_per_epoch < 1:
            raise ValueError(f"data.batch_size: {batch_size} x {world_size} process(es) is more than the "
                             f"{size} training samples: no full batch per epoch")

    @property
    def batches_per_epoch(self) -> int:
        return self.size // (self.batch_size * self.world_size)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(derive_seed(self.seed, "epoch_order", self.epoch))
            order = torch.randperm(self.size, generator=g)
        else:
            order = torch.arange(self.size)
        per_rank = self.batches_per_epoch
        batches = order[:per_rank * self.world_size * self.batch_size].view(-1, self.batch_size)
        mine = batches[self.rank::self.world_size][self.start_batch:]
        return iter(mine.reshape(-1).tolist())

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch_size


def steps_per_epoch(size: int, batch_size: int, world_size: int) -> int:
    return max(1, math.floor(size / (batch_size * world_size)))


def local_seed(seed: int, rank: int, step: Optional[int] = None) -> int:
    """A 63-bit seed for (seed, rank[, step]): every rank and step augments differently, reproducibly."""
    return derive_seed(seed, "rank_step", rank, step)
