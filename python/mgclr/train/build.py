"""From a config to objects: the data splits and their description, the encoders and streams, the pipelines,
the optimiser's learning rate. Errors from the objects' own checks are reported under the config key that
caused them.

The dataset describes itself (:class:`~mgclr.data.info.DatasetInfo`) and everything built here obeys it: the
encoders read C, V and M from it, every pipeline takes its ``coord_channels`` (and ``flip`` its layout) from it,
and a config that says otherwise is an error naming the key and both values.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .._seeding import derive_seed
from ..augment import Pipeline, pipeline_from_config
from ..augment.config import PRESETS
from ..data import ArrayDataset, generate, generate_realistic, split_by_subject
from ..data.arrays import SubsetDataset, class_fraction
from ..data.axes import CANONICAL, CANONICAL_2D, check_axes, lateral_channel
from ..data.format import DatasetError, SkeletonDataset, read_pyskl, read_skeletonclr
from ..data.info import DatasetInfo, check_agrees
from ..models import (
    ENCODERS,
    METHODS,
    InputModality,
    MomentumMethod,
    MultiStreamMoCo,
    ProjectionHead,
    StreamEncoder,
    View,
    bone_parents,
)
from ..ops.transforms import Flip
from ..skeleton import layout_from_spec
from .config import ConfigError, DataConfig, ExperimentConfig, OptimConfig, StreamConfig

__all__ = ["SHARED_AUGMENT", "build_encoder", "build_model", "build_pipeline", "build_pretrain_pipelines",
           "build_stream_encoder", "learning_rate", "load_splits", "make_views", "pipeline_seed", "resolve_augment",
           "stream_feeds"]

# Sources whose files do not say which layout they are in.
_UNDESCRIBED = ("arrays", "skeletonclr", "pyskl")


def load_splits(data: DataConfig) -> Tuple[Dataset, Dataset, DatasetInfo]:
    """(train, test, description) of ``data`` (see :class:`~mgclr.train.config.DataConfig`): the description
    comes from the dataset (its ``meta.json``) where it has one, from the config where the files cannot say;
    a config value that contradicts the dataset is a :class:`ConfigError` naming both. Items are
    ``(x (C, T, V, M), length, label)``; ``.labels`` is an array."""
    if data.source in _SYNTHETIC:
        return _synthetic_splits(data)
    if data.path is None:
        raise ConfigError(f"data.path: expected a path for data.source {data.source!r}, got none")
    path = Path(data.path)
    default_splits = {"mgclr": ("train", "test"), "arrays": ("train", "test"), "skeletonclr": ("train", "val"),
                      "pyskl": (None, None)}[data.source]
    splits = (data.train_split or default_splits[0], data.test_split or default_splits[1])
    for key, split in zip(("data.train_split", "data.test_split"), splits):
        if split is None:
            raise ConfigError(f"{key}: expected the name of a split in {path} (data.source {data.source!r}), got none")
    if data.source in _UNDESCRIBED and data.layout is None:
        raise ConfigError(f"data.layout: expected the layout of {path} (data.source {data.source!r}: its files do "
                          f"not say which joint order they hold), e.g. ntu25, kinect20, imigue22, coco17, or "
                          f"{{name, joints, bones, center}}")
    try:
        if data.source == "mgclr":
            train, test = (SkeletonDataset(path, split, strict=data.strict) for split in splits)
            info = train.info
        else:
            if data.source == "arrays":
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
            info = _describe(data, path, train, names)
    except (DatasetError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"data.path: {exc}") from None
    try:
        check_agrees("data.layout", _layout_or_name(data.layout), info, "layout")
        check_agrees("data.num_persons", data.num_persons, info, "persons", "M of data.npy")
        check_agrees("data.coord_channels", data.coord_channels, info, "coord_channels",
                     "channels " + ", ".join(info.channel_names))
        if data.axes is not None:
            configured = check_axes(data.axes, info.coord_channels, "data")
            if info.axes is None:  # a dataset written before meta.json said: the config says for it
                info = dataclasses.replace(info, axes=configured)
            check_agrees("data.axes", configured, info, "axes")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for split, dataset in zip(splits, (train, test)):
        _, C, _, V, M = dataset.shape
        if (C, V, M) != (info.channels, info.num_joints, info.persons):
            raise ConfigError(f"data: {path} ({split}) is (N, C, T, V, M) = {dataset.shape}; its description "
                              f"({info.source}) says C={info.channels}, V={info.num_joints} ({info.layout.name}), "
                              f"M={info.persons}")
    return _train_fraction(data, train), test, info


_SYNTHETIC = ("synthetic", "synthetic_realistic")


def _synthetic_splits(data: DataConfig) -> Tuple[Dataset, Dataset, DatasetInfo]:
    layout = layout_from_spec(data.layout or "imigue22", "data.layout")
    persons = data.num_persons or 1
    coord = 2 if data.source == "synthetic_realistic" and data.synthetic_form == "2d" else 3
    if data.coord_channels not in (None, coord):
        raise ConfigError(f"data.coord_channels: the {data.source} generator makes {coord}-D data here "
                          f"(data.synthetic_form: {data.synthetic_form}), the config says {data.coord_channels}")
    if data.axes is not None:
        raise ConfigError(f"data.axes: the synthetic generators declare their own axes ({data.source}); leave it out")
    train, test = _generate(data.source, layout.name, data.frames, persons, data.train_samples, data.test_samples,
                            data.synthetic_seed, data.synthetic_form, data.synthetic_subjects)
    names = ("x", "y", "z") if coord == 3 else ("x", "y", "confidence")
    what = ("the synthetic generator (data.source: synthetic)" if data.source == "synthetic" else
            f"the realistic synthetic generator (data.source: synthetic_realistic, {data.synthetic_form}, "
            f"{data.synthetic_subjects} subjects, split by subject)")
    info = DatasetInfo(layout=layout, channels=3, coord_channels=coord, persons=persons, frames=data.frames,
                       class_names=train.class_names, channel_names=names, fps=train.fps, source=what,
                       axes=CANONICAL if coord == 3 else CANONICAL_2D)
    parts = [ArrayDataset(part.x, part.lengths, part.labels, coord_channels=coord, axes=info.axes,
                          samples=None if part.subjects is None else {"subject": part.subjects.tolist()})
             for part in (train, test)]
    return _train_fraction(data, parts[0]), parts[1], info


@functools.lru_cache(maxsize=2)
def _generate(source: str, layout: str, frames: int, persons: int, train_samples: int, test_samples: int, seed: int,
              form: str, subjects: int):
    """The synthetic (train, test) pair, generated once per process: pretraining, the probes and the ridge
    floor of one run all load the same data (the realistic generator takes seconds). The arrays are made
    read-only so that a caller cannot change what the next one gets."""
    if source == "synthetic":
        pair = (generate(train_samples, layout=layout, frames=frames, num_persons=persons, seed=seed),
                generate(test_samples, layout=layout, frames=frames, num_persons=persons,
                         seed=derive_seed(seed, "synthetic_test")))
    else:
        pool = generate_realistic(train_samples + test_samples, layout=layout, form=form, frames=frames,
                                  seed=seed, subjects=subjects, num_persons=persons)
        pair = split_by_subject(pool, test_samples / (train_samples + test_samples), seed=seed)
    for part in pair:
        for array in (part.x, part.lengths, part.labels):
            array.setflags(write=False)
    return pair


def _train_fraction(data: DataConfig, train: Dataset) -> Dataset:
    """``data.train_fraction`` of each class of the training split (seed 0: the same subset every time)."""
    if data.train_fraction >= 1.0:
        return train
    return SubsetDataset(train, class_fraction(np.asarray(train.labels), data.train_fraction, seed=0))


def _layout_or_name(spec: Any):
    return spec if spec is None or isinstance(spec, str) else layout_from_spec(spec, "data.layout")


def _describe(data: DataConfig, path: Path, train: ArrayDataset, names) -> DatasetInfo:
    """The description of files that do not carry one: shape from the arrays, the rest from the config."""
    layout = layout_from_spec(data.layout, "data.layout")
    _, C, T, V, M = train.shape
    if V != layout.num_joints:
        raise ConfigError(f"data.layout: {layout.name!r} has {layout.num_joints} joints, {path} has V={V}")
    coord = data.coord_channels or getattr(train, "coord_channels", None) or min(C, 3)
    if coord > C:
        raise ConfigError(f"data.coord_channels: {coord} coordinate channels, but {path} has C={C}")
    return DatasetInfo(layout=layout, channels=C, coord_channels=coord, persons=M, frames=T, class_names=names,
                       source=f"{path} (data.source {data.source!r}) and the config",
                       axes=getattr(train, "axes", None))


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


def build_encoder(key: str, kind: str, args: Dict[str, Any], info: DatasetInfo) -> nn.Module:
    """The encoder ``kind`` (:data:`mgclr.models.ENCODERS`) for data described by ``info``: the layout, C, V and
    M come from there, every other argument from ``args``."""
    cls = ENCODERS[kind]
    data = {"layout": info.layout, "in_channels": info.channels, "num_persons": info.persons,
            "num_joints": info.num_joints}
    takes = inspect.signature(cls.__init__).parameters
    try:
        return cls(**{k: v for k, v in data.items() if k in takes}, **args)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}.args: {exc}") from None


def build_stream_encoder(key: str, stream: StreamConfig, info: DatasetInfo) -> StreamEncoder:
    """``input -> encoder`` of the stream config at ``key`` for data described by ``info`` (training, evaluation
    and the recognizer build it here alike)."""
    parents = bone_parents(info.num_joints, info.layout.bones)
    modality = InputModality(stream.input, parents, info.coord_channels)
    return StreamEncoder(modality, build_encoder(f"{key}.encoder", stream.encoder.kind, stream.encoder.args, info))


def build_stream(key: str, stream: StreamConfig, config: ExperimentConfig, info: DatasetInfo,
                 generator: Optional[torch.Generator] = None) -> MomentumMethod:
    """The stream at ``key``: its method (:data:`mgclr.models.METHODS`) over ``input -> encoder`` and a head."""
    if stream.queue_size is None:
        raise ConfigError(f"{key}.queue_size: chosen from the data by mgclr.train.experiment.resolve (the "
                          f"recipe), which has not run on this config")
    encoder = build_stream_encoder(key, stream, info)
    head = ProjectionHead(encoder.out_dim, stream.head_dim, stream.head_hidden)
    method = METHODS[stream.method.kind]
    try:
        return method(encoder, head, stream.queue_size, stream.momentum, stream.temperature,
                      infonce_impl=config.model.infonce_impl, generator=generator, **stream.method.args)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}.method.args: {exc}") from None


def build_model(config: ExperimentConfig, info: DatasetInfo) -> MultiStreamMoCo:
    """The streams of ``config.model`` for data described by ``info``, initialised from ``config.seed`` (the
    same on every rank)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    streams = {name: build_stream(f"model.streams.{name}", s, config, info, generator)
               for name, s in config.model.streams.items()}
    try:
        return MultiStreamMoCo(streams, [(*pair.streams, pair.weight) for pair in config.model.cross_stream])
    except ValueError as exc:
        raise ConfigError(f"model.{exc}") from None


