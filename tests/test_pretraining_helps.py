"""Does pretraining help? The kNN monitor's random-init baseline and its warning, and the ridge floor."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mgclr.train import load_config, pretrain
from mgclr.train.evaluate import resampled_joints, ridge_floor
from mgclr.train.pretrain import PretrainingNotHelpingWarning, knn_gain_is_noise


def test_knn_gain_is_noise_within_two_standard_errors():
    # 200 test samples, both near 50 %: one standard error of the difference is 5 points
    assert knn_gain_is_noise(0.55, 0.50, 200)          # 5 points: 1 SE
    assert knn_gain_is_noise(0.45, 0.50, 200)          # worse
    assert not knn_gain_is_noise(0.65, 0.50, 200)      # 15 points: 3 SE
    assert knn_gain_is_noise(0.30, 0.20, 40)           # 10 points on 40 samples: under 2 SE (19 points)
    assert not knn_gain_is_noise(0.90, 0.20, 40)
    assert knn_gain_is_noise(0.0, 0.0, 10) and knn_gain_is_noise(1.0, 1.0, 10)  # degenerate: no gain at all


@pytest.fixture
def random_labels(tmp_path):
    """Skeleton-like arrays whose labels are independent of the data: nothing to learn."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("test", 48)):
        t = np.arange(16, dtype=np.float32)
        x = rng.normal(size=(n, 3, 1, 20, 1)).astype(np.float32) + 0.1 * np.sin(t / 3)[None, None, :, None, None]
        np.save(tmp_path / f"{split}_x.npy", x.astype(np.float32))
        np.save(tmp_path / f"{split}_lengths.npy", np.full(n, 16, dtype=np.int64))
        np.save(tmp_path / f"{split}_labels.npy", rng.integers(0, 4, size=n).astype(np.int64))
    config = tmp_path / "random.yaml"
    config.write_text(textwrap.dedent(f"""
        name: random
        output: {tmp_path / 'run'}
        device: cpu
        data: {{source: arrays, path: {tmp_path}, layout: kinect20, batch_size: 16}}
        augment: {{preset: paper_best, out_frames: 16}}
        model:
          streams:
            joint: {{encoder: {{kind: agcn, args: {{widths: [8, 8], strides: [1, 2]}}}}, head_dim: 16, queue_size: 32}}
        pretrain: {{epochs: 2, knn_every: 1, log_every: 1, tensorboard: false}}
        """))
    return config


