"""Experiment configs: dataclasses, read from YAML with every key checked.

One file describes an experiment; each command reads the sections it needs::

    name: imigue_dual          output: runs/imigue_dual        seed: 0        device: auto
    data:      where the skeletons come from, batch size, workers
    augment:   the pretraining pipeline (mgclr.augment.pipeline_from_config; two views are always made)
    model:     the streams, by name (input modality, encoder, head, queue, momentum, temperature, own augment,
               method: moco, aimclr or crossclr with its options),
               cross-stream pairings
    pretrain:  epochs, optimiser, schedule, AMP, torch.compile, clipping, kNN monitor, checkpoints
    linear, knn, finetune, fuse:  the evaluation protocols (fuse: which streams' scores to combine, weights, runs)
    sweep:     the augmentation study (mgclr sweep)

Unknown keys and bad values are errors that name the key (``model.streams.joint.encoder.kind: expected one of
('agcn', 'stgcn', 'bigru', 'isc_bigru'), got 'gcn'``); a misplaced or misspelt key names the nearest one
(``pretrain.lr: unknown key; did you mean pretrain.optim.lr?``). Every number's range is declared on its field
(:func:`bounded`); encoder ``args`` are checked against the encoder's signature. ``overrides`` (the CLI's
``--set key=value``) patch the mapping before it is checked; values are YAML scalars (``--set pretrain.epochs=5
--set pretrain.amp=false``).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from .._validation import did_you_mean
from ..augment.config import check_spec
from ..data.axes import check_axes
from ..models import ENCODERS, INPUT_MODALITIES, METHODS
from ..skeleton import layout_from_spec

__all__ = ["ConfigError", "CrossStreamConfig", "DataConfig", "EncoderConfig", "ExperimentConfig", "FinetuneConfig",
           "FuseConfig", "KnnConfig", "LinearConfig", "MethodConfig", "ModelConfig", "OptimConfig", "PretrainConfig",
           "StreamConfig", "SweepConfig", "apply_overrides", "bounded", "config_to_dict", "config_to_yaml",
           "load_config", "parse_config"]


class ConfigError(ValueError):
    """A config key is unknown or its value is wrong; the message starts with the key's dotted path."""


_INF = math.inf
_MAX_SEED = 2**32 - 1  # derived seeds (seed x 104,729 + ...) stay inside Philox's and torch's 63 bits


def bounded(default: Any = dataclasses.MISSING, *, gt: Optional[float] = None, ge: Optional[float] = None,
            lt: Optional[float] = None, le: Optional[float] = None, default_factory: Any = dataclasses.MISSING):
    """A numeric field with its range beside it (``gt`` / ``ge`` below, ``lt`` / ``le`` above); for a list or
    a mapping of numbers the range holds for every item. Floats must also be finite (NaN and inf never pass)."""
    low, low_open = (gt, True) if gt is not None else (ge if ge is not None else -_INF, False)
    high, high_open = (lt, True) if lt is not None else (le if le is not None else _INF, False)
    kwargs = {"default": default} if default_factory is dataclasses.MISSING else {"default_factory": default_factory}
    return field(metadata={"range": (low, high, low_open, high_open)}, **kwargs)


def augment_spec(default: Any = None, *, default_factory: Any = dataclasses.MISSING):
    """A field holding an augmentation spec (``ops: [...]`` or ``preset: NAME``): its preset, ops and every op's
    arguments are checked by name when the config is read (:func:`mgclr.augment.config.check_spec`), before
    any data loads; the values are checked when the pipeline is built for the data."""
    kwargs = {"default": default} if default_factory is dataclasses.MISSING else {"default_factory": default_factory}
    return field(metadata={"augment": True}, **kwargs)


def _check_augment(key: str, spec: Any) -> None:
    if spec is None:
        return
    try:
        check_spec(spec, where=key)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


# ------------------------------------------------------------------------------------------------ sections


