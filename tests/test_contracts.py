"""The layers check each other (issue 14): what a dataset says about itself drives training; a config that
contradicts it is an error naming both values; one run per folder; a checkpoint knows its config and data, so
a --set that changes a shape is refused by name; the recognizer brings its own normalisation."""

from __future__ import annotations

import json
import pickle
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from mgclr.cli import main
from mgclr.data.format import DatasetWriter, SkeletonDataset
from mgclr.data.info import DatasetInfo
from mgclr.data.normalise import openpose_video_spec
from mgclr.skeleton import get_layout
from mgclr.train import ConfigError, load_config, pretrain
from mgclr.train.build import build_model, build_pipeline, build_pretrain_pipelines, load_splits
from mgclr.train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
IMIGUE_CONFIG = ROOT / "configs" / "pretrain" / "imigue.yaml"
CLASSES = [f"MG{k}" for k in range(1, 32)] + ["non_mg"]


def imigue_like(folder: Path, n: int = 24, frames: int = 40) -> Path:
    """A small dataset in the iMiGUE converter's format: imigue22, C = 3 (x, y, confidence), 2 coordinate
    channels, one person, 25 fps, xsub splits; each sample's confidence is one constant (0.5 + n / 100)."""
    rng = np.random.default_rng(0)
    writer = DatasetWriter(folder, channels=3, frames=frames, joints=22, persons=1, layout="imigue22",
                           class_names=CLASSES, coord_channels=2, channel_names=["x", "y", "confidence"], fps=25.0,
                           normalise=openpose_video_spec())
    parts = {"train": [], "test": []}
    for i in range(n):
        T = int(rng.integers(frames // 2, frames + 1))
        x = np.zeros((3, T, 22, 1), np.float32)
        x[:2] = rng.normal(size=(2, T, 22, 1))
        x[2] = 0.5 + i / 100
        index = writer.add(x, T, i % 32, id=f"v{i}_1", video=f"v{i}")
        parts["train" if i < 2 * n // 3 else "test"].append(index)
    return writer.finish(splits={"xsub": parts}, provenance={"converter": "test"}, normalisation="test")


TINY = textwrap.dedent("""
    name: tiny
    data: {train_samples: 48, test_samples: 24, frames: 24, batch_size: 8}
    augment: {preset: paper_best, out_frames: 24}
    model:
      streams:
        joint: {encoder: {kind: agcn, args: {widths: [8, 8], strides: [1, 2]}}, head_dim: 64, queue_size: 32}
        sequence: {encoder: {kind: bigru, args: {hidden: 8, layers: 1}}, head_dim: 16, queue_size: 32}
    pretrain: {epochs: 1, knn_every: 0, log_every: 1, tensorboard: false}
    linear: {epochs: 1}
    fuse: {tsne: false, confusion: false}
""")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def run_cli(*args):
    return main([str(a) for a in args])


# --------------------------------------------------------------------------- the dataset describes itself


def test_the_paper_imigue_config_runs_on_2d_plus_confidence_data(tmp_path, capsys):
    data = imigue_like(tmp_path / "imigue")
    common = ["--set", f"data.path={data}", "--set", "data.batch_size=8", "--set", "data.num_workers=0",
              "--set", "pretrain.tensorboard=false", "--no-progress"]
    assert run_cli("pretrain", IMIGUE_CONFIG, "--set", f"output={tmp_path / 'run'}", *common, "--max-steps", 2) == 0
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["step"] == 2 and state["data"]["coord_channels"] == 2 and state["data"]["fps"] == 25.0
    config = load_config(IMIGUE_CONFIG, [f"data.path={data}"])
    _, _, info = load_splits(config.data)
    (pipe,) = build_pretrain_pipelines(config, info).values()
    assert pipe.coord_channels == 2 and info.channels == 3 and info.channel_names[2] == "confidence"

    # the confidence channel is carried, never transformed as a coordinate: a constant stays that constant
    x = torch.from_numpy(np.array(SkeletonDataset(data).data[:8]))
    lengths = torch.as_tensor(SkeletonDataset(data).lengths[:8])
    (q, k), params = pipe(x, lengths, seed=3, return_params=True)
    for view, out_len in ((q, params.lengths[0]), (k, params.lengths[1])):
        for n in range(8):
            valid = view[n, 2, :int(out_len[n])]
            assert torch.allclose(valid, torch.full_like(valid, 0.5 + n / 100), atol=1e-6)
            assert not view[n, 2, int(out_len[n]):].any()
    # with the confidence read as depth (the old config's coord_channels: 3) it would have moved
    wrong = build_pipeline("augment", {"preset": "paper_best", "out_frames": 64}, _as_3d(info))
    (q3, _), p3 = wrong(x, lengths, seed=3, return_params=True)
    assert not torch.allclose(q3[0, 2, :int(p3.lengths[0][0])], torch.full_like(q3[0, 2, :int(p3.lengths[0][0])],
                                                                                  0.5), atol=1e-3)

    capsys.readouterr()
    assert run_cli("pretrain", IMIGUE_CONFIG, "--set", f"output={tmp_path / 'run3'}", *common, "--max-steps", 1,
                   "--set", "augment.coord_channels=3") == 2
    err = capsys.readouterr().err
    assert "augment.coord_channels: the config says 3, the dataset" in err and "says 2" in err
    assert "x, y, confidence" in err and not (tmp_path / "run3" / "checkpoint.pt").exists()


def _as_3d(info: DatasetInfo) -> DatasetInfo:
    import dataclasses

    return dataclasses.replace(info, coord_channels=3, channel_names=("x", "y", "z"))


def test_config_values_that_contradict_the_dataset_name_both(tmp_path, tiny):
    data = imigue_like(tmp_path / "imigue")
    base = ["data.source=mgclr", f"data.path={data}", "data.train_split=xsub/train", "data.test_split=xsub/test",
            f"output={tmp_path / 'run'}"]
    cases = [("data.layout=ntu25", r"data.layout: the config says 'ntu25', the dataset \(.*meta.json\) says 'imigue22"),
             ("data.num_persons=2", r"data.num_persons: the config says 2, the dataset .* says 1 \(M of data.npy\)"),
             ("data.coord_channels=3", r"data.coord_channels: the config says 3, the dataset .* says 2"),
             ("augment={ops: [{name: flip, layout: ntu25}]}",
              r"augment.ops\[0\].layout: the config says 'ntu25', the dataset .* says 'imigue22'")]
    for override, match in cases:
        config = load_config(tiny, base + [override])
        with pytest.raises(ConfigError, match=match):
            _, _, info = load_splits(config.data)
            build_pretrain_pipelines(config, info)
    # left out, every one of them is the dataset's; a flip takes the dataset's layout
    config = load_config(tiny, base + ["augment={ops: [{name: flip, p: 1.0}, {name: stretch}]}"])
    _, _, info = load_splits(config.data)
    (pipe,) = build_pretrain_pipelines(config, info).values()
    assert pipe.coord_channels == 2 and pipe.ops[0].layout.name == "imigue22"
    model = build_model(config, info)
    encoder = model.streams["joint"].encoder_q.encoder
    assert encoder.in_channels == 3 and encoder.num_persons == 1


def test_a_custom_layout_declared_in_yaml_drives_the_model_and_is_kept_in_the_checkpoint(tmp_path, tiny):
    layout = {"name": "arm5", "joints": ["chest", "left_elbow", "left_hand", "right_elbow", "right_hand"],
              "bones": [["left_elbow", "chest"], ["left_hand", "left_elbow"], ["right_elbow", "chest"],
                        ["right_hand", "right_elbow"]], "center": "chest"}
    rng = np.random.default_rng(1)
    for split, n in (("train", 24), ("test", 8)):
        np.save(tmp_path / f"{split}_x.npy", rng.normal(size=(n, 3, 12, 5, 1)).astype(np.float32))
        np.save(tmp_path / f"{split}_lengths.npy", np.full(n, 12, np.int64))
        np.save(tmp_path / f"{split}_labels.npy", np.arange(n, dtype=np.int64) % 3)
    base = ["data.source=arrays", f"data.path={tmp_path}", f"output={tmp_path / 'run'}", "augment={ops: "
            "[{name: flip}, {name: shear}]}"]
    with pytest.raises(ConfigError, match=r"data.layout: expected the layout of .* its files do not say"):
        load_splits(load_config(tiny, base).data)
    config = load_config(tiny, base + [f"data.layout={json.dumps(layout)}"])
    pretrain(config, show_progress=False)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["data"]["layout"]["name"] == "arm5" and state["data"]["layout"]["left_right"] == [0, 3, 4, 1, 2]
    assert DatasetInfo.from_dict(state["data"]).layout.joint_names[2] == "left_hand"
    bad = dict(layout, bones=layout["bones"][:3])
    with pytest.raises(ConfigError, match=r"data.layout: .*not a spanning tree"):
        load_config(tiny, base + [f"data.layout={json.dumps(bad)}"])
    with pytest.raises(ConfigError, match=r"data.layout: name 'ntu25' is a built-in layout"):
        load_config(tiny, base + [f"data.layout={json.dumps(dict(layout, name='ntu25'))}"])
    with pytest.raises(ConfigError, match=r"data.layout.joint: unknown key"):
        load_config(tiny, base + [f"data.layout={json.dumps(dict(layout, joint=1))}"])


def test_coco17_pyskl_2d_keypoints_with_scores(tmp_path, tiny):
    rng = np.random.default_rng(2)
    annotations = [{"frame_dir": f"clip{i}", "label": i % 2, "total_frames": 10,
                    "keypoint": rng.uniform(0, 500, size=(1, 10, 17, 2)).astype(np.float32),
                    "keypoint_score": rng.uniform(0, 1, size=(1, 10, 17)).astype(np.float32)} for i in range(12)]
    path = tmp_path / "coco.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"split": {"train": [f"clip{i}" for i in range(8)], "val": [f"clip{i}" for i in range(8, 12)]},
                     "annotations": annotations}, fh)
    config = load_config(tiny, ["data.source=pyskl", f"data.path={path}", "data.train_split=train",
                                "data.test_split=val", "data.layout=coco17"])
    train, _, info = load_splits(config.data)
    assert info.layout == get_layout("coco17") and (info.channels, info.coord_channels) == (3, 2)
    assert info.persons == 1 and len(train) == 8
    (pipe,) = build_pretrain_pipelines(config, info).values()
    assert pipe.coord_channels == 2


# ------------------------------------------------------------------------------------------ run folders


def test_one_run_per_folder_resume_overwrite_and_config_yaml(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    common = ["--set", f"output={out}", "--no-progress"]
    assert run_cli("pretrain", tiny, *common, "--max-steps", 2) == 0
    capsys.readouterr()
    assert run_cli("pretrain", tiny, *common, "--max-steps", 2) == 2
    err = capsys.readouterr().err
    assert f"{out} already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert run_cli("pretrain", tiny, *common, "--resume", "--overwrite") == 2
    assert "give one" in capsys.readouterr().err

    # --resume extends the run; config.yaml is rewritten with the new epochs; each step logged once
    assert run_cli("pretrain", tiny, *common, "--resume", "--set", "pretrain.epochs=2") == 0
    assert "pretrain:\n  epochs: 2" in (out / "config.yaml").read_text()
    steps = [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
             if r["kind"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 12
    assert load_checkpoint(out / "checkpoint.pt")["config"]["pretrain"]["epochs"] == 2

    # --overwrite starts over: the old run's files are gone first
    (out / "stale_result.json").write_text("{}")
    assert run_cli("pretrain", tiny, *common, "--overwrite", "--max-steps", 1) == 0
    assert not (out / "stale_result.json").exists()
    assert [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
            if r["kind"] == "train"] == [1]
    # a folder with other files but no run is never deleted
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert run_cli("pretrain", tiny, "--set", f"output={other}", "--no-progress", "--overwrite") == 2
    assert "refusing to delete" in capsys.readouterr().err and (other / "notes.txt").exists()


def test_a_set_that_changes_a_shape_is_refused_by_name(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    assert run_cli("pretrain", tiny, "--set", f"output={out}", "--no-progress", "--max-steps", 2) == 0
    capsys.readouterr()
    assert run_cli("knn", tiny, "--set", f"output={out}", "--set", "model.streams.joint.head_dim=32") == 2
    err = capsys.readouterr().err
    assert "model.streams.joint.head_dim: the checkpoint" in err and "trained with 64" in err and "gives 32" in err
    assert "size mismatch" not in err
    assert run_cli("pretrain", tiny, "--set", f"output={out}", "--no-progress", "--resume",
                   "--set", "model.streams.sequence.encoder.args.hidden=12") == 2
    assert "model.streams.sequence.encoder.args.hidden: the checkpoint" in capsys.readouterr().err
    assert run_cli("linear", tiny, "--set", f"output={out}", "--set", "model.streams.sequence=null",
                   "--no-recognizer") == 2
    assert "model.streams: the checkpoint" in capsys.readouterr().err

    # a config *file* that differs is overruled by the checkpoint (with a warning naming the keys)
    edited = tmp_path / "edited.yaml"
    edited.write_text(TINY.replace("head_dim: 64", "head_dim: 48"))
    with pytest.warns(UserWarning, match=r"model.streams.joint.head_dim = 64 \(config: 48\)"):
        assert run_cli("knn", edited, "--set", f"output={out}") == 0
    # --set of a key that decides no shape is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_cli("knn", tiny, "--set", f"output={out}", "--set", "model.streams.joint.temperature=0.2") == 0


def test_resume_and_evaluation_refuse_other_data(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    assert run_cli("pretrain", tiny, "--set", f"output={out}", "--no-progress", "--max-steps", 1) == 0
    capsys.readouterr()
    assert run_cli("knn", tiny, "--set", f"output={out}", "--set", "data.num_persons=2") == 2
    assert "data: the checkpoint" in (err := capsys.readouterr().err) and "M (persons) 1" in err


# ------------------------------------------------------------------------------------------------- files


def test_atomic_writes_leave_the_old_file_on_failure(tmp_path):
    from mgclr._files import write_json_atomic

    path = write_json_atomic(tmp_path / "r.json", {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary left behind
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # the mode a plain write gives
