"""``mgclr demo``: the whole method, end to end, on synthetic micro-gestures, in minutes on two CPU cores.

It pretrains the paper's two streams (``joint``: a small AGCN, ``sequence``: a small BiGRU, the paper's
architectures at demo widths) with multi-stream MoCo on :mod:`mgclr.data.synthetic` data, evaluates each
stream by a linear classifier on frozen features, fuses the two streams' softmax scores
(``joint+sequence``), and does the same with randomly initialised encoders, so that the table shows what
pretraining bought. It writes the run (checkpoint, metrics, config), ``demo.json``, a confusion matrix of
each row and a t-SNE of each stream's features to ``output``.
The config below is the demo's; ``overrides`` patch it like the CLI's ``--set``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Sequence

import yaml

from .compare import run_comparison
from .config import ExperimentConfig, apply_overrides, parse_config

__all__ = ["DEMO_CONFIG", "demo_config", "run_demo"]

DEMO_CONFIG = """
name: demo
output: runs/demo
seed: 0
device: auto
data: {source: synthetic, layout: imigue22, frames: 40, num_persons: 1, train_samples: 1200, test_samples: 480,
       batch_size: 64}
augment:
  ops:
    - {name: crop_resize, scale: [0.7, 1.0], min_len: 16, out_frames: 32}
    - {name: coordinate_perturbation}
    - {name: stretch, s: [0.8, 1.2], t: 0.2}
    - {name: view_perturbation, a_main: 0.5, a_other: 0.2, axis: 1}
    - {name: posterize_time}
    - {name: gaussian_noise, sigma: 0.005, p: 0.5}
model:
  streams:
    joint:
      input: joint
      encoder: {kind: agcn, args: {widths: [16, 32, 32, 64], strides: [1, 2, 1, 2]}}
      head_dim: 64
      head_hidden: 128
      queue_size: 1024
      momentum: 0.99
      temperature: 0.1
    sequence:
      input: joint
      encoder: {kind: bigru, args: {hidden: 64, layers: 2, pooling: mean}}
      head_dim: 64
      head_hidden: 128
      queue_size: 1024
      momentum: 0.99
      temperature: 0.1
pretrain:
  epochs: 20
  knn_every: 5
  log_every: 20
  optim: {lr: 0.05, schedule: cosine, warmup_epochs: 1}
linear:
  epochs: 60
  batch_size: 128
  optim: {lr: 0.5, nesterov: false, weight_decay: 0.0, milestones: [40, 50]}
fuse: {tsne: true, confusion: true, tsne_samples: 480}
"""


def demo_config(overrides: Sequence[str] = (), output: Optional[str] = None) -> ExperimentConfig:
    data = yaml.safe_load(DEMO_CONFIG)
    if output is not None:
        data["output"] = output
    return dataclasses.replace(parse_config(apply_overrides(data, overrides)), overrides=tuple(overrides))


def run_demo(output: Optional[str] = None, overrides: Sequence[str] = (), show_progress: bool = True,
             log=print, overwrite: bool = False) -> Dict[str, Any]:
    """Pretrain, evaluate pretrained and random-init encoders, print and return the comparison
    (:func:`~mgclr.train.compare.run_comparison` on the demo's config); ``overwrite`` replaces an earlier
    run in ``output``."""
    config = demo_config(overrides, output)
    log(f"mgclr demo: {config.data.train_samples} synthetic micro-gesture sequences "
        f"({config.data.layout}, {config.data.frames} frames), {config.pretrain.epochs} epochs of dual-stream MoCo "
        f"-> {config.output}")
    return run_comparison(config, show_progress=show_progress, log=log, tag="demo", overwrite=overwrite)
