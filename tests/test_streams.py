"""Streams as data: any number of named streams with their input modality, weighted fusion of their scores within
a run and across runs, features out (mgclr embed, load_encoder, Recognizer.embed), and the config checks declared
on each field."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import typing

import numpy as np
import pytest
import torch

import mgclr
from mgclr.cli import main
from mgclr.train import ConfigError, load_config, parse_config
from mgclr.train import config as config_module
from mgclr.train.evaluate import fusion_accuracy

FOUR = textwrap.dedent("""
    name: four
    device: cpu
    data: {train_samples: 64, test_samples: 32, frames: 24, batch_size: 16}
    augment: {preset: paper_best, out_frames: 24}
    model:
      streams:
        joint: {input: joint, encoder: {kind: stgcn, args: {hidden_channels: 4, hidden_dim: 16}}, head_dim: 16,
                queue_size: 32}
        bone: {input: bone, encoder: {kind: stgcn, args: {hidden_channels: 4, hidden_dim: 16}}, head_dim: 16,
               queue_size: 32}
        motion: {input: motion, encoder: {kind: stgcn, args: {hidden_channels: 4, hidden_dim: 16}}, head_dim: 16,
                 queue_size: 32}
        sequence: {input: joint, encoder: {kind: bigru, args: {hidden: 8, layers: 1}}, head_dim: 16, queue_size: 32}
    pretrain: {epochs: 1, log_every: 1, tensorboard: false}
    linear: {epochs: 2}
    fuse:
      combinations:
        3s: [joint, bone, motion]
        joint+sequence: {joint: 0.6, sequence: 0.4}
        3s+sequence: [joint, bone, motion, sequence]
      weights: {motion: 0.5, sequence: 2.0}
      tsne: false
