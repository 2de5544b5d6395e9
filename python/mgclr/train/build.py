"""From a config to objects: the data splits, the encoders and streams, the pipelines, the optimiser's
learning rate. Errors from the objects' own checks are reported under the config key that caused them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..augment import Pipeline, pipeline_from_config
from ..data import ArrayDataset, generate
from ..data.format import DatasetError, SkeletonDataset, read_pyskl, read_skeletonclr
from ..models import AGCN, STGCN, BiGRU, DualStreamMoCo, MoCo, ProjectionHead
from ..skeleton import get_layout
from .config import ConfigError, DataConfig, ExperimentConfig, OptimConfig, StreamConfig

__all__ = ["build_encoder", "build_model", "build_pipeline", "build_pretrain_pipelines", "learning_rate",
           "load_splits"]

def load_splits(data: DataConfig) -> Tuple[Dataset, Dataset, Tuple[str, ...]]:
    """(train, test, class names) of ``data`` (see :class:`~mgclr.train.config.DataConfig`), checked against
    its layout and number of persons. Items are ``(x (C, T, V, M), length, label)``; ``.labels`` is an array."""
    if data.source == "synthetic":
        train = generate(data.train_samples, layout=data.layout, frames=data.frames, num_persons=data.num_persons,
                         seed=data.synthetic_seed)
        test = generate(data.test_samples, layout=data.layout, frames=data.frames, num_persons=data.num_persons,
                        seed=data.synthetic_seed + 1)
        return (ArrayDataset(train.x, train.lengths, train.labels), ArrayDataset(test.x, test.lengths, test.labels),
                train.class_names)
    if data.path is None:
        raise ConfigError(f"data.path: expected a path for data.source {data.source!r}, got none")
    path = Path(data.path)
    default_splits = {"mgclr": ("train", "test"), "arrays": ("train", "test"), "skeletonclr": ("train", "val"),
                      "pyskl": (None, None)}[data.source]
    splits = (data.train_split or default_splits[0], data.test_split or default_splits[1])
    for key, split in zip(("data.train_split", "data.test_split"), splits):
        if split is None:
            raise ConfigError(f"{key}: expected the name of a split in {path} (data.source {data.source!r}), got none")
    try:
        if data.source == "mgclr":
            train, test = (SkeletonDataset(path, split) for split in splits)
            if train.layout.name != data.layout:
                raise ConfigError(f"data.layout: {path} is in layout {train.layout.name!r}, the config says "
                                  f"{data.layout!r}")
            names = train.class_names
        elif data.source == "arrays":
            train, test = (_read_arrays(path, split) for split in splits)
            n_classes = int(max(train.labels.max(), test.labels.max())) + 1
            names_file = path / "class_names.txt"
            names = tuple(names_file.read_text().split("\n")[:n_classes]) if names_file.exists() else \
                tuple(str(i) for i in range(n_classes))
        else:
            read = read_skeletonclr if data.source == "skeletonclr" else read_pyskl
            train, test = (read(path, split) for split in splits)
            n_classes = int(max(train.labels.max(), test.labels.max())) + 1
            names = tuple(str(i) for i in range(n_classes))
    except (DatasetError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"data.path: {exc}") from None
    layout = get_layout(data.layout)
    for split, dataset in zip(splits, (train, test)):
        shape = dataset.shape
        if shape[1] != 3 or shape[3] != layout.num_joints or shape[4] != data.num_persons:
            raise ConfigError(f"data: {path} ({split}) is (N, C, T, V, M) = {shape}; the config expects C=3, "
                              f"V={layout.num_joints} (data.layout {data.layout!r}), M={data.num_persons} "
                              f"(data.num_persons)")
    return train, test, tuple(names)


def _read_arrays(folder: Path, split: str) -> ArrayDataset:
    arrays = []
    for part in ("x", "lengths", "labels"):
        file = folder / f"{split}_{part}.npy"
        try:
            arrays.append(np.load(file, mmap_mode="r" if part == "x" else None, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"data.path: cannot read {file}: {exc}") from None
    try:
        return ArrayDataset(*arrays)
    except ValueError as exc:
        raise ConfigError(f"data.path: {folder} ({split}): {exc}") from None


def build_encoder(key: str, kind: str, args: Dict[str, Any], data: DataConfig) -> nn.Module:
    layout = get_layout(data.layout)
    try:
        if kind == "agcn":
            return AGCN(layout, in_channels=3, num_persons=data.num_persons, **args)
        if kind == "stgcn":
            return STGCN(layout, in_channels=3, num_persons=data.num_persons, **args)
        return BiGRU(num_joints=layout.num_joints, in_channels=3, num_persons=data.num_persons, **args)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}.args: {exc}") from None


def build_stream(key: str, stream: StreamConfig, config: ExperimentConfig,
                 generator: Optional[torch.Generator] = None) -> MoCo:
    encoder = build_encoder(f"{key}.encoder", stream.encoder.kind, stream.encoder.args, config.data)
    head = ProjectionHead(encoder.out_dim, stream.head_dim, stream.head_hidden)
    return MoCo(encoder, head, stream.queue_size, stream.momentum, stream.temperature,
                infonce_impl=config.model.infonce_impl, generator=generator)


def build_model(config: ExperimentConfig) -> DualStreamMoCo:
    """The streams of ``config.model``, initialised from ``config.seed`` (the same on every rank)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    streams = {name: build_stream(f"model.{name}", s, config, generator) if s is not None else None
               for name, s in (("spatial", config.model.spatial), ("temporal", config.model.temporal))}
    try:
        return DualStreamMoCo(streams["spatial"], streams["temporal"], config.model.cross_stream_weight)
    except ValueError as exc:
        raise ConfigError(f"model.{exc}") from None


def build_pipeline(key: str, spec: Dict[str, Any], two_views: bool = True) -> Pipeline:
    spec = dict(spec)
    spec.setdefault("two_views", two_views)
    try:
        return pipeline_from_config(spec)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from None


def build_pretrain_pipelines(config: ExperimentConfig) -> Dict[str, Pipeline]:
    """``{"shared": pipeline}`` (one fused two-view call serves both streams), or one pipeline per stream
    when a stream's config has its own ``augment``."""
    own = [name for name, s in (("spatial", config.model.spatial), ("temporal", config.model.temporal))
           if s is not None and s.augment is not None]
    if not own:
        return {"shared": build_pipeline("augment", config.augment)}
    pipes = {}
    for name, stream in (("spatial", config.model.spatial), ("temporal", config.model.temporal)):
        if stream is not None:
            key = f"model.{name}.augment" if stream.augment is not None else "augment"
            pipes[name] = build_pipeline(key, stream.augment if stream.augment is not None else config.augment)
    return pipes


def learning_rate(optim: OptimConfig, epochs: int, epoch: float) -> float:
    """The schedule at a fractional epoch: linear warm-up, then step decay or cosine."""
    warm = 1.0 if optim.warmup_epochs <= 0 else min(1.0, (epoch + 1e-9) / optim.warmup_epochs)
    if optim.schedule == "cosine":
        progress = min(1.0, max(0.0, (epoch - optim.warmup_epochs) / max(epochs - optim.warmup_epochs, 1e-9)))
        decay = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        decay = optim.gamma ** sum(epoch >= m for m in optim.milestones)
    return optim.lr * warm * decay


def sgd(parameters, optim: OptimConfig) -> torch.optim.SGD:
    return torch.optim.SGD(parameters, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay,
                           nesterov=optim.nesterov and optim.momentum > 0)