def resolve_augment(key: str, spec: Dict[str, Any], info: DatasetInfo) -> Dict[str, Any]:
    """``spec`` with what the data decides filled in: ``coord_channels`` (the dataset's), and the layout of
    every ``flip`` (and of a preset that takes one). A value the spec gives must agree with the dataset: else
    a :class:`ConfigError` naming ``key``, the config's value and the dataset's."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{key}: expected a mapping (ops: [...] or preset: NAME), got {spec!r}")
    spec = dict(spec)
    try:
        check_agrees(f"{key}.coord_channels", spec.get("coord_channels"), info, "coord_channels",
                     "its channels are " + ", ".join(info.channel_names))
        spec["coord_channels"] = info.coord_channels
        if "preset" in spec:
            preset = PRESETS.get(spec["preset"])
            if preset is not None and "layout" in inspect.signature(preset).parameters:
                spec["layout"] = _flip_layout(f"{key}.layout", spec.get("layout"), info)
        elif isinstance(spec.get("ops"), list):
            spec["ops"] = [_resolve_op(f"{key}.ops[{i}]", op, info) for i, op in enumerate(spec["ops"])]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return spec


def _resolve_op(key: str, op: Any, info: DatasetInfo) -> Any:
    if not isinstance(op, dict):
        return op  # pipeline_from_config names the bad entry
    if isinstance(op.get("one_of"), list):
        return {**op, "one_of": [_resolve_op(f"{key}.one_of[{i}]", m, info) for i, m in enumerate(op["one_of"])]}
    if op.get("name") == "flip":
        return {**op, "layout": _flip_layout(f"{key}.layout", op.get("layout"), info)}
    return op


def _flip_layout(key: str, given: Any, info: DatasetInfo):
    if given is not None:
        check_agrees(key, _layout_or_name(given), info, "layout", "the left/right joints a flip swaps")
    return info.layout


def build_pipeline(key: str, spec: Dict[str, Any], info: DatasetInfo, two_views: bool = True) -> Pipeline:
    """The pipeline of ``spec`` (:func:`~mgclr.augment.pipeline_from_config`) for data described by ``info``
    (:func:`resolve_augment`)."""
    if _holds_auto(spec):
        raise ConfigError(f"{key}: out_frames auto is chosen from the data by mgclr.train.experiment.resolve (the "
                          f"recipe), which has not run on this config")
    spec = resolve_augment(key, spec, info)
    spec.setdefault("two_views", two_views)
    try:
        pipeline = pipeline_from_config(spec)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from None
    lateral = lateral_channel(info.axes)
    if lateral not in (None, 0) and any(isinstance(op, Flip) and op.mirror_x for op in pipeline.modules()):
        raise ConfigError(f"{key}: flip with mirror_x negates x as the left-right axis, but the dataset "
                          f"({info.source}) says the person's left is {info.axes['left']}")
    return pipeline


def _holds_auto(spec: Any) -> bool:
    if isinstance(spec, dict):
        return any((k == "out_frames" and v == "auto") or _holds_auto(v) for k, v in spec.items())
    return isinstance(spec, list) and any(_holds_auto(v) for v in spec)


# The key of the experiment's shared pretraining pipeline in build_pretrain_pipelines (the others are keyed by
# the config key they come from: model.streams.NAME.augment, model.streams.NAME.method.views.VIEW).
SHARED_AUGMENT = "augment"


def _own_augment(name: str) -> str:
    return f"model.streams.{name}.augment"


def _view_augment(name: str, view: str) -> str:
    return f"model.streams.{name}.method.views.{view}"


def build_pretrain_pipelines(config: ExperimentConfig, info: DatasetInfo) -> Dict[str, Pipeline]:
    """Every pipeline a pretraining step calls, keyed by the config key it comes from: ``"augment"`` (two views,
    shared by the streams without an ``augment`` of their own: one fused call serves them all),
    ``"model.streams.NAME.augment"`` (a stream's own two views) and ``"model.streams.NAME.method.views.VIEW"``
    (one view a method asks for besides the pair, e.g. AimCLR's extreme view). Streams that share their pair
    share an extra view of one augmentation too (one pipeline object, called once); a stream with views of its
    own has its own extra views. :func:`stream_feeds` says which pipeline feeds which stream."""
    pipes: Dict[str, Pipeline] = {}
    if any(s.augment is None for s in config.model.streams.values()):
        pipes[SHARED_AUGMENT] = _pipeline_of_views(SHARED_AUGMENT, config.augment, info, 2)
    for name, stream in config.model.streams.items():
        if stream.augment is not None:
            pipes[_own_augment(name)] = _pipeline_of_views(_own_augment(name), stream.augment, info, 2)
    made: Dict[Tuple[str, str], Pipeline] = {}
    for name, stream in config.model.streams.items():
        pair = SHARED_AUGMENT if stream.augment is None else _own_augment(name)
        for view, default in METHODS[stream.method.kind].extra_views.items():
            key = _view_augment(name, view)
            spec = resolve_augment(key, dict(stream.method.views.get(view, default)), info)
            shared_with = (pair, json.dumps(spec, sort_keys=True, default=str))
            if shared_with not in made:
                made[shared_with] = _pipeline_of_views(key, spec, info, 1)
            pipes[key] = made[shared_with]
    return pipes


def _pipeline_of_views(key: str, spec: Dict[str, Any], info: DatasetInfo, views: int) -> Pipeline:
    two = views == 2
    if isinstance(spec, dict) and spec.get("two_views", two) is not two:
        what = "the pair of views a stream trains on (query and key)" if two else "one view (a method's extra view)"
        raise ConfigError(f"{key}.two_views: this augmentation makes {what}; leave two_views out, got "
                          f"{spec['two_views']!r}")
    return build_pipeline(key, spec, info, two_views=two)


def stream_feeds(streams: Mapping[str, Any],
                 pipelines: Mapping[str, Pipeline]) -> Dict[str, Dict[str, Tuple[str, int]]]:
    """``{stream: {view: (pipeline key, output index)}}``: the pair from the stream's own pipeline, else the shared
    one; each extra view of its method from its own single-view pipeline."""
    feeds = {}
    for name, stream in streams.items():
        pair = _own_augment(name) if _own_augment(name) in pipelines else SHARED_AUGMENT
        feed = {"query": (pair, 0), "key": (pair, 1)}
        for view in getattr(stream, "extra_views", {}):
            feed[view] = (_view_augment(name, view), 0)
        feeds[name] = feed
    return feeds


def pipeline_seed(seed: int, key: str) -> int:
    """The augmentation seed of pipeline ``key`` in a step of seed ``seed``: the shared pipeline takes the step's
    seed, every other pipeline one of its own, so that two pipelines with the same ops (say each stream's own
    ``{preset: skeletonclr}``) draw different views, as each stream training in a run of its own would."""
    if key == SHARED_AUGMENT:
        return seed
    return derive_seed(seed, "pipeline", key)


def make_views(pipelines: Mapping[str, Pipeline], streams: Optional[Mapping[str, Any]], x: torch.Tensor,
               lengths: torch.Tensor, seed: int, feeds: Optional[Mapping[str, Mapping[str, Tuple[str, int]]]] = None
               ) -> Dict[str, Dict[str, View]]:
    """Every stream's views of the batch ``x`` ``{stream: {view: View}}``: each distinct pipeline called once
    (seeded by :func:`pipeline_seed`), on the pipelines' device, lengths trusted (checked when the data was
    read). ``feeds``: :func:`stream_feeds` computed beforehand (then ``streams`` is not read: a DataLoader
    worker gets the plain mapping, not the model)."""
    feeds = stream_feeds(streams, pipelines) if feeds is None else feeds
    made: Dict[int, Tuple[View, ...]] = {}
    for key, pipe in pipelines.items():
        if id(pipe) in made:
            continue
        out, params = pipe(x, lengths, seed=pipeline_seed(seed, key), return_params=True, check_lengths=False)
        out = tuple(out) if pipe.two_views else (out,)
        made[id(pipe)] = tuple(View(v, params.lengths[i]) for i, v in enumerate(out))
    return {name: {view: made[id(pipelines[key])][index] for view, (key, index) in feed.items()}
            for name, feed in feeds.items()}


def learning_rate(optim: OptimConfig, epochs: int, epoch: float) -> float:
    """The schedule at a fractional epoch: linear warm-up, then step decay or cosine."""
    warmup = optim.warmup_epochs or 0.0
    warm = 1.0 if warmup <= 0 else min(1.0, (epoch + 1e-9) / warmup)
    if optim.schedule == "cosine":
        progress = min(1.0, max(0.0, (epoch - warmup) / max(epochs - warmup, 1e-9)))
        decay = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        decay = optim.gamma ** sum(epoch >= m for m in optim.milestones)
    return optim.lr * warm * decay


def sgd(parameters, optim: OptimConfig) -> torch.optim.SGD:
    return torch.optim.SGD(parameters, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay,
                           nesterov=optim.nesterov and optim.momentum > 0)
