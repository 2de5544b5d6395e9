"""The mgclr command's training and evaluation subcommands, end to end on the tiny CPU config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mgclr.cli import main
from mgclr.train import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY = str(CONFIGS / "cpu" / "tiny.yaml")


@pytest.mark.parametrize("command", ["demo", "pretrain", "linear", "knn", "finetune", "fuse", "bench", "compare"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "--set" in capsys.readouterr().out


SHIPPED = sorted(CONFIGS.glob("*.yaml")) + [path for folder in ("pretrain", "cpu", "table2", "table3", "aimclr",
                                                                  "crossclr")
                                             for path in sorted((CONFIGS / folder).glob("*.yaml"))]
METHOD_FOLDERS = ("aimclr", "crossclr")  # named after the method: aimclr_ntu60_xsub_3s


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path):
    from mgclr.data.info import DatasetInfo
    from mgclr.models import METHODS
    from mgclr.skeleton import get_layout
    from mgclr.train.build import build_model, build_pretrain_pipelines

    config = load_config(path)
    assert config.name in (path.stem, f"{path.parent.name}_{path.stem}") or path.parent.name == "cpu"
    # the data each config is written for, described as its dataset would be (iMiGUE: x, y + confidence)
    layout = get_layout(config.data.layout or "imigue22")
    coord = 2 if layout.name == "imigue22" and config.data.source == "mgclr" else 3
    info = DatasetInfo(layout=layout, channels=3, coord_channels=coord, persons=config.data.num_persons or 1,
                       frames=64, class_names=("a", "b"), source="a stand-in")
    # what the recipe leaves to the data (a config with fuse.runs keeps the default pipeline), for 1,000
    # sequences of 64 frames
    from mgclr.data import ArrayDataset
    from mgclr.train.recipe import resolve_recipe

    M = config.data.num_persons or 1
    stand_in = ArrayDataset(np.zeros((1000, 3, 1, layout.num_joints, M), np.float32), np.ones(1000, np.int64),
                            np.zeros(1000, np.int64))
    stand_in.lengths = np.full(1000, 64)
    config = resolve_recipe(config, stand_in)[0]
    pipelines = build_pretrain_pipelines(config, info)
    assert all(p.coord_channels == coord for p in pipelines.values())
    if path.parent.name == "cpu" or path.parent == CONFIGS or path.parent.name in METHOD_FOLDERS:
        build_model(config, info)  # the paper-size ones build too, but take a while on two cores
    for name, stream in config.model.streams.items():  # every extra view a method asks for has its pipeline
        for view in METHODS[stream.method.kind].extra_views:
            assert f"model.streams.{name}.method.views.{view}" in pipelines


def test_tiny_run_end_to_end(tmp_path, capsys):
    common = ["--set", f"output={tmp_path}", "--set", "pretrain.tensorboard=false"]
    assert main(["pretrain", TINY, *common, "--no-progress", "--max-steps", "8"]) == 0
    assert "8 steps" in capsys.readouterr().out
    assert main(["pretrain", TINY, *common, "--no-progress", "--resume"]) == 0
    assert main(["knn", TINY, *common]) == 0
    assert "k=20" in capsys.readouterr().out
    assert main(["linear", TINY, *common, "--json", str(tmp_path / "linear.json")]) == 0
    assert set(json.loads((tmp_path / "linear.json").read_text())) == {"joint", "sequence"}
    assert main(["fuse", TINY, *common, "--set", "fuse.tsne=false"]) == 0
    out = capsys.readouterr().out
    assert "joint+sequence" in out and "confusion" in out
    for row in ("joint", "sequence", "joint+sequence"):  # a confusion matrix of every row of the table
        assert (tmp_path / f"fuse_confusion_{row}.png").stat().st_size > 1000
    confusion = json.loads((tmp_path / "fuse.json").read_text())["confusion"]  # and its counts in fuse.json
    assert confusion["rows"] == "true class" and len(confusion["classes"]) == 12
    for row in ("joint", "sequence", "joint+sequence"):
        counts = confusion["counts"][row]
        assert len(counts) == 12 and sum(map(sum, counts)) == 48  # every test sample once
    for command in ("knn", "linear", "fuse"):  # every evaluation writes its result file, --json or not
        assert (tmp_path / f"{command}.json").is_file()
    kinds = {json.loads(line)["kind"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()}
    assert {"knn/joint", "linear/joint", "linear/sequence", "linear/result", "fuse/result"} <= kinds
    assert main(["finetune", TINY, *common, "--set", "finetune.epochs=1"]) == 0
    assert (tmp_path / "finetune.json").is_file()
    assert main(["bench", TINY, "--steps", "2", "--warmup", "1", "--json", str(tmp_path / "bench.json")]) == 0
    assert json.loads((tmp_path / "bench.json").read_text())["samples_per_s"] > 0


def test_config_errors_exit_2_naming_the_key(tmp_path, capsys):
    assert main(["pretrain", TINY, "--set", "pretrain.epochz=3", "--set", f"output={tmp_path}"]) == 2
    assert "pretrain.epochz: unknown key" in capsys.readouterr().err
    assert main(["linear", TINY, "--set", f"output={tmp_path / 'none'}"]) == 2
    assert "checkpoint: none in" in capsys.readouterr().err
    assert main(["pretrain", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_demo_prints_its_config(capsys):
    assert main(["demo", "--print-config"]) == 0
    assert "name: demo" in capsys.readouterr().out
