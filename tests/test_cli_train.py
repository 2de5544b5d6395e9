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


def test_an_augment_typo_fails_before_any_data_is_read(tmp_path, capsys):
    # The data folder does not exist: the augment key must be named first, not the missing data.
    missing = tmp_path / "no_such_dataset"
    args = ["pretrain", TINY, "--set", "data.source=mgclr", "--set", f"data.path={missing}",
            "--set", f"output={tmp_path / 'run'}"]
    assert main(args + ["--set", "augment={ops: [{name: crop_resize, scal: [0.5, 1.0]}]}"]) == 2
    err = capsys.readouterr().err
    assert "augment.ops[0] (crop_resize): unknown argument(s) ['scal']; did you mean scale?" in err
    assert str(missing) not in err and not (tmp_path / "run").exists()
    assert main(args) == 2  # without the typo it is the data that fails
    assert str(missing) in capsys.readouterr().err


@pytest.mark.parametrize("key, spec, message", [
    ("augment", {"preset": "paper_best", "out_frame": "auto"},
     "augment: preset 'paper_best': unknown argument(s) ['out_frame']; did you mean out_frames?"),
    ("augment", {"preset": "paper_bst"}, "augment: unknown preset 'paper_bst'; did you mean paper_best?"),
    ("augment", {"opps": []}, "augment: unknown key(s) ['opps']; did you mean ops?"),
    ("augment", {"ops": [{"name": "shaer"}]}, "augment.ops[0]: unknown op 'shaer'; known ops:"),
    ("augment", {"ops": [{"one_of": [{"name": "shear", "sigma": 1}]}]},
     "augment.ops[0].one_of[0] (shear): unknown argument(s) ['sigma']"),
    ("model.streams.joint.augment", {"ops": [{"name": "crop_resize", "outframes": 8}]},
     "model.streams.joint.augment.ops[0] (crop_resize): unknown argument(s) ['outframes']; did you mean out_frames?"),
    ("linear.test_augment", {"ops": [{"name": "crop_resize", "eval_ratoi": 0.9}]},
     "linear.test_augment.ops[0] (crop_resize): unknown argument(s) ['eval_ratoi']; did you mean eval_ratio?"),
    ("finetune.augment", {"preset": "isc", "two_view": True},
     "finetune.augment: preset 'isc': unknown argument(s) ['two_view']; did you mean two_views?"),
    ("model.streams.joint.method.views.extreme", {"preset": "aimclr_extrme"},
     "model.streams.joint.method.views.extreme: unknown preset 'aimclr_extrme'; did you mean aimclr_extreme?"),
])
def test_every_augment_spec_is_checked_when_the_config_is_read(key, spec, message):
    from mgclr.train import ConfigError
    from mgclr.train.config import apply_overrides, parse_config

    data = apply_overrides({}, [f"{key}={json.dumps(spec)}"])
    if key.endswith("views.extreme"):
        data["model"]["streams"]["joint"]["method"]["kind"] = "aimclr"
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert message in str(exc.value)


def test_demo_prints_its_config(capsys):
    assert main(["demo", "--print-config"]) == 0
    assert "name: demo" in capsys.readouterr().out