@dataclass
class DataConfig:
    """Where the skeletons come from. ``source``:

    * ``synthetic``: :func:`mgclr.data.generate`, procedural micro-gestures that differ mainly by where the
      hand goes (a ridge classifier on the joints reaches 96 %; ``train_samples``, ``test_samples``,
      ``synthetic_seed``).
    * ``synthetic_realistic``: :func:`mgclr.data.generate_realistic`, micro-gestures grounded in iMiGUE's
      measured statistics (clip lengths, idle motion, subtle class pairs, subjects), the demo's data:
      ``train_samples + test_samples`` clips by ``synthetic_subjects`` people, split by subject (the
      cross-subject protocol: test subjects are unseen; the split holds whole subjects, so its sizes are
      near, not at, the two numbers); ``synthetic_form`` ``3d`` (x, y, z) or ``2d`` (x, y, confidence, with
      detection gaps, like iMiGUE's OpenPose data).
    * ``mgclr``: ``path`` is an mgclr dataset folder (``mgclr prepare``); ``train_split`` / ``test_split`` are
      ``"benchmark/part"`` (``"xview/train"``), or a part alone when the dataset has one benchmark.
    * ``arrays``: ``path`` is a folder with ``{split}_x.npy``, ``{split}_lengths.npy``, ``{split}_labels.npy``
      (and optionally ``class_names.txt``).
    * ``skeletonclr``: ``path`` is a folder of ISC / SkeletonCLR / AimCLR files ``{split}_data_joint.npy``,
      ``{split}_label.pkl``, ``{split}_num_frame.npy`` (splits default to ``train`` and ``val``).
    * ``pyskl``: ``path`` is a pyskl annotation pickle; the splits are names in its ``split`` table (required).

    Files are read memory-mapped where the format allows it. **The dataset describes itself**
    (:class:`~mgclr.data.info.DatasetInfo`): an mgclr folder's ``meta.json`` gives the layout, C, V, M,
    ``coord_channels``, the channel names, fps and classes, and training takes them from there. ``layout``,
    ``num_persons`` and ``coord_channels`` may be left out (null); given, they must agree with the dataset
    (an error names both values). For sources that cannot say (``arrays``, ``skeletonclr``, ``pyskl``),
    ``layout`` is required and ``coord_channels`` defaults to 3 (pyskl's 2-D keypoints with scores: 2).
    ``layout`` is a layout name (``mgclr layouts``) or a custom layout ``{name, joints, bones, center[,
    left_right]}`` (bones and centre by joint name or index). ``synthetic`` defaults to ``imigue22``, one
    person; ``frames`` is the length the synthetic data is generated at. ``axes`` (``{up, left, handedness}``,
    :mod:`mgclr.data.axes`) says which way the coordinates point, like a dataset's ``meta.json``: for
    ``arrays`` and ``skeletonclr`` files (pyskl's reader knows its own: image axes), else it must agree.
    """

    source: str = "synthetic"
    path: Optional[str] = None
    train_split: Optional[str] = None
    test_split: Optional[str] = None
    layout: Any = None  # a name, a custom layout mapping, or None (the dataset's)
    axes: Optional[Dict[str, Any]] = None  # {up, left, handedness}, or None (the dataset's, or unknown)
    frames: int = bounded(48, gt=0)
    num_persons: Optional[int] = bounded(None, gt=0)
    coord_channels: Optional[int] = bounded(None, ge=2, le=3)
    train_samples: int = bounded(1200, gt=0)
    test_samples: int = bounded(480, gt=0)
    synthetic_seed: int = bounded(0, ge=0, le=_MAX_SEED)
    synthetic_form: str = "3d"
    synthetic_subjects: int = bounded(24, ge=2, le=10_000)
    # None: 64, or the largest power of two <= N / 3 for a training split of fewer than 192 (mgclr.train.recipe)
    batch_size: Optional[int] = bounded(None, gt=0)
    num_workers: int = bounded(0, ge=0)
    # The augmented views made in the DataLoader workers, overlapping the step (mgclr.train.loader); None: on
    # when training on the CPU with workers, off on CUDA (the views are made on the device there)
    augment_in_workers: Optional[bool] = None
    strict: bool = False  # mgclr folders: a sample in both parts of a benchmark is an error, not a warning
    # Keep only this fraction of each class of the training split (the same samples every time: seed 0), for
    # every protocol: a smaller dataset from a larger one (how pretraining fares with little data).
    train_fraction: float = bounded(1.0, gt=0, le=1)

    CHOICES = {"source": ("synthetic", "synthetic_realistic", "mgclr", "arrays", "skeletonclr", "pyskl"),
               "synthetic_form": ("3d", "2d")}


@dataclass
class EncoderConfig:
    """``kind``: ``agcn``, ``stgcn``, ``bigru`` or ``isc_bigru``; ``args``: that class's keyword arguments
    (mgclr.models), checked against its signature (the data sets layout, in_channels, num_persons and num_joints)."""

    kind: str = "agcn"
    args: Dict[str, Any] = field(default_factory=dict)

    CHOICES = {"kind": tuple(ENCODERS)}


@dataclass
class MethodConfig:
    """A stream's contrastive method (:data:`mgclr.models.METHODS`): ``kind`` ``moco`` (the paper, ISC,
    SkeletonCLR), ``aimclr`` or ``crossclr``; ``args``: the method's own options, checked against its signature
    (aimclr: ``nnm_epoch``, ``topk``, ``drop``; crossclr: ``partners``, ``cross_epoch``, ``topk``, ``context``);
    ``views``: the augmentation of each extra view the method asks for, replacing its default (aimclr:
    ``extreme``, default ``{preset: aimclr_extreme}``). ``method: aimclr`` is short for ``{kind: aimclr}``.
    Schedules count 0-based epochs: AimCLR's ``mining_epoch: 150`` is ``nnm_epoch: 151``, CrosSCLR's
    ``cross_epoch: 150`` is ``cross_epoch: 151`` (both switch on when ``epoch > 150``)."""

    kind: str = "moco"
    args: Dict[str, Any] = field(default_factory=dict)
    views: Dict[str, Any] = field(default_factory=dict)

    CHOICES = {"kind": tuple(METHODS)}