""")


@pytest.fixture
def four(tmp_path):
    path = tmp_path / "four.yaml"
    path.write_text(FOUR)
    return path


def test_four_streams_pretrain_in_one_loop_and_fuse_prints_every_combination(four, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--set", f"output={out}"]
    assert main(["pretrain", str(four), *common, "--no-progress", "--max-steps", "3"]) == 0
    assert "3 steps" in capsys.readouterr().out
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"joint_loss", "bone_loss", "motion_loss", "sequence_loss"} <= set(metrics[-1])
    assert main(["fuse", str(four), *common, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for row in ("joint", "bone", "motion", "sequence", "3s", "joint+sequence", "3s+sequence"):
        assert any(line.split() and line.split()[0] == row for line in printed.splitlines()), (row, printed)
    assert "3s = 1 joint + 1 bone + 0.5 motion" in printed
    assert "joint+sequence = 0.6 joint + 0.4 sequence" in printed
    report = json.loads((out / "fuse.json").read_text())
    assert report["combinations"] == {"3s": {"joint": 1.0, "bone": 1.0, "motion": 0.5},
                                      "joint+sequence": {"joint": 0.6, "sequence": 0.4},
                                      "3s+sequence": {"joint": 1.0, "bone": 1.0, "motion": 0.5, "sequence": 2.0}}
    assert list(report["table"]) == ["joint", "bone", "motion", "sequence", "3s", "joint+sequence", "3s+sequence"]
    # the recognizer holds the streams of the first combination, with its weights
    rec = mgclr.train.recognizer.Recognizer.load(out / "recognizer_linear.pt")
    assert rec.weights == {"joint": 1.0, "bone": 1.0, "motion": 0.5}
    assert rec.describe()["inputs"] == {"joint": "joint", "bone": "bone", "motion": "motion"}
    # a stream's input is part of what its weights mean: evaluating it as another modality is refused by name
    assert main(["knn", str(four), *common, "--set", "model.streams.bone.input=joint"]) == 2
    assert "model.streams.bone.input: the checkpoint" in capsys.readouterr().err


def test_features_out_of_a_run(four, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["pretrain", str(four), "--set", f"output={out}", "--no-progress", "--max-steps", "2"]) == 0
    from mgclr.data import generate

    data = generate(5, layout="imigue22", frames=24, num_persons=1, seed=9)
    np.save(tmp_path / "x.npy", data.x)
    np.save(tmp_path / "lengths.npy", data.lengths)
    assert main(["embed", str(out), str(tmp_path / "x.npy"), "--lengths", str(tmp_path / "lengths.npy"), "--stream",
                 "bone", "--out", str(tmp_path / "bone.npy"), "--no-progress"]) == 0
    features = np.load(tmp_path / "bone.npy")
    assert features.shape == (5, 16)
    encoder = mgclr.load_encoder(out, "bone")  # two lines from a run folder to features
    again = encoder(torch.from_numpy(data.x), torch.from_numpy(data.lengths))
    np.testing.assert_allclose(again.numpy(), features, rtol=1e-5, atol=1e-6)
    assert encoder.input.kind == "bone" and encoder.info.num_joints == 22
    assert main(["embed", str(out), str(tmp_path / "x.npy"), "--out", str(tmp_path / "all.npz"), "--no-progress"]) == 0
    with np.load(tmp_path / "all.npz") as saved:
        assert set(saved.files) == {"joint", "bone", "motion", "sequence", "labels"}
        assert saved["sequence"].shape == (5, 16)
    capsys.readouterr()
    assert main(["embed", str(out), str(tmp_path / "x.npy"), "--out", str(tmp_path / "f.npy")]) == 2
    assert "holds one stream's features; the run has joint, bone, motion, sequence" in capsys.readouterr().err
    with pytest.raises(ValueError, match="the run .* has the streams joint, bone, motion, sequence; name one"):
        mgclr.load_encoder(out)
    np.save(tmp_path / "bad.npy", data.x[:, :2])
    assert main(["embed", str(out), str(tmp_path / "bad.npy"), "--out", str(tmp_path / "g.npz")]) == 2
    assert "C=3, V=22 (imigue22), M=1" in capsys.readouterr().err


def _tiny(tmp_path, name, streams, extra=""):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""
        name: {name}
        output: {tmp_path / name}
        device: cpu
        data: {{train_samples: 48, test_samples: 24, frames: 16, batch_size: 16}}
        augment: {{preset: paper_best, out_frames: 16}}
        model:
          streams:
        """) + textwrap.indent(streams, "    ") + textwrap.dedent("""
        pretrain: {epochs: 1, log_every: 1, tensorboard: false}
        linear: {epochs: 2}
        fuse: {tsne: false, confusion: false}
        """) + extra)
    return path


AGCN = "joint: {encoder: {kind: agcn, args: {widths: [8, 8], strides: [1, 2]}}, head_dim: 16, queue_size: 32}\n"
GRU = "sequence: {encoder: {kind: bigru, args: {hidden: 8, layers: 1}}, head_dim: 16, queue_size: 32}\n"


