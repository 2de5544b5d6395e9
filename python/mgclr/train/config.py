"""Experiment configs: dataclasses, read from YAML with every key checked.

One file describes an experiment; each command reads the sections it needs::

    name: imigue_dual          output: runs/imigue_dual        seed: 0        device: auto
    data:      where the skeletons come from, batch size, workers
    augment:   the pretraining pipeline (mgclr.augment.pipeline_from_config; two views are always made)
    model:     spatial / temporal streams (encoder, head, queue, momentum, temperature), cross-stream term
    pretrain:  epochs, optimiser, schedule, AMP, torch.compile, clipping, kNN monitor, checkpoints
    linear, knn, finetune, fuse:  the evaluation protocols
    sweep:     the augmentation study (mgclr sweep)

Unknown keys and bad values are errors that name the key (``model.spatial.encoder.kind: expected one of
('agcn', 'stgcn', 'bigru'), got 'gcn'``). ``overrides`` (the CLI's ``--set key=value``) patch the mapping
before it is checked; values are YAML scalars (``--set pretrain.epochs=5 --set pretrain.amp=false``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from ..skeleton import layout_from_spec

__all__ = ["ConfigError", "DataConfig", "EncoderConfig", "ExperimentConfig", "FinetuneConfig", "FuseConfig",
           "KnnConfig", "LinearConfig", "ModelConfig", "OptimConfig", "PretrainConfig", "StreamConfig",
           "SweepConfig", "apply_overrides", "config_to_dict", "load_config", "parse_config"]


class ConfigError(ValueError):
    """A config key is unknown or its value is wrong; the message starts with the key's dotted path."""


# ------------------------------------------------------------------------------------------------ sections


@dataclass
class DataConfig:
    """Where the skeletons come from. ``source``:

    * ``synthetic``: mgclr.data.synthetic, the demo's procedural micro-gestures (``train_samples``,
      ``test_samples``, ``synthetic_seed``).
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
    person; ``frames`` is the length the synthetic data is generated at.
    """

    source: str = "synthetic"
    path: Optional[str] = None
    train_split: Optional[str] = None
    test_split: Optional[str] = None
    layout: Any = None  # a name, a custom layout mapping, or None (the dataset's)
    frames: int = 48
    num_persons: Optional[int] = None
    coord_channels: Optional[int] = None
    train_samples: int = 1200
    test_samples: int = 480
    synthetic_seed: int = 0
    batch_size: int = 64
    num_workers: int = 0
    strict: bool = False  # mgclr folders: a sample in both parts of a benchmark is an error, not a warning

    CHOICES = {"source": ("synthetic", "mgclr", "arrays", "skeletonclr", "pyskl")}


@dataclass
class EncoderConfig:
    """``kind``: ``agcn``, ``stgcn`` or ``bigru``; ``args``: that class's keyword arguments (mgclr.models)."""

    kind: str = "agcn"
    args: Dict[str, Any] = field(default_factory=dict)

    CHOICES = {"kind": ("agcn", "stgcn", "bigru")}


@dataclass
class StreamConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head_dim: int = 128
    head_hidden: Optional[int] = None  # None: a linear head; an int: Linear-ReLU-Linear through that width
    queue_size: int = 16384
    momentum: float = 0.999
    temperature: float = 0.07
    augment: Optional[Dict[str, Any]] = None  # this stream's own pipeline instead of the shared one


@dataclass
class ModelConfig:
    spatial: Optional[StreamConfig] = field(default_factory=StreamConfig)
    temporal: Optional[StreamConfig] = field(
        default_factory=lambda: StreamConfig(encoder=EncoderConfig("bigru", {"hidden": 1024, "layers": 3})))
    cross_stream_weight: float = 0.0
    infonce_impl: str = "auto"

    CHOICES = {"infonce_impl": ("auto", "reference", "chunked", "fused")}


@dataclass
class OptimConfig:
    """SGD (Nesterov by default, as the paper); ``schedule``: ``step`` (x ``gamma`` at ``milestones``
    epochs) or ``cosine``, after ``warmup_epochs`` of linear warm-up (fractions allowed)."""

    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    schedule: str = "step"
    milestones: List[int] = field(default_factory=list)
    gamma: float = 0.1
    warmup_epochs: float = 0.0

    CHOICES = {"schedule": ("step", "cosine")}


@dataclass
class PretrainConfig:
    epochs: int = 100
    optim: OptimConfig = field(default_factory=OptimConfig)
    amp: bool = False              # bf16 autocast of the encoders (CUDA, or CPU with bf16 support)
    compile: bool = False          # torch.compile the encoders
    grad_clip: Optional[float] = None
    knn_every: int = 0             # epochs between kNN monitor runs on the held-out split (0: off)
    knn_k: int = 20
    checkpoint_every: int = 1      # epochs between checkpoints (and one at the end)
    checkpoint_steps: int = 0      # also every that many steps (0: off), for long epochs
    log_every: int = 10            # steps between metric lines
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
    epochs: int = 100
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.1, nesterov=False, weight_decay=0.0,
                                                                   milestones=[50, 80]))
    batch_size: int = 256
    augment: Optional[Dict[str, Any]] = None  # None (or deterministic): features computed once and cached
    test_augment: Optional[Dict[str, Any]] = None
    # A BatchNorm without affine parameters before the linear layer (MAE's linear probe): the probe no longer
    # depends on the scale of the features, which differs widely between pretrained and random encoders.
    batchnorm: bool = False


