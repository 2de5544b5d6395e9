"""The experiment config's schema: one dataclass per section, each field with its type, default and range.

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

Reading a YAML into these classes, checking every key and value, and writing a run's config back are
:mod:`mgclr.train.config`'s (which re-exports every name here).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..models import ENCODERS, INPUT_MODALITIES, METHODS

__all__ = ["LINEAR_PROTOCOLS", "ConfigError", "CrossStreamConfig", "DataConfig", "EncoderConfig", "ExperimentConfig",
           "FinetuneConfig", "FuseConfig", "KnnConfig", "LinearConfig", "MethodConfig", "ModelConfig", "OptimConfig",
           "PretrainConfig", "StreamConfig", "SweepConfig", "augment_spec", "bounded"]


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