@dataclass
class StreamConfig:
    """One contrastive stream: ``input`` (the modality the encoder sees: ``joint``, ``bone``, ``motion``,
    ``bone_motion``; :mod:`mgclr.models.modality`), the encoder, the projection head (``head_hidden`` None: a
    linear head; an int: Linear-ReLU-Linear through that width), the queue of negatives, the key encoder's
    momentum, the InfoNCE temperature, and optionally the stream's own pretraining ``augment`` (else the
    experiment's, shared: one fused two-view call serves every stream without its own), and its ``method``
(:class:`MethodConfig`, MoCo by default). A ``queue_size`` left
    out is chosen from the data (:mod:`mgclr.train.recipe`: the largest power of two <= N / 4)."""

    input: str = "joint"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head_dim: int = bounded(128, gt=0)
    head_hidden: Optional[int] = bounded(None, gt=0)
    queue_size: Optional[int] = bounded(None, gt=0)  # None: chosen from the training set's size (recipe)
    momentum: float = bounded(0.999, ge=0, le=1)
    temperature: float = bounded(0.07, gt=0)
    augment: Optional[Dict[str, Any]] = augment_spec()
    method: MethodConfig = field(default_factory=MethodConfig)

    CHOICES = {"input": INPUT_MODALITIES}


@dataclass
class CrossStreamConfig:
    """ISC's cross-stream term between two named streams (heads of one size): each one's queries against the
    other's keys and queue, added to the loss times ``weight``."""

    streams: List[str] = field(default_factory=list)
    weight: float = bounded(1.0, ge=0)


def _paper_streams() -> Dict[str, StreamConfig]:
    """The paper's two streams: 2s-AGCN on the joints, ISC's BIGRU (3 x 1024) on the sequence."""
    sequence = EncoderConfig("isc_bigru", {"hidden": 1024, "layers": 3})
    return {"joint": StreamConfig(), "sequence": StreamConfig(encoder=sequence)}


@dataclass
class ModelConfig:
    """``streams``: an ordered mapping name -> :class:`StreamConfig` (any number >= 1; a name is an identifier:
    it names the stream in checkpoints, tables, ``fuse.combinations`` and ``--set model.streams.NAME...``; a
    ``null`` entry leaves that stream out). The default is the paper's two: ``joint`` (AGCN on the joint
    coordinates) and ``sequence`` (a 3-layer Bi-GRU). ``cross_stream``: ISC's cross-stream pairings."""

    streams: Dict[str, StreamConfig] = field(default_factory=_paper_streams)
    cross_stream: List[CrossStreamConfig] = field(default_factory=list)
    infonce_impl: str = "auto"

    CHOICES = {"infonce_impl": ("auto", "reference", "chunked", "fused", "attention")}


@dataclass
class OptimConfig:
    """SGD (Nesterov by default, as the paper); ``schedule``: ``step`` (x ``gamma`` at ``milestones``
    epochs) or ``cosine``, after ``warmup_epochs`` of linear warm-up (fractions allowed)."""

    lr: float = bounded(0.01, gt=0)
    momentum: float = bounded(0.9, ge=0, le=1)
    nesterov: bool = True
    weight_decay: float = bounded(1e-4, ge=0)
    schedule: str = "step"
    milestones: List[int] = bounded(ge=0, default_factory=list)
    gamma: float = bounded(0.1, gt=0, le=1)
    # None: 5 % of the steps for pretraining (mgclr.train.recipe), none for the linear and finetuning protocols
    warmup_epochs: Optional[float] = bounded(None, ge=0)

    CHOICES = {"schedule": ("step", "cosine")}


@dataclass
class PretrainConfig:
    # Epochs, or optimiser steps (give one); neither: 100 epochs, at least 1,500 steps (mgclr.train.recipe)
    epochs: Optional[int] = bounded(None, gt=0)
    steps: Optional[int] = bounded(None, gt=0)
    optim: OptimConfig = field(default_factory=OptimConfig)
    amp: bool = False              # bf16 autocast of the encoders (where bf16 is native: mgclr info, cpu_bf16)
    compile: bool = False          # torch.compile the encoders
    grad_clip: Optional[float] = bounded(None, gt=0)  # the global gradient norm is clipped to this
    knn_every: int = bounded(0, ge=0)        # epochs between kNN monitor runs on the held-out split (0: off)
    knn_k: Optional[int] = bounded(None, gt=0)  # the monitor's k; left out: 20, or N when fewer (mgclr.train.recipe)
    checkpoint_every: int = bounded(1, gt=0)  # epochs between checkpoints (and one at the end)
    checkpoint_steps: int = bounded(0, ge=0)  # also every that many steps (0: off), for long epochs
    log_every: int = bounded(10, gt=0)        # steps between metric lines
    tensorboard: bool = True