def test_fuse_takes_streams_from_separate_run_folders(tmp_path, capsys):
    a, b = _tiny(tmp_path, "a", AGCN), _tiny(tmp_path, "b", GRU)
    for path in (a, b):
        assert main(["pretrain", str(path), "--no-progress"]) == 0
    assert main(["linear", str(a), "--no-progress", "--no-recognizer"]) == 0
    alone = json.loads((tmp_path / "a" / "linear.json").read_text())["joint"]
    fused = _tiny(tmp_path, "fused", AGCN, extra=textwrap.dedent(f"""
        fuse:
          runs: {{joint: {tmp_path / 'a'}, seq: {{run: {tmp_path / 'b'}, stream: sequence}}}}
          combinations: {{both: [joint, seq], mostly_joint: {{joint: 3, seq: 1}}}}
          tsne: false
        """).replace("fuse: {tsne: false, confusion: false}\n", ""))
    fused.write_text(fused.read_text().replace("fuse: {tsne: false, confusion: false}\n", ""))
    capsys.readouterr()
    assert main(["fuse", str(fused), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "fused" / "fuse.json").read_text())
    assert list(report["table"]) == ["joint", "seq", "both", "mostly_joint"], printed
    assert report["runs"]["seq"] == {"run": str(tmp_path / "b"), "stream": "sequence"}
    # each stream is evaluated with its own run's checkpoint and config: the joint row is run a's linear result
    assert report["table"]["joint"]["top1"] == pytest.approx(alone["top1_last"])
    rec = mgclr.train.recognizer.Recognizer.load(tmp_path / "fused" / "recognizer_linear.pt")
    assert list(rec.encoders) == ["joint", "seq"] and rec.describe()["inputs"] == {"joint": "joint", "seq": "joint"}
    # another test split (more test samples) is an error naming what differs
    c = _tiny(tmp_path, "c", GRU)
    c.write_text(c.read_text().replace("test_samples: 24", "test_samples: 20"))
    assert main(["pretrain", str(c), "--no-progress"]) == 0
    fused.write_text(fused.read_text().replace(str(tmp_path / "b"), str(tmp_path / "c")))
    capsys.readouterr()
    assert main(["fuse", str(fused), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "fuse.runs: the runs in" in err and "different test splits" in err and "samples differ" in err
    (tmp_path / "empty").mkdir()
    fused.write_text(fused.read_text().replace(str(tmp_path / "c"), str(tmp_path / "empty")))
    assert main(["fuse", str(fused), "--no-progress"]) == 2
    assert "fuse.runs.seq: " in capsys.readouterr().err


def test_fusion_weights_against_a_hand_made_score_table():
    labels = torch.tensor([0, 0, 1, 0])
    results = {"a": {"scores": torch.tensor([[0.6, 0.4], [0.3, 0.7], [0.55, 0.45], [0.2, 0.8]]), "labels": labels},
               "b": {"scores": torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]]), "labels": labels}}
    # a predicts 0, 1, 0, 1 (1 of 4 right); b 1, 0, 1, 1 (2 of 4); a + b 1, 0, 1, 1 (2 of 4); 3a + b 1, 1, 1, 1 (1)
    table = fusion_accuracy(results, {"equal": {"a": 1.0, "b": 1.0}, "mostly_a": {"a": 3.0, "b": 1.0},
                                  "only_b": {"b": 1.0}})
    assert {k: v["top1"] for k, v in table.items()} == {"a": 0.25, "b": 0.5, "equal": 0.5, "mostly_a": 0.25,
                                                        "only_b": 0.5}
    fuse = config_module.FuseConfig(combinations={"3s": ["a", "b"], "w": {"a": 2, "b": 0}}, weights={"b": 0.5})
    assert config_module.fusion_combinations(fuse, ["a", "b"]) == {"3s": {"a": 1.0, "b": 0.5},
                                                                   "w": {"a": 2.0, "b": 0.0}}
    assert config_module.fusion_combinations(config_module.FuseConfig(), ["a", "b", "c"]) == {
        "a+b+c": {"a": 1.0, "b": 1.0, "c": 1.0}}
    assert config_module.fusion_combinations(config_module.FuseConfig(), ["a"]) == {}


def test_recognizer_fuses_with_its_weights(tmp_path):
    from mgclr.train import linear_eval
    from mgclr.train.build import load_splits
    from mgclr.train.recognizer import Recognizer

    path = _tiny(tmp_path, "r", AGCN + GRU)
    config = load_config(path)
    mgclr.train.pretrain(config, show_progress=False)
    results = linear_eval(config, torch.device("cpu"))
    _, test_set, info = load_splits(config.data)
    rec = Recognizer.from_results(info, results, "linear", {"joint": 3.0, "sequence": 1.0})
    x, lengths = torch.from_numpy(np.asarray(test_set.x)), torch.as_tensor(np.asarray(test_set.lengths))
    features = rec.embed(x, lengths)
    assert set(features) == {"joint", "sequence"} and features["joint"].shape == (24, 8)
    probs = {n: rec.classifiers[n](f).softmax(1) for n, f in features.items()}
    torch.testing.assert_close(rec(x, lengths), 0.75 * probs["joint"] + 0.25 * probs["sequence"])
    loaded = Recognizer.load(rec.save(tmp_path / "rec.pt"))
    assert loaded.weights == {"joint": 3.0, "sequence": 1.0}
    torch.testing.assert_close(loaded(x, lengths), rec(x, lengths))
    with pytest.raises(ValueError, match="weights: no stream 'bone'"):
        Recognizer.from_results(info, results, "linear", {"bone": 1.0})