def test_the_knn_monitor_warns_when_pretraining_cannot_help(random_labels):
    config = load_config(random_labels)
    with pytest.warns(PretrainingNotHelpingWarning, match="pretraining is not helping the joint stream so far"):
        result = pretrain(config, show_progress=False)
    assert set(result.knn_random) == {"joint"} and set(result.knn) == {1, 2}
    assert len(result.warnings) == 1  # once per stream
    # what to try, most effective first: this run's 8 steps come before the temperature (0.07)
    assert "(benchmarks/RESULTS.md): (1) more optimiser steps (this run has 8" in result.warnings[0]
    assert "(2) a higher temperature (model.streams.joint.temperature: 0.2, here 0.07" in result.warnings[0]
    records = [json.loads(line) for line in (Path(config.output) / "metrics.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "warning" and r["stream"] == "joint" for r in records)
    assert any(r["kind"] == "knn" and r["step"] == 0 and "knn_top1_random_joint" in r for r in records)


def test_the_random_init_baseline_leaves_training_as_it_was(random_labels, tmp_path):
    """The baseline is built under its own RNG state: the run's weights are those of a run without it."""
    with pytest.warns(PretrainingNotHelpingWarning):
        watched = pretrain(load_config(random_labels), show_progress=False)
    plain = pretrain(load_config(random_labels, [f"output={tmp_path / 'plain'}", "pretrain.knn_every=0"]),
                     show_progress=False)
    for (name, a), b in zip(watched.model.state_dict().items(), plain.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_ridge_floor_reads_the_raw_joints():
    from mgclr.data import ArrayDataset

    rng = np.random.default_rng(1)
    n, T = 60, 12
    labels = np.arange(n) % 3
    x = rng.normal(scale=0.1, size=(n, 3, T, 4, 1)).astype(np.float32)
    x[:, 0, :, 0, 0] += labels[:, None]  # the class is in one coordinate: a linear read-out finds it
    lengths = np.full(n, T)
    lengths[::2] = 7
    x[::2, :, 7:] = 0
    data = ArrayDataset(x, lengths, labels)
    feats, y = resampled_joints(data, frames=5)
    assert feats.shape == (n, 3 * 5 * 4) and (y == labels).all()
    # resampling uses the valid frames only: sample 0's 7 frames become 5, its padding is not read
    np.testing.assert_allclose(feats[0].reshape(3, 4, 5)[0, 0, [0, -1]], x[0, 0, [0, 6], 0, 0], rtol=1e-6)
    floor = ridge_floor(data, data)
    assert floor["top1"] == 1.0 and floor["frames"] == 16


# ---------------------------------------------------------------------------------------- the recipe


def test_the_recipe_rules():
    from mgclr.train.recipe import auto_batch, auto_frames, auto_queue

    assert [auto_batch(n) for n in (10, 24, 100, 191, 192, 40_091)] == [8, 8, 32, 32, 64, 64]

    assert [auto_queue(n) for n in (10, 100, 255, 1020, 40_091, 10**7)] == [16, 16, 32, 128, 8192, 16384]
    assert [auto_frames(m) for m in (5, 20, 28, 31, 45, 300)] == [16, 16, 32, 32, 48, 64]


def test_the_recipe_fills_what_the_config_leaves_out_and_keeps_what_it_gives():
    from mgclr.data import ArrayDataset
    from mgclr.train import parse_config
    from mgclr.train.recipe import resolve_recipe

    lengths = np.array([20, 28, 30, 31, 40] * 20)
    train = ArrayDataset(np.zeros((100, 3, 40, 20, 1), np.float32), lengths, np.arange(100) % 5)
    config = parse_config({"data": {"batch_size": 16},
                           "linear": {"test_augment": {"ops": [{"name": "crop_resize", "eval_ratio": 1.0,
                                                                "out_frames": "auto"}]}}})
    resolved, notes = resolve_recipe(config, train)
    assert [s.queue_size for s in resolved.model.streams.values()] == [16, 16]
    assert resolved.pretrain.epochs == 250 and resolved.pretrain.optim.warmup_epochs == 12.5  # 1,500 steps: 6/epoch
    assert resolved.augment["out_frames"] == 32 and resolved.linear.test_augment["ops"][0]["out_frames"] == 32
    text = "\n".join(notes)
    for key in ("model.streams.joint.queue_size = 16", "pretrain.epochs = 250 (1500 steps)",
                "pretrain.optim.warmup_epochs = 12.5", "out_frames = 32 in augment, linear.test_augment"):
        assert key in text, text
    small = resolve_recipe(parse_config({"data": {"batch_size": 64}}), train)[0]
    assert small.pretrain.epochs == 1500  # one step per epoch: at least 1,500 steps
    auto, notes = resolve_recipe(parse_config({}), train)
    assert auto.data.batch_size == 32 and auto.pretrain.epochs == 500  # 3 steps per epoch
    assert notes[0].startswith("data.batch_size = 32")
    pinned = parse_config({"data": {"batch_size": 16}, "augment": {"preset": "paper_best", "out_frames": 24},
                           "model": {"streams": {"joint": {"queue_size": 64}}},
                           "pretrain": {"epochs": 3, "knn_k": 20, "optim": {"warmup_epochs": 0.0}},
                           "knn": {"k": [1, 20]}})
    same, notes = resolve_recipe(pinned, train)
    assert same == pinned and notes == []
    by_steps = resolve_recipe(parse_config({"data": {"batch_size": 16}, "pretrain": {"steps": 50}}), train)[0]
    assert by_steps.pretrain.epochs == 9 and by_steps.pretrain.steps is None  # 50 steps at 6 per epoch
    from mgclr.train import ConfigError

    with pytest.raises(ConfigError, match="pretrain.steps, pretrain.epochs: give one"):
        parse_config({"pretrain": {"steps": 50, "epochs": 3}})
    with pytest.raises(ConfigError, match="data.batch_size: 128, but the training split holds 100 sequences"):
        resolve_recipe(parse_config({"data": {"batch_size": 128}}), train)


def test_not_helping_advice_names_only_what_the_config_does_not_do_yet():
    from mgclr.train.config import parse_config
    from mgclr.train.recipe import not_helping_advice

    config = parse_config({"augment": {"ops": [{"name": "view_perturbation", "a_main": 1.0}]}, "model": {"streams": {
        "joint": {"queue_size": 512, "temperature": 0.1},
        "sequence": {"encoder": {"kind": "bigru", "args": {"pooling": "mean"}}, "temperature": 0.2}}}})
    joint = not_helping_advice(config, "joint", train_samples=100, run_steps=600)
    assert [a.split(" (")[0] for a in joint] == ["a queue no larger than the training set", "more optimiser steps",
                                                   "stronger rotations", "a higher temperature"]
    assert "the recipe's N / 4 is 16" in joint[0] and "this run has 600" in joint[1] and "here 1" in joint[2]
    sequence = not_helping_advice(config, "sequence", train_samples=100, run_steps=1500)
    assert [a.split(" (")[0] for a in sequence] == ["stronger rotations", "ISC's BIGRU as the sequence encoder"]
    done = parse_config({"augment": {"ops": [{"name": "view_perturbation", "a_main": 2.0}]},
                         "model": {"streams": {"joint": {"temperature": 0.2}}}})
    assert not_helping_advice(done, "joint", train_samples=100, run_steps=1500) == []


def test_what_pretraining_bought_reads_the_fused_row_under_both_probes():
    from mgclr.train.compare import what_pretraining_bought

    def probes(plain, bn):
        return {label: {"pretrained": {"joint": {"top1": 0.9}, "joint+sequence": {"top1": p}},
                        "random_init": {"joint": {"top1": 0.1}, "joint+sequence": {"top1": r}}}
                for label, (r, p) in (("plain", plain), ("BN", bn))}

    helps = what_pretraining_bought({"probes": probes((0.30, 0.50), (0.40, 0.46)), "ridge": {"top1": 0.44}})
    assert helps["row"] == "joint+sequence" and helps["helps"]
    assert helps["plain"]["gain"] == pytest.approx(0.20) and helps["BN"]["gain"] == pytest.approx(0.06)
    small_gain = what_pretraining_bought({"probes": probes((0.30, 0.50), (0.44, 0.46)), "ridge": {"top1": 0.40}})
    assert not small_gain["helps"]  # +2 under BN
    below_floor = what_pretraining_bought({"probes": probes((0.30, 0.50), (0.40, 0.46)), "ridge": {"top1": 0.48}})
    assert not below_floor["helps"]  # BN's 46 % under the ridge's 48 %
    assert what_pretraining_bought({"probes": probes((0.30, 0.50), (0.40, 0.46)), "ridge": None})["helps"]