# The linear protocols of the codebases the paper compares with, by name (``linear: {protocol: isc}``); keys
# given beside ``protocol`` override the protocol's.
LINEAR_PROTOCOLS: Dict[str, Dict[str, Any]] = {
    # the paper (section 5.1.2): lr 0.1, 100 epochs, x0.1 at 50 and 80, no augmentation
    "paper": {"epochs": 100, "batch_size": 64,
              "optim": {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "milestones": [50, 80]}},
    # ISC: 80 epochs, x0.1 at 50 and 70, batch 64; random crop [0.5, 1] for training and a 0.95 centre crop
    # for testing, both resized to 64 frames
    "isc": {"epochs": 80, "batch_size": 64,
            "optim": {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "milestones": [50, 70]},
            "augment": {"ops": [{"name": "crop_resize", "scale": [0.5, 1.0], "min_len": 1, "out_frames": 64}]},
            "test_augment": {"ops": [{"name": "crop_resize", "eval_ratio": 0.95, "min_len": 1, "out_frames": 64}]}},
    # SkeletonCLR / AimCLR: lr 3.0, 100 epochs, x0.1 at 80, batch 128
    "skeletonclr": {"epochs": 100, "batch_size": 128,
                    "optim": {"lr": 3.0, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "milestones": [80]}},
}


@dataclass
class LinearConfig:
    """Linear evaluation on frozen features (the paper: lr 0.1, 100 epochs, x0.1 at 50 and 80).
    ``protocol``: start from a named protocol of ``LINEAR_PROTOCOLS`` (paper, isc, skeletonclr)."""

    protocol: Optional[str] = None
    epochs: int = bounded(100, gt=0)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.1, nesterov=False, weight_decay=0.0,
                                                                   milestones=[50, 80]))
    batch_size: int = bounded(256, gt=0)
    augment: Optional[Dict[str, Any]] = augment_spec()  # None (or deterministic): features computed once and cached
    test_augment: Optional[Dict[str, Any]] = augment_spec()
    # A BatchNorm without affine parameters before the linear layer (MAE's linear probe): the probe no longer
    # depends on the scale of the features, which differs widely between pretrained and random encoders.
    batchnorm: bool = False


@dataclass
class KnnConfig:
    k: Optional[List[int]] = bounded(None, ge=1)  # left out: [1, 20], 20 cut to N on a smaller split (the recipe)
    temperature: float = bounded(0.1, gt=0)  # weights exp(cos / temperature) of the weighted vote (k > 1)


@dataclass
class FinetuneConfig:
    epochs: int = bounded(100, gt=0)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.1, nesterov=False, milestones=[50, 80]))
    label_fraction: float = bounded(1.0, gt=0, le=1)  # e.g. 0.01 / 0.1 for the semi-supervised protocol (per class)
    from_scratch: bool = False     # random initialisation: the supervised reference
    augment: Optional[Dict[str, Any]] = augment_spec()
    test_augment: Optional[Dict[str, Any]] = augment_spec()  # e.g. the evaluation centre crop (crop_resize eval_ratio)


@dataclass
class FuseConfig:
    """Score fusion (``mgclr fuse``; the paper's Tables 2 and 3): the linear classifiers' softmax scores of the
    streams, summed with weights.

    * ``combinations``: name -> the streams it fuses, a list (``"3s": [joint, bone, motion]``; weights from
      ``weights``) or a mapping stream -> weight (``{joint: 0.6, sequence: 0.4}``). Default: one combination of
      every stream, named ``a+b+...`` (none with a single stream).
    * ``weights``: stream -> weight for the list form (default 1 each: an equal-weight sum).
    * ``runs``: fuse streams of other run folders: stream name -> a run folder (its stream of that name) or
      ``{run: FOLDER, stream: NAME}``. Each is evaluated with its own checkpoint and its ``config.yaml``, on
      one shared test split (checked identical). Given, these are the streams of the table (this config's
      own run takes part only as a folder listed here).
    * the confusion matrix of every row and the t-SNE of every stream's test features (PNG).
    """

    combinations: Dict[str, Any] = field(default_factory=dict)
    weights: Dict[str, float] = bounded(ge=0, default_factory=dict)
    runs: Dict[str, Any] = field(default_factory=dict)
    tsne: bool = True
    confusion: bool = True
    tsne_samples: int = bounded(1000, gt=0)