def test_gradient_clipping_bounds_the_gradient_norm(tmp_path):
    from mgclr.train import train_step
    from mgclr.train.build import build_model, build_pretrain_pipelines, load_splits, sgd

    config = load_config(_tiny(tmp_path, "clip", AGCN + GRU))
    train_set, _, info = load_splits(config.data)
    x = torch.stack([train_set[i][0] for i in range(16)])
    lengths = torch.tensor([int(train_set[i][1]) for i in range(16)])
    norms = {}
    for clip in (None, 1e-3):
        model = build_model(config, info)
        pipelines = build_pretrain_pipelines(config, info)
        params = [p for s in model.streams.values() for p in s.query_parameters()]
        train_step(model, pipelines, sgd(params, config.pretrain.optim), x, lengths, seed=0, grad_clip=clip)
        grads = [p.grad.norm() for p in params if p.grad is not None]
        norms[clip] = float(torch.linalg.vector_norm(torch.stack(grads)))
    assert norms[None] > 10 * 1e-3  # the clip bites
    assert norms[1e-3] == pytest.approx(1e-3, rel=1e-3)


def test_old_stream_keys_show_the_new_form():
    with pytest.raises(ConfigError) as exc:
        parse_config({"model": {"spatial": {"encoder": {"kind": "agcn"}, "queue_size": 512},
                                "temporal": {"encoder": {"kind": "bigru"}}, "cross_stream_weight": 0.5}})
    text = str(exc.value)
    assert text.startswith("model.spatial: the streams are named entries of model.streams now")
    new = text.split("new form:\n", 1)[1]
    import yaml

    shown = yaml.safe_load(textwrap.dedent(new))
    assert shown["model"]["cross_stream"] == [{"streams": ["spatial", "temporal"], "weight": 0.5}]
    again = parse_config(shown)  # what the message shows is a valid config
    assert list(again.model.streams) == ["spatial", "temporal"] and again.model.streams["spatial"].queue_size == 512


@pytest.mark.parametrize("override,message", [
    ("pretrain.lr=0.1", "pretrain.lr: unknown key; did you mean pretrain.optim.lr?"),
    ("model.streams.joint.lr=0.1", "did you mean pretrain.optim.lr?"),
    ("pretrain.optim.milestone=[3]", "did you mean pretrain.optim.milestones?"),
    ("model.streams.joint.inptu=bone", "did you mean model.streams.joint.input?"),
    ("model.head_dim=8", "did you mean model.streams.NAME.head_dim?"),
    ("model.streams.joint.encoder.args.wdiths=[4]", "unknown argument of AGCN (agcn); did you mean widths?"),
    ("model.streams.sequence.encoder.args.hiden=4", "unknown argument of ISCBiGRU (isc_bigru); did you mean hidden?"),
    ("model.streams.joint.encoder.args.in_channels=4", "set by the data"),
    ("model.streams.joint.input=velocity", "model.streams.joint.input: expected one of ('joint', 'bone'"),
    ("model.streams.bad-name={}", "model.streams: expected names made of letters"),
    ("model.cross_stream=[{streams: [joint, joint]}]", "model.cross_stream[0].streams: expected two different"),
    ("model.cross_stream=[{streams: [joint, bone]}]", "no stream 'bone' in model.streams (joint, sequence)"),
    ("fuse.combinations={3s: [joint, bone]}", "fuse.combinations.3s: no stream 'bone' in model.streams"),
    ("fuse.combinations={x: {joint: 0, sequence: 0}}", "fuse.combinations.x: expected weights that do not sum to 0"),
    ("fuse.combinations={x: [joint, joint]}", "a stream is named twice"),
    ("fuse.weights={bone: 1}", "fuse.weights.bone: no such stream"),
    ("fuse.runs={joint: 3}", "fuse.runs.joint: expected a run folder"),
])
def test_config_mistakes_name_the_key_and_the_nearest(override, message):
    with pytest.raises(ConfigError) as exc:
        load_config(None, [override])
    assert message in str(exc.value)


