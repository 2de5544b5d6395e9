"""``mgclr compare`` (pretrained vs random init vs supervised, one run) and ``mgclr sweep`` (one run per
augmentation and pair, sorted, with the no-augmentation line), on the tiny synthetic config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mgclr.cli import main
from mgclr.train import ConfigError, load_config
from mgclr.train.sweep import NO_AUGMENTATION, sweep_runs

TINY = str(Path(__file__).resolve().parents[1] / "configs" / "cpu" / "tiny.yaml")
RESIZE = "sweep.fixed=[{name: crop_resize, eval_ratio: 1.0, out_frames: 16}]"


def test_sweep_runs_take_the_experiments_op_arguments():
    config = load_config(TINY, ["augment={ops: [{name: stretch, s: [0.5, 1.5]}, {name: shear, r: 0.3}]}", RESIZE,
                                "sweep.augment=[stretch, posterize_time, shear]", "sweep.pairs=true"])
    runs = dict(sweep_runs(config))
    assert list(runs) == [NO_AUGMENTATION, "stretch", "posterize_time", "shear", "stretch+posterize_time",
                          "stretch+shear", "posterize_time+shear"]
    resize = {"name": "crop_resize", "eval_ratio": 1.0, "out_frames": 16}
    assert runs[NO_AUGMENTATION] == {"ops": [resize]}
    assert runs["stretch+shear"] == {"ops": [resize, {"name": "stretch", "s": [0.5, 1.5]}, {"name": "shear", "r": 0.3}]}
    assert runs["posterize_time"] == {"ops": [resize, {"name": "posterize_time"}]}  # not in the config: defaults


@pytest.mark.parametrize("overrides, match", [
    ([], "sweep.augment: expected the op names to compare"),
    (["sweep.augment=[strech]"], r"sweep.augment\[0\]: unknown op 'strech'; known ops: .*stretch"),
    (["sweep.augment=[shear, shear]"], "sweep.augment: shear given twice"),
    (["sweep.augment=[crop_resize]", RESIZE], "crop_resize is also in sweep.fixed"),
    (["sweep.augment=[shear]"], "sweep.fixed: the no-augmentation run needs at least one op"),
    (["sweep.augmnt=[shear]"],
     "sweep.augmnt: unknown key; did you mean sweep.augment\\? sweep takes augment, pairs, fixed, epochs"),
])
def test_sweep_config_errors(overrides, match):
    with pytest.raises(ConfigError, match=match):
        sweep_runs(load_config(TINY, overrides))


def test_sweep_end_to_end_and_reuse(tmp_path, capsys):
    args = ["sweep", TINY, "--augment", "stretch,shear", "--epochs", "1", "--no-progress", "--set", RESIZE,
            "--set", f"output={tmp_path}", "--set", "linear.epochs=2", "--json", str(tmp_path / "s.json")]
    assert main(args) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "s.json").read_text())
    labels = [r["augment"] for r in report["runs"]]
    assert sorted(labels) == sorted([NO_AUGMENTATION, "stretch", "shear"])
    fused = [r["joint+sequence"] for r in report["runs"]]
    assert fused == sorted(fused, reverse=True) and all(0 <= f <= 1 for f in fused)
    assert "vs none" in out and "augmentation" in out
    csv = (tmp_path / "sweep" / "sweep.csv").read_text().splitlines()
    assert csv[0] == "augment,joint_top1,sequence_top1,joint+sequence_top1,joint+sequence_vs_none" and len(csv) == 4
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 1000
    assert (tmp_path / "sweep" / "shear" / "checkpoint.pt").is_file()
    # Run again: every run is reused, the results are the same.
    assert main(args) == 0
    assert capsys.readouterr().out.count("reusing") == 3
    assert json.loads((tmp_path / "s.json").read_text())["runs"] == report["runs"]


def test_compare_with_supervised_reference(tmp_path, capsys):
    assert main(["compare", TINY, "--supervised", "--no-progress", "--set", f"output={tmp_path}",
                 "--set", "fuse.tsne=false", "--set", "finetune.epochs=1", "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "random init" in out and "pretrained" in out and "supervised" in out and "chance" in out
    report = json.loads((tmp_path / "c.json").read_text())
    for column in ("pretrained", "random_init", "supervised"):
        assert set(report[column]) == {"joint", "sequence", "joint+sequence"}
    assert set(report["seconds"]) == {"pretrain", "linear", "supervised", "total"}
    assert (tmp_path / "compare.json").is_file() and (tmp_path / "compare_random_init.json").is_file()