@dataclass
class SweepConfig:
    """``mgclr sweep`` (the paper's Figures 9 and 10): one pretraining + linear evaluation per augmentation
    of ``augment`` (op names; each op takes its arguments from the entry of that name in the experiment's
    ``augment.ops``, else its defaults), and per pair of them with ``pairs``, beside the no-augmentation run.
    ``fixed``: op entries applied in every run, that one included (e.g. a deterministic resize to the
    pretraining length); ``epochs``: pretraining epochs per run (default ``pretrain.epochs``)."""

    augment: List[str] = field(default_factory=list)
    pairs: bool = False
    fixed: List[Dict[str, Any]] = field(default_factory=list)
    epochs: Optional[int] = bounded(None, gt=0)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    output: str = "runs/experiment"
    seed: int = bounded(0, ge=0, le=_MAX_SEED)
    device: str = "auto"           # auto: cuda when usable, else cpu
    data: DataConfig = field(default_factory=DataConfig)
    # out_frames auto: the multiple of 8 nearest the training sequences' median length (mgclr.train.recipe)
    augment: Dict[str, Any] = augment_spec(default_factory=lambda: {"preset": "paper_best", "out_frames": "auto"})
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    linear: LinearConfig = field(default_factory=LinearConfig)
    knn: KnnConfig = field(default_factory=KnnConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    fuse: FuseConfig = field(default_factory=FuseConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    # The --set items this config was loaded with (not a YAML key): a --set that changes a trained model's
    # shape is refused by name (mgclr.train.run.config_for_checkpoint).
    overrides: Tuple[str, ...] = field(default=(), repr=False, compare=False, metadata={"internal": True})


# ------------------------------------------------------------------------------------------- checking

_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _check_range(key: str, value: Any, bounds: Optional[Tuple[float, float, bool, bool]]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    if bounds is None:
        return
    low, high, low_open, high_open = bounds
    if (value <= low if low_open else value < low) or (value >= high if high_open else value > high):
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        if high == _INF:
            wanted = f"a value {'>' if low_open else '>='} {low:g}"
        elif low == -_INF:
            wanted = f"a value {'<' if high_open else '<='} {high:g}"
        else:
            wanted = f"a value in {left}{low:g}, {high:g}{right}"
        raise ConfigError(f"{key}: expected {wanted}, got {value!r}")


def _describe(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _convert(path: str, value: Any, tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(path, value, inner[0])
    if dataclasses.is_dataclass(tp):
        return _from_mapping(path, value, tp)
    if origin in (list, List, Sequence):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        return [_convert(f"{path}[{i}]", v, args[0] if args else Any) for i, v in enumerate(value)]
    if origin in (dict, Dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        inner = args[1] if len(args) == 2 else Any
        if inner is Any:
            return dict(value)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not _IDENTIFIER.fullmatch(k):
                raise ConfigError(f"{path}: expected names made of letters, digits and _ (not starting with a "
                                  f"digit), got {k!r}")
            if v is None and dataclasses.is_dataclass(inner):
                continue  # a null entry leaves it out (--set model.streams.sequence=null)
            out[k] = _convert(f"{path}.{k}", v, inner)
        return out
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string; it is a number to anyone else
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {_describe(tp)}")


def schema_keys(cls: type = None, prefix: str = "") -> List[str]:
    """Every dotted key of the config schema (a stream's keys as ``model.streams.NAME.key``)."""
    cls = cls or ExperimentConfig
    hints = typing.get_type_hints(cls)
    keys = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        key = f"{prefix}{f.name}"
        keys.append(key)
        tp = hints[f.name]
        inner = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_origin(tp) is Union else [tp]
        tp = inner[0]
        if dataclasses.is_dataclass(tp):
            keys += schema_keys(tp, key + ".")
        elif typing.get_origin(tp) in (dict, Dict) and dataclasses.is_dataclass(typing.get_args(tp)[1]):
            keys += schema_keys(typing.get_args(tp)[1], key + ".NAME.")
        elif typing.get_origin(tp) in (list, List) and typing.get_args(tp) and \
                dataclasses.is_dataclass(typing.get_args(tp)[0]):
            keys += schema_keys(typing.get_args(tp)[0], key + "[i].")
    return keys


def _generic(path: str) -> str:
    """``model.streams.joint.head_dim`` -> ``model.streams.NAME.head_dim``, ``model.cross_stream[0].x`` ->
    ``model.cross_stream[i].x`` (the form of :func:`schema_keys`)."""
    path = re.sub(r"\[\d+\]", "[i]", path)
    return re.sub(r"^model\.streams\.([^.]+)", "model.streams.NAME", path)


def nearest_key(path: str, name: str, local: Sequence[str]) -> Optional[str]:
    """The key a user most likely meant by ``path.name``: a close spelling among the section's own keys, else
    the same name elsewhere in the schema (the nearest such path), else a close spelling anywhere."""
    close = difflib.get_close_matches(name, list(local), n=1, cutoff=0.75)
    if close:
        return f"{path}.{close[0]}" if path else close[0]
    given = _generic(f"{path}.{name}" if path else name)
    keys = schema_keys()
    same_name = [k for k in keys if k.rsplit(".", 1)[-1] == name and k != given]
    if same_name:
        base = _generic(path)
        inside = [k for k in same_name if base and k.startswith(base + ".")]
        pool = inside or same_name
        best = max(pool, key=lambda k: difflib.SequenceMatcher(None, given, k).ratio())
        return _specific(best, path)
    close = difflib.get_close_matches(given, keys, n=1, cutoff=0.8)
    return _specific(close[0], path) if close else None


def _specific(key: str, path: str) -> str:
    """Put the stream name of ``path`` back into a generic key."""
    m = re.match(r"^model\.streams\.([^.]+)", path)
    return key.replace("model.streams.NAME", f"model.streams.{m.group(1)}", 1) if m else key


def _from_mapping(path: str, data: Any, cls: type):
    if data is None:
        data = {}
    if cls is MethodConfig and isinstance(data, str):
        data = {"kind": data}  # method: aimclr
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or cls.__name__}: expected a mapping, got {data!r}")
    if cls is ModelConfig:
        _refuse_old_streams(path, data)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    names = list(fields)
    unknown = [k for k in data if k not in fields]
    if unknown:
        where = f"{path}." if path else ""
        guess = nearest_key(path, str(unknown[0]), names)
        hint = f"did you mean {guess}? " if guess else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key; {hint}{path or 'the config'} takes {', '.join(names)}")
    kwargs = {}
    for name in names:
        if name not in data:
            continue
        key = f"{path}.{name}" if path else name
        value = _convert(key, data[name], hints[name])
        choices = getattr(cls, "CHOICES", {}).get(name)
        if choices and value not in choices:
            raise ConfigError(f"{key}: expected one of {choices}, got {value!r}")
        bounds = fields[name].metadata.get("range")
        if isinstance(value, list):
            items = [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            items = [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            items = [(key, value)]
        for item_key, item in items:
            _check_range(item_key, item, bounds)
        if fields[name].metadata.get("augment"):
            _check_augment(key, value)
        kwargs[name] = value
    config = cls(**kwargs)
    _check_section(path, config)
    return config


def _refuse_old_streams(path: str, data: Mapping[str, Any]) -> None:
    """mgclr before streams were data had ``model.spatial`` / ``model.temporal`` / ``model.cross_stream_weight``:
    an error that shows the same model in the new form."""
    old = [k for k in ("spatial", "temporal", "cross_stream_weight") if k in data]
    if not old:
        return
    streams = {name: (dict(data[name], input="joint") if isinstance(data[name], Mapping) else data[name])
               for name in ("spatial", "temporal") if name in data and data[name] is not None}
    new: Dict[str, Any] = {"streams": streams}
    weight = data.get("cross_stream_weight")
    if weight and len(streams) == 2:
        new["cross_stream"] = [{"streams": list(streams), "weight": weight}]
    text = yaml.safe_dump({"model": new}, sort_keys=False, default_flow_style=None).rstrip()
    where = f"{path}." if path else ""
    raise ConfigError(f"{where}{old[0]}: the streams are named entries of model.streams now (any number, each with its "
                      f"input modality); the same model in the new form:\n" + "\n".join("  " + line for line in
                                                                                       text.splitlines()))


def _check_section(path: str, config) -> None:
    where = f"{path}." if path else ""
    if isinstance(config, OptimConfig):
        if sorted(config.milestones) != config.milestones:
            raise ConfigError(f"{where}milestones: expected increasing epochs, got {config.milestones}")
    if isinstance(config, PretrainConfig) and config.steps is not None and config.epochs is not None:
        raise ConfigError(f"{where}steps, {where}epochs: give one, got {config.steps} steps and {config.epochs} epochs")
    if isinstance(config, KnnConfig) and config.k is not None and not config.k:
        raise ConfigError(f"{where}k: expected a non-empty list of integers >= 1, got {config.k}")
    if isinstance(config, DataConfig) and config.layout is not None:
        try:
            layout_from_spec(config.layout, f"{where}layout")
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
    if isinstance(config, DataConfig) and config.axes is not None:
        coords = config.coord_channels or (2 if config.axes.get("handedness") is None else 3)
        try:
            check_axes(config.axes, coords, where.rstrip(".") or "data")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if isinstance(config, EncoderConfig):
        _check_encoder_args(f"{where}args", config)
    if isinstance(config, MethodConfig):
        _check_method(where, config)
    if isinstance(config, ModelConfig):
        if not config.streams:
            raise ConfigError(f"{where}streams: expected at least one stream, got none")
        for name, stream in config.streams.items():
            _check_partners(f"{where}streams.{name}.method.args.partners", name, stream, config.streams)
        for i, pair in enumerate(config.cross_stream):
            key = f"{where}cross_stream[{i}].streams"
            if len(pair.streams) != 2 or pair.streams[0] == pair.streams[1]:
                raise ConfigError(f"{key}: expected two different stream names, got {pair.streams}")
            for name in pair.streams:
                if name not in config.streams:
                    raise ConfigError(f"{key}: no stream {name!r} in {where}streams ({', '.join(config.streams)})")
    if isinstance(config, FuseConfig):
        _check_fuse(where, config)
    if isinstance(config, ExperimentConfig) and not config.fuse.runs:
        for name, members in fusion_combinations(config.fuse, list(config.model.streams)).items():
            for stream in members:
                if stream not in config.model.streams:
                    raise ConfigError(f"fuse.combinations.{name}: no stream {stream!r} in model.streams "
                                      f"({', '.join(config.model.streams)})")
        for stream in config.fuse.weights:
            if stream not in config.model.streams:
                raise ConfigError(f"fuse.weights.{stream}: no such stream in model.streams "
                                  f"({', '.join(config.model.streams)})")


# Arguments of an encoder that the data decides (mgclr.train.build.build_encoder passes them).
DATA_ARGS = ("layout", "in_channels", "num_persons", "num_joints")


def _check_encoder_args(key: str, config: EncoderConfig) -> None:
    cls = ENCODERS.get(config.kind)
    if cls is None:
        return
    params = [n for n, p in inspect.signature(cls.__init__).parameters.items()
              if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    own = [n for n in params if n not in DATA_ARGS]
    for arg in config.args:
        if arg in DATA_ARGS:
            raise ConfigError(f"{key}.{arg}: set by the data (its description: layout, C, M, V), not by the config; "
                              f"leave it out")
        if arg not in params:
            hint = did_you_mean(arg, own)
            raise ConfigError(f"{key}.{arg}: unknown argument of {cls.__name__} ({config.kind}); {hint}it takes "
                              f"{', '.join(own)}")


def _check_method(where: str, config: MethodConfig) -> None:
    cls = METHODS.get(config.kind)
    if cls is None:
        return
    own = cls.options()
    for arg in config.args:
        if arg not in own:
            hint = did_you_mean(arg, own)
            takes = f"it takes {', '.join(own)}" if own else "it takes no options"
            raise ConfigError(f"{where}args.{arg}: unknown option of {cls.__name__} ({config.kind}); {hint}{takes}")
    for view, spec in config.views.items():
        if view not in cls.extra_views:
            extra = ", ".join(cls.extra_views) or "none"
            raise ConfigError(f"{where}views.{view}: {cls.__name__} ({config.kind}) has no extra view {view!r} "
                              f"(its extra views: {extra})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}views.{view}: expected an augmentation (ops: [...] or preset: NAME), got "
                              f"{spec!r}")
        _check_augment(f"{where}views.{view}", spec)


def _check_partners(key: str, name: str, stream: StreamConfig, streams: Mapping[str, StreamConfig]) -> None:
    """CrosSCLR's partners: other streams of the model, named once, with the same queue size where both give one."""
    partners = stream.method.args.get("partners")
    if stream.method.kind != "crossclr" or partners is None:
        return
    if not isinstance(partners, list) or not all(isinstance(p, str) for p in partners):
        raise ConfigError(f"{key}: expected a list of stream names, got {partners!r}")
    for partner in partners:
        if partner == name:
            raise ConfigError(f"{key}: a stream cannot be its own partner ({name!r})")
        if partner not in streams:
            raise ConfigError(f"{key}: no stream {partner!r} in model.streams ({', '.join(streams)})")
        mine, theirs = stream.queue_size, streams[partner].queue_size
        if mine is not None and theirs is not None and mine != theirs:
            raise ConfigError(f"{key}: {partner!r} has queue_size {theirs}, {name!r} {mine}; cross-view mining needs "
                              f"one size (entry j of both queues is one sample's key)")
    if len(set(partners)) != len(partners):
        raise ConfigError(f"{key}: a stream is named twice in {partners}")


def _check_fuse(where: str, config: FuseConfig) -> None:
    for name, members in config.combinations.items():
        key = f"{where}combinations.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_+]+", name):
            raise ConfigError(f"{key}: expected a name of letters, digits, _ and +, got {name!r}")
        if isinstance(members, Mapping):
            if not members:
                raise ConfigError(f"{key}: expected at least one stream, got none")
            for stream, weight in members.items():
                _check_range(f"{key}.{stream}", _convert(f"{key}.{stream}", weight, float), (0, _INF, False, True))
            if sum(float(w) for w in members.values()) <= 0:
                raise ConfigError(f"{key}: expected weights that do not sum to 0, got {dict(members)}")
        elif isinstance(members, list):
            if not members or not all(isinstance(m, str) for m in members):
                raise ConfigError(f"{key}: expected a non-empty list of stream names, got {members!r}")
            if len(set(members)) != len(members):
                raise ConfigError(f"{key}: a stream is named twice in {members}")
        else:
            raise ConfigError(f"{key}: expected a list of streams or a mapping stream -> weight, got {members!r}")
    for name, run in config.runs.items():
        key = f"{where}runs.{name}"
        if isinstance(run, Mapping):
            unknown = sorted(set(run) - {"run", "stream"})
            if unknown or not isinstance(run.get("run"), str):
                raise ConfigError(f"{key}: expected a run folder or {{run: FOLDER, stream: NAME}}, got {dict(run)!r}")
            if "stream" in run and not isinstance(run["stream"], str):
                raise ConfigError(f"{key}.stream: expected a stream name, got {run['stream']!r}")
        elif not isinstance(run, str):
            raise ConfigError(f"{key}: expected a run folder or {{run: FOLDER, stream: NAME}}, got {run!r}")
    if config.runs:
        for name, members in config.combinations.items():
            for stream in members:
                if stream not in config.runs:
                    raise ConfigError(f"{where}combinations.{name}: no stream {stream!r} in {where}runs "
                                      f"({', '.join(config.runs)})")
        for stream in config.weights:
            if stream not in config.runs:
                raise ConfigError(f"{where}weights.{stream}: no such stream in {where}runs ({', '.join(config.runs)})")


def fusion_combinations(fuse: FuseConfig, streams: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """``{combination: {stream: weight}}`` of ``fuse`` over ``streams`` (the default: every stream, equal
    weights, named ``a+b+...``; none for a single stream)."""
    if not fuse.combinations:
        if len(streams) < 2:
            return {}
        return {"+".join(streams): {s: float(fuse.weights.get(s, 1.0)) for s in streams}}
    out = {}
    for name, members in fuse.combinations.items():
        if isinstance(members, Mapping):
            out[name] = {s: float(w) for s, w in members.items()}
        else:
            out[name] = {s: float(fuse.weights.get(s, 1.0)) for s in members}
    return out


def _merge(base: Mapping[str, Any], given: Mapping[str, Any]) -> Dict[str, Any]:
    merged = _deep_copy(base)
    for key, value in given.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, Mapping) and isinstance(merged.get(key),
                                                                                            Mapping) else value
    return merged


def parse_config(data: Any) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from a mapping (a parsed YAML file), every key checked."""
    if isinstance(data, Mapping) and isinstance(data.get("linear"), Mapping) and data["linear"].get("protocol"):
        name = data["linear"]["protocol"]
        if name not in LINEAR_PROTOCOLS:
            raise ConfigError(f"linear.protocol: expected one of {tuple(LINEAR_PROTOCOLS)}, got {name!r}")
        data = {**data, "linear": _merge(LINEAR_PROTOCOLS[name], data["linear"])}
    return _from_mapping("", data, ExperimentConfig)


def apply_overrides(data: Dict[str, Any], overrides: Sequence[str]) -> Dict[str, Any]:
    """``["pretrain.epochs=5", "model.streams.sequence=null"]`` applied to a nested mapping (values are YAML).
    A ``model.streams.NAME...`` override of a mapping without ``model.streams`` patches the default streams."""
    data = _deep_copy(data)
    if any(item.strip().startswith("model.streams.") for item in overrides):
        model = data.get("model")
        if model is None or (isinstance(model, dict) and "streams" not in model and not
                             any(k in model for k in ("spatial", "temporal"))):
            data.setdefault("model", {})
            if isinstance(data["model"], dict):
                data["model"]["streams"] = config_to_dict(ModelConfig())["streams"]
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: the value {raw!r} is not YAML: {exc}") from None
        node = data
        parts = key.strip().split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def _deep_copy(data):
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def load_config(path: Union[str, Path, None], overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment (None: all defaults), apply ``--set`` overrides, check every key."""
    data: Dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config: {path} is not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise ConfigError(f"config: {path} must hold a mapping at its top level, got {type(data).__name__}")
    config = parse_config(apply_overrides(dict(data), overrides))
    return dataclasses.replace(config, overrides=tuple(overrides))


def config_to_dict(config) -> Dict[str, Any]:
    """The resolved config as plain data (for the YAML saved beside checkpoints; what :func:`parse_config`
    reads back)."""
    out = dataclasses.asdict(config)
    for f in dataclasses.fields(config):
        if f.metadata.get("internal"):
            out.pop(f.name, None)
    return out


_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?: |$)")


def config_to_yaml(config: Union[ExperimentConfig, Dict[str, Any]], provenance: Mapping[str, str] = ()) -> str:
    """``config`` as YAML (what :func:`mgclr.train.config.load_config` reads back), each key of ``provenance``
    followed by a comment saying where its value came from."""
    data = config if isinstance(config, dict) else config_to_dict(config)
    # No line folding: a comment can then follow any key's line without splitting a value.
    text = yaml.safe_dump(data, sort_keys=False, width=math.inf)
    provenance = dict(provenance)
    if not provenance:
        return text
    lines: List[str] = []
    path: List[Tuple[int, str]] = []
    for line in text.splitlines():
        match = _KEY_LINE.match(line)
        if match:
            indent = len(match.group("indent"))
            while path and path[-1][0] >= indent:
                path.pop()
            path.append((indent, match.group("key")))
            note = provenance.get(".".join(key for _, key in path))
            if note:
                line = f"{line}  # {note}"
        lines.append(line)
    return "\n".join(lines) + "\n"