# --------------------------------------------- every numeric field, just outside its declared range


def _numeric_fields(cls=None, prefix=""):
    """(dotted key, field, number type, container) of every number in the schema."""
    cls = cls or config_module.ExperimentConfig
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        tp, container = hints[f.name], None
        if typing.get_origin(tp) is typing.Union:
            tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
        if typing.get_origin(tp) in (list, dict):
            container = typing.get_origin(tp)
            tp = typing.get_args(tp)[-1]
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            sub = "model.streams.joint." if container is dict else "model.cross_stream[0]." if container is list \
                else key + "."
            yield from _numeric_fields(tp, sub)
        elif tp in (int, float):
            yield key, f, tp, container


NUMERIC = list(_numeric_fields())


def _outside(f, tp):
    assert "range" in f.metadata, f"{f.name}: a numeric config field without a declared range (use bounded())"
    low, high, low_open, high_open = f.metadata["range"]
    step = 1 if tp is int else 1e-3
    values = []
    if low != -float("inf"):
        values.append(low if low_open else low - step)
    if high != float("inf"):
        values.append(high if high_open else high + step)
    return values


def _override(key, container, value):
    if key.startswith("model.cross_stream[0]."):
        return f"model.cross_stream=[{{streams: [joint, sequence], {key.rsplit('.', 1)[1]}: {value}}}]", \
            "model.cross_stream[0]." + key.rsplit(".", 1)[1]
    if container is list:
        return f"{key}=[{value}]", f"{key}[0]"
    if container is dict:
        return f"{key}={{joint: {value}}}", f"{key}.joint"
    return f"{key}={value}", key


@pytest.mark.parametrize("key,f,tp,container", NUMERIC, ids=[k for k, *_ in NUMERIC])
def test_each_numeric_field_refuses_a_value_just_outside_its_range(key, f, tp, container):
    values = _outside(f, tp)
    assert values, f"{key}: a range that refuses nothing"
    for value in values:
        item, named = _override(key, container, value)
        with pytest.raises(ConfigError) as exc:
            load_config(None, [item])
        assert str(exc.value).startswith(f"{named}: expected"), (item, str(exc.value))


def test_the_numeric_battery_covers_the_fields_the_issue_names():
    keys = {k for k, *_ in NUMERIC}
    assert {"knn.temperature", "pretrain.grad_clip", "pretrain.optim.gamma", "model.streams.joint.head_hidden",
            "pretrain.checkpoint_every", "model.cross_stream[0].weight", "fuse.weights"} <= keys


def test_a_resumed_pretraining_keeps_the_evaluation_records(tmp_path):
    from mgclr.train.metrics import truncate_metrics

    lines = [{"kind": "train", "step": 5}, {"kind": "train", "step": 12}, {"kind": "knn", "step": 11},
             {"kind": "linear/joint", "step": 40}, {"kind": "fuse/result", "step": 0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    truncate_metrics(tmp_path, 10)
    kept = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert kept == [lines[0], lines[3], lines[4]]


def test_embed_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["embed", "--help"])
    assert exc.value.code == 0
    assert "--stream" in capsys.readouterr().out
