"""A pretraining recipe that scales with the data: what a config leaves out (``auto``), chosen from the training
split's size and sequence lengths, with the reason said (issue 17; the measurements behind each rule are in
``benchmarks/RESULTS.md``, "When pretraining helps").

* **batch size** (``data.batch_size`` left out): 64, or for fewer than 192 training sequences the largest power
  of two <= N / 3 (at least 3 steps per epoch; at least 8).
* **queue size** (``model.streams.NAME.queue_size`` left out): the largest power of two <= N / 4 (N training
  sequences), within [16, 16384]. A queue longer than about N holds an older key of every query's own sequence
  -- a false negative in every row of the loss -- and one near N holds keys of the query's few neighbours of
  the same class in most batches; N / 4 keeps both rare.
* **steps** (``pretrain.epochs`` and ``pretrain.steps`` left out): 100 epochs, at least 1,500 optimiser steps (a
  small dataset has too few steps per epoch for 100 epochs to train anything: on UTKinect and a quarter of
  NW-UCLA the gain over random init grew from 300 to 600 to 1,500 steps).
* **frames per view** (``out_frames: auto`` in an augmentation, the default pipeline's): the multiple of 8
  nearest the median valid length, within [16, 64] -- views of about the length of the data, so that a crop
  keeps most of a short sequence and a long one is not cut to a fraction of a second.
* **warm-up** (``pretrain.optim.warmup_epochs`` left out): 5 % of the steps.
* **kNN's k** (``knn.k`` left out: [1, 20]; ``pretrain.knn_k``, the monitor's, left out: 20): 20 becomes N when
  the training split holds fewer sequences (a k given beyond N is refused by name: there are not that many
  neighbours).

When the kNN monitor finds a stream not helped by pretraining, :func:`not_helping_advice` says what to try in the
order of those measurements (queue, steps, rotation strength, the sequence encoder, temperature), naming only
what the config does not already do.

Every value a config gives is kept (the paper's configs give all of them). :func:`resolve_recipe` returns the
config with every ``auto`` replaced and one line per choice; ``mgclr pretrain`` prints them, and the saved
``config.yaml`` holds the values chosen.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any, Dict, List, Tuple

import numpy as np

from ..ops.transforms import ViewPerturbation
from .config import ConfigError, ExperimentConfig

__all__ = ["AUTO", "not_helping_advice", "recipe_choices", "resolve_recipe"]

AUTO = "auto"
MIN_STEPS = 1500
MIN_QUEUE, MAX_QUEUE = 16, 16384
MIN_FRAMES, MAX_FRAMES = 16, 64
MIN_BATCH, MAX_BATCH = 8, 64
KNN_K = 20


def _median_length(train_set) -> int:
    lengths = getattr(train_set, "lengths", None)
    if lengths is None:
        lengths = [int(train_set[i][1]) for i in range(len(train_set))]
    return int(np.median(np.asarray(lengths))) if len(lengths) else MIN_FRAMES


def auto_queue(n: int) -> int:
    return int(min(MAX_QUEUE, max(MIN_QUEUE, 2 ** math.floor(math.log2(max(n / 4, 1))))))


def auto_batch(n: int) -> int:
    return int(min(MAX_BATCH, max(MIN_BATCH, 2 ** math.floor(math.log2(max(n / 3, 1))))))


def auto_frames(median: int) -> int:
    return int(min(MAX_FRAMES, max(MIN_FRAMES, 8 * round(median / 8))))


def _replace_auto(spec: Any, frames: int) -> Tuple[Any, bool]:
    """``spec`` with every ``out_frames: auto`` set to ``frames`` (and whether there was one)."""
    if isinstance(spec, dict):
        found = False
        out = {}
        for key, value in spec.items():
            if key == "out_frames" and value == AUTO:
                out[key], found = frames, True
            else:
                out[key], inner = _replace_auto(value, frames)
                found = found or inner
        return out, found
    if isinstance(spec, list):
        items = [_replace_auto(v, frames) for v in spec]
        return [v for v, _ in items], any(f for _, f in items)
    return spec, False


def resolve_recipe(config: ExperimentConfig, train_set) -> Tuple[ExperimentConfig, List[str]]:
    """``config`` with its ``auto`` values chosen for ``train_set`` (module docstring), and the reasons."""
    resolved, notes, _ = recipe_choices(config, train_set)
    return resolved, notes


def recipe_choices(config: ExperimentConfig, train_set) -> Tuple[ExperimentConfig, List[str], Dict[str, str]]:
    """:func:`resolve_recipe`, and the provenance of every value it filled: ``{dotted key: why}`` (each value
    the config left out, also those it fills without a note, such as kNN's k on a large split)."""
    n = len(train_set)
    notes: List[str] = []
    why: Dict[str, str] = {}
    data = config.data
    if data.batch_size is None:
        data = dataclasses.replace(data, batch_size=auto_batch(n))
        why["data.batch_size"] = (f"64, or the largest power of two <= N / 3 for N = {n} training sequences, at "
                                  f"least {MIN_BATCH}")
        notes.append(f"data.batch_size = {data.batch_size}: 64, or the largest power of two <= N / 3 (N = {n} "
                     f"training sequences: at least 3 steps per epoch)")
    config = dataclasses.replace(config, data=data)
    batch = data.batch_size
    if n < batch:
        raise ConfigError(f"data.batch_size: {batch}, but the training split holds {n} sequences (a batch must fit)")
    streams: Dict[str, Any] = {}
    for name, stream in config.model.streams.items():
        if stream.queue_size is None:
            k = auto_queue(n)
            streams[name] = dataclasses.replace(stream, queue_size=k)
            why[f"model.streams.{name}.queue_size"] = (f"the largest power of two <= N / 4 for N = {n}, within "
                                                       f"[{MIN_QUEUE}, {MAX_QUEUE}]")
            notes.append(f"model.streams.{name}.queue_size = {k}: the largest power of two <= N / 4 for N = {n} "
                         f"training sequences (a longer queue holds older keys of each query's own sequence)")
        else:
            streams[name] = stream
    model = dataclasses.replace(config.model, streams=streams)
    pretrain = config.pretrain
    per_epoch = n // batch
    if pretrain.steps is not None and pretrain.epochs is not None:
        raise ConfigError(f"pretrain.steps, pretrain.epochs: give one ({pretrain.steps} steps, {pretrain.epochs} "
                          f"epochs)")
    if pretrain.epochs is None:
        if pretrain.steps is not None:
            epochs = max(1, math.ceil(pretrain.steps / per_epoch))
            why["pretrain.epochs"] = f"pretrain.steps {pretrain.steps} at {per_epoch} steps per epoch"
            notes.append(f"pretrain.epochs = {epochs}: pretrain.steps {pretrain.steps} at {per_epoch} steps per epoch "
                         f"({n} sequences, batch {batch})")
        else:
            epochs = max(100, math.ceil(MIN_STEPS / per_epoch))
            why["pretrain.epochs"] = f"100 epochs, at least {MIN_STEPS} steps ({per_epoch} per epoch)"
            notes.append(f"pretrain.epochs = {epochs} ({epochs * per_epoch} steps): 100 epochs, at least {MIN_STEPS} "
                         f"steps ({per_epoch} per epoch: {n} sequences, batch {batch})")
        pretrain = dataclasses.replace(pretrain, epochs=epochs, steps=None)
    if pretrain.knn_k is None:
        pretrain = dataclasses.replace(pretrain, knn_k=min(KNN_K, n))
        why["pretrain.knn_k"] = f"{KNN_K}, or N when fewer (N = {n})"
        if n < KNN_K and pretrain.knn_every:
            notes.append(f"pretrain.knn_k = {n}: {KNN_K}, but the training split holds {n} sequences (the monitor's "
                         f"neighbours)")
    knn = config.knn
    if knn.k is None:
        knn = dataclasses.replace(knn, k=sorted({1, min(KNN_K, n)}))
        why["knn.k"] = f"[1, {KNN_K}], {KNN_K} cut to N when fewer (N = {n})"
        if n < KNN_K:
            notes.append(f"knn.k = {knn.k}: [1, {KNN_K}], but the training split holds {n} sequences")
    if pretrain.optim.warmup_epochs is None:
        warm = round(0.05 * pretrain.epochs, 3)
        pretrain = dataclasses.replace(pretrain, optim=dataclasses.replace(pretrain.optim, warmup_epochs=warm))
        why["pretrain.optim.warmup_epochs"] = f"5 % of the {pretrain.epochs} epochs"
        notes.append(f"pretrain.optim.warmup_epochs = {warm:g}: 5 % of the {pretrain.epochs} epochs")
    median = _median_length(train_set)
    frames = auto_frames(median)
    sections = {}
    used = []
    for key in ("augment", "linear.augment", "linear.test_augment", "finetune.augment", "finetune.test_augment"):
        section, _, field = key.partition(".")
        owner = config if not field else getattr(config, section)
        spec = getattr(owner, field or section)
        new, found = _replace_auto(spec, frames)
        if found:
            sections[key] = new
            used.append(key)
    for name, stream in model.streams.items():
        new, found = _replace_auto(stream.augment, frames)
        if found:
            stream = model.streams[name] = dataclasses.replace(stream, augment=new)
            used.append(f"model.streams.{name}.augment")
        views, found = _replace_auto(stream.method.views, frames)
        if found:
            model.streams[name] = dataclasses.replace(stream, method=dataclasses.replace(stream.method, views=views))
            used.append(f"model.streams.{name}.method.views")
    if used:
        for key in used:
            why[key] = (f"out_frames auto = {frames}, the multiple of 8 nearest the median length {median} of the "
                        f"training sequences")
        notes.append(f"out_frames = {frames} in {', '.join(used)}: the multiple of 8 nearest the median length "
                     f"{median} of the training sequences, within [{MIN_FRAMES}, {MAX_FRAMES}]")
    linear, finetune = config.linear, config.finetune
    for key, value in sections.items():
        if key.startswith("linear."):
            linear = dataclasses.replace(linear, **{key.split(".")[1]: value})
        elif key.startswith("finetune."):
            finetune = dataclasses.replace(finetune, **{key.split(".")[1]: value})
    resolved = dataclasses.replace(config, model=model, pretrain=pretrain, linear=linear, finetune=finetune,
                                   knn=knn, augment=sections.get("augment", config.augment))
    return resolved, notes, why


# What to try when pretraining does not help a stream, in the order of the gains measured for each change
# (benchmarks/RESULTS.md, "When pretraining helps" and "Released pieces or mgclr's"; fused gain over random
# init, plain probe, mean of two seeds): a queue longer than the data is a false negative in every row and
# comes first; then the steps, the augmentation strength, the sequence encoder and the temperature.
STRONG_ROTATION = 2.0  # view_perturbation's a_main (rad) that small_cpu.yaml uses
_DEFAULT_A_MAIN = inspect.signature(ViewPerturbation).parameters["a_main"].default


def _view_angle(spec: Any) -> float:
    """The largest view_perturbation main angle in an augmentation spec (0 when it has none)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("ops"), list):
        return STRONG_ROTATION  # a preset: its strength is its own, nothing to say
    angles = [0.0]
    for op in spec["ops"]:
        choices = op.get("one_of") if isinstance(op, dict) and isinstance(op.get("one_of"), list) else [op]
        for choice in choices:
            if isinstance(choice, dict) and choice.get("name") == "view_perturbation":
                angles.append(float(choice.get("a_main", _DEFAULT_A_MAIN)))
    return max(angles)


def not_helping_advice(config: ExperimentConfig, stream: str, train_samples: int, run_steps: int) -> List[str]:
    """What to try for ``stream`` whose pretraining does not beat its random init, most effective first, each
    with the key to change and the gain it gave: only what this config does not already do."""
    s = config.model.streams[stream]
    advice = []
    if s.queue_size is not None and s.queue_size > train_samples:
        advice.append(f"a queue no larger than the training set (model.streams.{stream}.queue_size: {s.queue_size} > "
                      f"{train_samples} sequences: a longer queue holds each sample several times, its own positive "
                      f"among the negatives; the recipe's N / 4 is {auto_queue(train_samples)})")
    if run_steps < MIN_STEPS:
        advice.append(f"more optimiser steps (this run has {run_steps}; pretrain.epochs: the fused gain grew from "
                      f"+1.5 to +12.6 points on UTKinect and +7.2 to +14.7 on NW-UCLA-25 from 300 to 1,500 steps)")
    angle = _view_angle(s.augment if s.augment is not None else config.augment)
    if angle < STRONG_ROTATION:
        advice.append(f"stronger rotations (view_perturbation a_main {STRONG_ROTATION} rad, here {angle:g}: the fused "
                      f"gain went from +7.1 to +11.1 on UTKinect and +12.3 to +16.5 on NW-UCLA-25 from 1.0 to 2.0 rad)")
    encoder = s.encoder
    if encoder.kind == "bigru" and encoder.args.get("pooling", "mean") == "mean":
        advice.append(f"ISC's BIGRU as the sequence encoder (model.streams.{stream}.encoder.kind: isc_bigru: the "
                      f"stream's own gain went from -2.3 to +10.7 points on NW-UCLA-25, +0.5 to +4.0 on UTKinect)")
    if s.temperature < 0.2:
        advice.append(f"a higher temperature (model.streams.{stream}.temperature: 0.2, here {s.temperature:g}: "
                      f"+12.3 to +15.3 on NW-UCLA-25, no change on UTKinect: within the seeds' spread)")
    return advice