@dataclass
class KnnConfig:
    k: List[int] = field(default_factory=lambda: [1, 20])
    temperature: float = 0.1       # weights exp(cos / temperature) of the weighted vote (k > 1)


@dataclass
class FinetuneConfig:
    epochs: int = 100
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.1, nesterov=False, milestones=[50, 80]))
    label_fraction: float = 1.0    # e.g. 0.01 / 0.1 for the semi-supervised protocol (per class, seeded)
    from_scratch: bool = False     # random initialisation: the supervised reference
    augment: Optional[Dict[str, Any]] = None
    test_augment: Optional[Dict[str, Any]] = None  # e.g. the evaluation centre crop (crop_resize eval_ratio)


@dataclass
class FuseConfig:
    tsne: bool = True
    confusion: bool = True
    tsne_samples: int = 1000


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
    epochs: Optional[int] = None


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    output: str = "runs/experiment"
    seed: int = 0
    device: str = "auto"           # auto: cuda when usable, else cpu
    data: DataConfig = field(default_factory=DataConfig)
    augment: Dict[str, Any] = field(default_factory=lambda: {"preset": "paper_best", "out_frames": 48})
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

_INF = math.inf
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_MAX_SEED = 2**32 - 1  # derived seeds (seed x 104,729 + ...) stay inside Philox's and torch's 63 bits
# Every number's range, by key name (a name means the same thing in every section): (low, high, low open,
# high open). Floats must be finite as well (NaN and inf never pass).
_RANGES: Dict[str, Tuple[float, float, bool, bool]] = {
    **{name: (0, _INF, True, True) for name in (
        "frames", "num_persons", "train_samples", "test_samples", "batch_size", "head_dim", "head_hidden",
        "queue_size", "epochs", "knn_k", "log_every", "tsne_samples", "checkpoint_every", "lr",
        "temperature", "grad_clip", "coord_channels")},
    **{name: (0, _INF, False, True) for name in (
        "num_workers", "knn_every", "checkpoint_steps", "weight_decay", "warmup_epochs", "cross_stream_weight")},
    "seed": (0, _MAX_SEED, False, False), "synthetic_seed": (0, _MAX_SEED, False, False),
    "momentum": (0, 1, False, False), "gamma": (0, 1, True, False), "label_fraction": (0, 1, True, False),
}


def _check_range(key: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    if name not in _RANGES:
        return
    low, high, low_open, high_open = _RANGES[name]
    if (value <= low if low_open else value < low) or (value >= high if high_open else value > high):
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        if high == _INF:
            wanted = f"a value {'>' if low_open else '>='} {low:g}"
        else:
            wanted = f"a value in {left}{low:g}, {high:g}{right}"
        raise ConfigError(f"{key}: expected {wanted}, got {value!r}")


def _describe(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


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
        return dict(value)
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


def _from_mapping(path: str, data: Any, cls: type):
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or cls.__name__}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")]
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key; {path or 'the config'} takes {', '.join(names)}")
    kwargs = {}
    for name in names:
        if name not in data:
            continue
        key = f"{path}.{name}" if path else name
        value = _convert(key, data[name], hints[name])
        choices = getattr(cls, "CHOICES", {}).get(name)
        if choices and value not in choices:
            raise ConfigError(f"{key}: expected one of {choices}, got {value!r}")
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            _check_range(f"{key}[{i}]" if isinstance(value, list) else key, name, item)
        kwargs[name] = value
    config = cls(**kwargs)
    _check_section(path, config)
    return config


def _check_section(path: str, config) -> None:
    where = f"{path}." if path else ""
    if isinstance(config, OptimConfig):
        if sorted(config.milestones) != config.milestones:
            raise ConfigError(f"{where}milestones: expected increasing epochs, got {config.milestones}")
    if isinstance(config, KnnConfig) and (not config.k or min(config.k) < 1):
        raise ConfigError(f"{where}k: expected a non-empty list of integers >= 1, got {config.k}")
    if isinstance(config, DataConfig):
        if config.layout is not None:
            try:
                layout_from_spec(config.layout, f"{where}layout")
            except (TypeError, ValueError) as exc:
                raise ConfigError(str(exc)) from None
        if config.coord_channels is not None and config.coord_channels not in (2, 3):  # an int: range done
            raise ConfigError(f"{where}coord_channels: expected 2 or 3, got {config.coord_channels!r}")
    if isinstance(config, ModelConfig) and config.spatial is None and config.temporal is None:
        raise ConfigError(f"{where}spatial, temporal: expected at least one stream, got none")


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
    """``["pretrain.epochs=5", "model.temporal=null"]`` applied to a nested mapping (values are YAML)."""
    data = _deep_copy(data)
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


def stream_items(model: ModelConfig) -> List[Tuple[str, StreamConfig]]:
    return [(name, s) for name, s in (("spatial", model.spatial), ("temporal", model.temporal)) if s is not None]
