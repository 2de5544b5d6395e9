"""mgclr.train: configs, the pretraining loop, evaluation and checkpoints.

- :func:`load_config` / :class:`ExperimentConfig`: YAML experiments checked key by key;
- :func:`pretrain` and :func:`train_step`: multi-stream contrastive pretraining, a method per stream (MoCo,
  AimCLR, CrosSCLR; one GPU, or many via torchrun);
- :func:`knn_eval`, :func:`linear_eval`, :func:`finetune_eval`, :func:`fuse_eval`: the evaluation protocols.
"""

from .config import ConfigError, ExperimentConfig, apply_overrides, load_config, parse_config
from .evaluate import finetune_eval, fuse_eval, knn_eval, linear_eval
from .pretrain import PretrainResult, pretrain, train_step

__all__ = ["ConfigError", "ExperimentConfig", "PretrainResult", "apply_overrides", "finetune_eval", "fuse_eval",
           "knn_eval", "linear_eval", "load_config", "parse_config", "pretrain", "train_step"]
