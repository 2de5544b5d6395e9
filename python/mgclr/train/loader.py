"""The pretraining DataLoader, optionally making the augmented views in its workers.

By default the fused augmentation runs in the training process, on the training device, one call per pipeline
per step. On CPU with DataLoader workers (``data.num_workers > 0``) the views can be made in the workers
instead (``data.augment_in_workers``; on by default there), so that the next batches are augmented while the
step trains: each worker stacks its batch and calls the same pipelines with the same seed the training process
would use for that step (:func:`~mgclr.train.distributed.local_seed` of the step's number, which the batch
sampler sends along with every index), so the views -- and the trained weights -- are those of the in-process
path. On CUDA the augmentation stays on the device (a worker would make them on the CPU and copy them over).
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Tuple

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from ..augment import Pipeline
from .build import make_views
from .config import ConfigError, ExperimentConfig
from .distributed import EpochSampler, local_seed

__all__ = ["StepBatches", "WorkerViews", "augment_in_workers", "pretrain_loader"]


def augment_in_workers(config: ExperimentConfig, device: torch.device) -> bool:
    """``data.augment_in_workers``, resolved: left out, on when the training device is the CPU and there are
    workers; asked for where it cannot be, a :class:`ConfigError` naming why."""
    asked = config.data.augment_in_workers
    if asked is None:
        return device.type == "cpu" and config.data.num_workers > 0
    if asked and config.data.num_workers < 1:
        raise ConfigError("data.augment_in_workers: true needs DataLoader workers, but data.num_workers is 0")
    if asked and device.type != "cpu":
        raise ConfigError(f"data.augment_in_workers: true, but the training device is {device}: the views are made "
                          f"on the device there (set it to false, or leave it out)")
    return bool(asked)


class StepBatches(Sampler):
    """The batches of an :class:`EpochSampler` as lists of ``(index, step)``: the step each batch trains, counted
    like the training loop's (``epoch x batches_per_epoch + batch``), so a worker seeds the views as the loop
    would."""

    def __init__(self, sampler: EpochSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        s = self.sampler
        indices = list(iter(s))
        first = s.epoch * s.batches_per_epoch + s.start_batch
        for b in range(len(indices) // s.batch_size):
            yield [(i, first + b) for i in indices[b * s.batch_size:(b + 1) * s.batch_size]]

    def __len__(self) -> int:
        return self.sampler.batches_per_epoch - self.sampler.start_batch


class _StepTagged(Dataset):
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: Tuple[int, int]):
        index, step = item
        return (*self.dataset[index], step)


class WorkerViews:
    """The collate function of a worker-augmenting loader: ``(x, lengths, labels, views)``, the views those of
    :func:`~mgclr.train.build.make_views` for the batch's step."""

    def __init__(self, pipelines: Mapping[str, Pipeline], feeds: Mapping[str, Mapping[str, Tuple[str, int]]],
                 seed: int, rank: int) -> None:
        self.pipelines, self.feeds, self.seed, self.rank = dict(pipelines), feeds, seed, rank

    def __call__(self, items: List[Any]):
        x, lengths, labels, steps = default_collate(items)
        if bool((steps != steps[0]).any()):
            raise RuntimeError(f"a batch of the worker-augmenting loader spans steps {sorted(set(steps.tolist()))}")
        seed = local_seed(self.seed, self.rank, int(steps[0]))
        return x, lengths, labels, make_views(self.pipelines, None, x, lengths, seed, feeds=self.feeds)


def _one_thread(_worker: int) -> None:
    torch.set_num_threads(1)  # the training process keeps the cores; each worker augments on one


def pretrain_loader(train_set: Dataset, sampler: EpochSampler, config: ExperimentConfig, device: torch.device,
                    generator: torch.Generator, in_workers: bool = False,
                    pipelines: Mapping[str, Pipeline] = None, feeds: Dict[str, Any] = None, rank: int = 0
                    ) -> DataLoader:
    """Batches ``(x, lengths, labels)`` of ``sampler``'s order, or with ``in_workers`` ``(x, lengths, labels,
    views)`` made by :class:`WorkerViews`."""
    if not in_workers:
        return DataLoader(train_set, batch_size=sampler.batch_size, sampler=sampler,
                          num_workers=config.data.num_workers, pin_memory=device.type == "cuda", drop_last=True,
                          persistent_workers=False, generator=generator)
    return DataLoader(_StepTagged(train_set), batch_sampler=StepBatches(sampler), num_workers=config.data.num_workers,
                      collate_fn=WorkerViews(pipelines, feeds, config.seed, rank), worker_init_fn=_one_thread,
                      persistent_workers=False, generator=generator)
