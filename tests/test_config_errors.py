"""Config errors: every number finite and in its range, and the error names the dotted key,
whatever the value's type or size. Each case failed before: it trained to NaN weights, climbed the loss,
changed an accuracy, crashed later with a ZeroDivisionError, or named the wrong thing."""

from __future__ import annotations

import pytest

from mgclr.train import ConfigError, load_config

CASES = [
    # (override, the message it must give)
    ("pretrain.optim.lr=.nan", r"^pretrain.optim.lr: expected a finite number, got nan"),
    ("pretrain.optim.lr=.inf", r"^pretrain.optim.lr: expected a finite number, got inf"),
    ("pretrain.optim.lr=-0.1", r"^pretrain.optim.lr: expected a value > 0, got -0.1"),
    ("pretrain.optim.lr=0", r"^pretrain.optim.lr: expected a value > 0, got 0"),
    ("linear.optim.lr=-.inf", r"^linear.optim.lr: expected a finite number, got -inf"),
    ("pretrain.grad_clip=-1", r"^pretrain.grad_clip: expected a value > 0, got -1"),
    ("pretrain.grad_clip=0", r"^pretrain.grad_clip: expected a value > 0, got 0"),
    ("pretrain.optim.gamma=-1", r"^pretrain.optim.gamma: expected a value in \(0, 1\], got -1"),
    ("pretrain.optim.gamma=0", r"^pretrain.optim.gamma: expected a value in \(0, 1\], got 0"),
    ("pretrain.optim.gamma=1.5", r"^pretrain.optim.gamma: expected a value in \(0, 1\], got 1.5"),
    ("knn.temperature=0", r"^knn.temperature: expected a value > 0, got 0"),
    ("knn.temperature=.nan", r"^knn.temperature: expected a finite number, got nan"),
    ("knn.temperature=-0.1", r"^knn.temperature: expected a value > 0, got -0.1"),
    ("model.streams.joint.temperature=.nan", r"^model.streams.joint.temperature: expected a finite number, got nan"),
    ("model.streams.sequence.momentum=.nan", r"^model.streams.sequence.momentum: expected a finite number, got nan"),
    ("model.streams.joint.head_hidden=0", r"^model.streams.joint.head_hidden: expected a value > 0, got 0"),
    ("pretrain.checkpoint_every=0", r"^pretrain.checkpoint_every: expected a value > 0, got 0"),
    ("pretrain.optim.warmup_epochs=.inf", r"^pretrain.optim.warmup_epochs: expected a finite number"),
    ("pretrain.optim.weight_decay=-1e-4", r"^pretrain.optim.weight_decay: expected a value >= 0"),
    (f"seed={2**70}", r"^seed: expected a value in \[0, 4.29497e\+09\], got 1180591620717411303424"),
    ("seed=-1", r"^seed: expected a value in \[0, 4.29497e\+09\], got -1"),
    ("data.synthetic_seed=99999999999", r"^data.synthetic_seed: expected a value in \[0, "),
    ("finetune.label_fraction=.nan", r"^finetune.label_fraction: expected a finite number"),
    ("model.cross_stream=[{streams: [joint, sequence], weight: -1}]",
     r"^model.cross_stream\[0\].weight: expected a value >= 0"),
    ("data.layout=foo", r"^data.layout: unknown layout 'foo'; known layouts: coco17, imigue22"),
    ("data.layout=3", r"^data.layout: expected a layout name or a mapping"),
    ("data.coord_channels=4", r"^data.coord_channels: expected a value in \[2, 3\], got 4"),
    ("model.streams.joint.queue_size=0", r"^model.streams.joint.queue_size: expected a value > 0, got 0"),
    ("knn.k=[20, 0]", r"^knn.k\[1\]: expected a value >= 1, got 0"),
]


@pytest.mark.parametrize("override, message", CASES, ids=[c[0] for c in CASES])
def test_every_bad_number_is_refused_by_its_dotted_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_edges_that_are_valid_still_load():
    config = load_config(None, ["pretrain.optim.gamma=1", "model.streams.joint.momentum=0",
                                "model.streams.joint.momentum=1",
                                "seed=4294967295", "pretrain.knn_every=0", "pretrain.optim.weight_decay=0",
                                "finetune.label_fraction=1", "pretrain.grad_clip=0.5",
                                "model.streams.joint.head_hidden=1"])
    assert config.pretrain.optim.gamma == 1.0 and config.seed == 2**32 - 1 and config.pretrain.grad_clip == 0.5


def test_exponent_numbers_without_a_dot_are_numbers():
    # YAML 1.1 (PyYAML) reads 1e-4 as a string; a float key takes it as the number it is
    config = load_config(None, ["pretrain.optim.weight_decay=1e-4", "pretrain.optim.lr=5E-2"])
    assert config.pretrain.optim.weight_decay == 1e-4 and config.pretrain.optim.lr == 0.05
    with pytest.raises(ConfigError, match=r"^pretrain.epochs: expected an integer, got '1e3'"):
        load_config(None, ["pretrain.epochs=1e3"])
