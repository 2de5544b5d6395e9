"""mgclr.train: configs, the pretraining loop, evaluation and checkpoints.

- :func:`load_config` / :class:`ExperimentConfig`: YAML experiments checked key by key; :func:`resolve` /
  :class:`Experiment`: a config resolved for its data once (what every command runs);
- :func:`pretrain` and :func:`train_step`: multi-stream contrastive pretraining, a method per stream (MoCo,
  AimCLR, CrosSCLR; one GPU, or many via torchrun);
- :func:`knn_eval`, :func:`linear_eval`, :func:`finetune_eval`, :func:`fuse_eval`: the evaluation protocols
  (:class:`ProbeResult`: a linear or finetuning probe's result).
"""

from .config import ConfigError, ExperimentConfig, apply_overrides, load_config, parse_config
from .evaluate import finetune_eval, fuse_eval, knn_eval, linear_eval
from .experiment import Experiment, resolve
from .pretrain import PretrainResult, pretrain, train_step
from .results import ProbeResult

__all__ = ["ConfigError", "Experiment", "ExperimentConfig", "PretrainResult", "ProbeResult", "apply_overrides",
           "finetune_eval", "fuse_eval", "knn_eval", "linear_eval", "load_config", "parse_config", "pretrain",
           "resolve", "train_step"]
