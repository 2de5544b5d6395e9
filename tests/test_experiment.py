"""mgclr.train.experiment: a config resolved for its data once, with the source of every filled value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mgclr.cli import main
from mgclr.train import load_config, parse_config
from mgclr.train.config import config_to_dict, config_to_yaml
from mgclr.train.experiment import Experiment, resolve

TINY = str(Path(__file__).resolve().parents[1] / "configs" / "cpu" / "tiny.yaml")
SMALL = {"data": {"source": "synthetic", "train_samples": 40, "test_samples": 20, "frames": 24}}


def test_resolve_fills_every_automatic_value_and_says_where_it_came_from():
    experiment = resolve(parse_config(SMALL))
    config, why = experiment.config, experiment.provenance
    assert len(experiment.train_set) == 40 and len(experiment.test_set) == 20
    # N = 40: batch 8 (the largest power of two <= N / 3, at least 8), queue 16 (N / 4 = 10, at least 16)
    assert config.data.batch_size == 8 and {s.queue_size for s in config.model.streams.values()} == {16}
    # clips of median length 20 (of 24 frames): views of 16; 5 steps per epoch: 300 epochs for 1,500 steps
    assert config.augment["out_frames"] == 16 and config.knn.k == [1, 20] and config.pretrain.epochs == 300
    assert why["data.batch_size"] == ("recipe: 64, or the largest power of two <= N / 3 for N = 40 training "
                                      "sequences, at least 8")
    assert why["model.streams.joint.queue_size"] == ("recipe: the largest power of two <= N / 4 for N = 40, within "
                                                     "[16, 16384]")
    assert why["augment"].startswith("recipe: out_frames auto = 16, the multiple of 8 nearest the median length 20")
    assert why["knn.k"].startswith("recipe: [1, 20]") and why["pretrain.epochs"].startswith("recipe: 100 epochs")
    assert why["data.layout"] == "data: imigue22, from the synthetic generator (data.source: synthetic)"
    assert why["data.coord_channels"].startswith("data: 3, from") and why["data.num_persons"].startswith("data: 1,")
    assert list(experiment.notes) and all(" = " in note for note in experiment.notes)
    assert resolve(experiment) is experiment  # an Experiment is not resolved again


def test_what_the_config_gives_has_no_provenance():
    given = {**SMALL, "data": {**SMALL["data"], "batch_size": 10, "coord_channels": 3},
             "model": {"streams": {"joint": {"queue_size": 32}, "sequence": {"encoder": {"kind": "bigru"}}}}}
    why = resolve(parse_config(given)).provenance
    assert "data.batch_size" not in why and "data.coord_channels" not in why
    assert "model.streams.joint.queue_size" not in why and "model.streams.sequence.queue_size" in why


def test_the_run_config_yaml_carries_the_provenance_and_reads_back(tmp_path):
    experiment = resolve(parse_config(SMALL))
    text = experiment.config_yaml()
    lines = {line.strip().split(":")[0]: line for line in text.splitlines()}
    assert lines["queue_size"].endswith("# recipe: the largest power of two <= N / 4 for N = 40, within [16, 16384]")
    assert "batch_size: 8  # recipe: 64, or the largest power of two" in text
    assert config_to_dict(parse_config(yaml.safe_load(text))) == config_to_dict(experiment.config)
    assert config_to_yaml(experiment.config) == yaml.safe_dump(config_to_dict(experiment.config), sort_keys=False,
                                                               width=float("inf"))


def test_a_pretraining_run_writes_it(tmp_path):
    out = tmp_path / "run"
    assert main(["pretrain", TINY, "--max-steps", "1", "--no-progress", "--set", f"output={out}",
                 "--set", "pretrain.knn_every=0", "--set", "data.batch_size=null"]) == 0
    text = (out / "config.yaml").read_text()
    assert "batch_size: 32  # recipe: 64, or the largest power of two <= N / 3 for N = 96" in text
    assert "layout: null  # data: imigue22, from the synthetic generator" in text
    assert load_config(out / "config.yaml").data.batch_size == 32


def test_evaluation_reads_the_data_once(tmp_path, monkeypatch):
    import mgclr.train.experiment as experiment_module

    out = tmp_path / "run"
    assert main(["pretrain", TINY, "--max-steps", "1", "--no-progress", "--set", f"output={out}",
                 "--set", "pretrain.knn_every=0"]) == 0
    reads = []
    real = experiment_module.load_splits
    monkeypatch.setattr(experiment_module, "load_splits", lambda data: reads.append(data) or real(data))
    assert main(["linear", TINY, "--no-progress", "--set", f"output={out}", "--set", "linear.epochs=1"]) == 0
    assert len(reads) == 1  # the checkpoint's shapes, the probe and the recognizer: one read


def test_with_config_keeps_the_splits_and_refuses_other_data():
    experiment = resolve(parse_config(SMALL))
    other = experiment.with_config(name="probe")
    assert isinstance(other, Experiment) and other.train_set is experiment.train_set and other.config.name == "probe"
    with pytest.raises(ValueError, match="data: an Experiment's splits are read from its data section"):
        experiment.with_config(data=experiment.config.data)


def test_a_checkpoint_that_changes_a_filled_value_is_named_as_its_source():
    import dataclasses

    experiment = resolve(parse_config(SMALL))
    streams = {name: dataclasses.replace(s, queue_size=64) if name == "joint" else s
               for name, s in experiment.config.model.streams.items()}
    changed = experiment.with_checkpoint_config(
        dataclasses.replace(experiment.config, model=dataclasses.replace(experiment.config.model, streams=streams)),
        "run/checkpoint.pt")
    assert changed.provenance["model.streams.joint.queue_size"] == "checkpoint: run/checkpoint.pt"
    assert changed.provenance["model.streams.sequence.queue_size"] == experiment.provenance[
        "model.streams.sequence.queue_size"]


def test_resolve_on_another_experiments_splits_needs_the_same_data():
    base = resolve(parse_config(SMALL))
    other = resolve(parse_config({**SMALL, "name": "other"}), data=base)
    assert other.train_set is base.train_set and other.config.name == "other"
    with pytest.raises(ValueError, match="data: resolve.config, data=.... takes the splits of an experiment on"):
        resolve(parse_config({"data": {**SMALL["data"], "frames": 32}}), data=base)


def test_a_stored_config_is_read_without_the_augment_name_check():
    # A run written before names were checked may hold a spec it never built: its evaluation must still read it.
    stored = {"finetune": {"test_augment": {"ops": [{"name": "shear", "s": 1}]}}}
    assert parse_config(stored, stored=True).finetune.test_augment == {"ops": [{"name": "shear", "s": 1}]}
    with pytest.raises(ValueError, match=r"finetune.test_augment.ops\[0\] \(shear\): unknown argument\(s\) \['s'\]"):
        parse_config(stored)
