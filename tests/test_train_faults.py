"""Training's faults: a NaN loss ends the run with an error naming the step and what went
non-finite first (the input, an augmented view, the weights, or the forward pass), before the step's update
and without a checkpoint of NaN weights; a checkpoint with NaN weights is refused by --resume and by the
evaluation commands. Before, such runs finished with exit 0 and NaN weights."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
import torch

from mgclr.cli import main
from mgclr.train import load_config, pretrain
from mgclr.train.build import build_model, build_pretrain_pipelines, load_splits, sgd
from mgclr.train.checkpoint import load_checkpoint, save_checkpoint
from mgclr.train.pretrain import NonFiniteLossError, train_step

TINY = textwrap.dedent("""
    name: tiny
    data: {source: arrays, layout: kinect20, batch_size: 12}
    augment: {ops: [{name: shear}]}
    model:
      streams:
        joint: {encoder: {kind: agcn, args: {widths: [8, 8], strides: [1, 2]}}, head_dim: 16, queue_size: 24}
        sequence: {encoder: {kind: bigru, args: {hidden: 8, layers: 1}}, head_dim: 16, queue_size: 24}
    pretrain: {epochs: 2, knn_every: 0, log_every: 1, tensorboard: false}
""")


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("test", 6)):
        np.save(tmp_path / f"{split}_x.npy", rng.normal(size=(n, 3, 10, 20, 1)).astype(np.float32))
        np.save(tmp_path / f"{split}_lengths.npy", np.full(n, 10, np.int64))
        np.save(tmp_path / f"{split}_labels.npy", np.arange(n, dtype=np.int64) % 3)
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path


def config_for(folder, *overrides):
    return load_config(folder / "tiny.yaml", [f"data.path={folder}", f"output={folder / 'run'}", *overrides])


def test_nan_in_the_data_stops_at_step_one_naming_the_input(arrays, capsys):
    x = np.load(arrays / "train_x.npy")
    x[4, 1, 3, 7, 0] = np.nan
    np.save(arrays / "train_x.npy", x)
    with pytest.raises(NonFiniteLossError, match=r"pretrain: step 1 \(epoch 1\): the loss is nan .*first non-finite: "
                                                 r"the input batch .*no checkpoint was written"):
        pretrain(config_for(arrays), show_progress=False)
    assert not (arrays / "run" / "checkpoint.pt").exists()
    assert main(["pretrain", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
                 f"output={arrays / 'run2'}", "--no-progress"]) == 2
    assert "step 1 (epoch 1)" in capsys.readouterr().err


def test_nan_weights_are_named_and_the_update_is_not_made(arrays):
    config = config_for(arrays)
    train_set, _, info = load_splits(config.data)
    model = build_model(config, info)
    pipelines = build_pretrain_pipelines(config, info)
    optimizer = sgd([p for s in model.streams.values() for p in s.query_parameters()], config.pretrain.optim)
    with torch.no_grad():
        model.streams["sequence"].encoder_q.encoder.gru.weight_hh_l0[0, 0] = float("inf")
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    x = torch.from_numpy(np.array(train_set.x))
    lengths = torch.as_tensor(train_set.lengths)
    with pytest.raises(NonFiniteLossError, match=r"sequence nan.*first non-finite: the weights "
                                                 r"\(streams\.sequence\.encoder_q\.encoder\.gru\.weight_hh_l0\)"):
        train_step(model, pipelines, optimizer, x, lengths, seed=0)
    after = dict(model.named_parameters())
    assert all(torch.equal(before[k], after[k]) for k in before)  # no optimiser step was taken
    # without the check (the caller's choice) the step goes through
    train_step(model, pipelines, optimizer, x, lengths, seed=0, check_finite=False)


def test_a_checkpoint_with_nan_weights_is_refused(arrays, capsys):
    config = config_for(arrays)
    pretrain(config, show_progress=False, max_steps=1)
    path = arrays / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    name = next(k for k, v in state["model"].items() if v.is_floating_point() and "encoder_q" in k)
    state["model"][name].view(-1)[0] = float("nan")
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(ValueError, match=rf"--resume: .*checkpoint.pt holds non-finite weights \({name} "):
        pretrain(config, show_progress=False, resume=True)
    assert main(["knn", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
                 f"output={arrays / 'run'}"]) == 2
    assert f"holds non-finite weights ({name}" in capsys.readouterr().err


def test_a_full_disk_while_checkpointing_names_the_file_and_the_space(arrays, monkeypatch):
    from mgclr.train.checkpoint import CheckpointWriteError

    config = config_for(arrays)
    pretrain(config, show_progress=False, max_steps=1)
    before = (arrays / "run" / "checkpoint.pt").read_bytes()
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f: real_save(obj, "/dev/full"))  # ENOSPC, as torch reports it
    message = r"checkpoint: cannot write .*checkpoint\.pt \(\[enforce fail at inline_container.*MiB free on .*the " \
              r"previous checkpoint is intact"
    with pytest.raises(CheckpointWriteError, match=message):
        pretrain(config, show_progress=False, resume=True, max_steps=2)
    monkeypatch.undo()
    assert (arrays / "run" / "checkpoint.pt").read_bytes() == before
    assert not [p for p in (arrays / "run").iterdir() if p.name.startswith(".")]  # no temporary left


def test_resume_with_another_batch_size_or_an_incomplete_checkpoint(arrays, capsys):
    config = config_for(arrays)
    pretrain(config, show_progress=False, max_steps=1)
    argv = ["pretrain", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set", f"output={arrays / 'run'}",
            "--no-progress", "--resume"]
    assert main(argv + ["--set", "data.batch_size=6"]) == 2  # before: StopIteration
    assert "data.batch_size: the run in" in (err := capsys.readouterr().err) and "trained with 12" in err
    path = arrays / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    save_checkpoint(path, {k: v for k, v in state.items() if k not in ("format", "model")})
    assert main(argv) == 2  # before: KeyError: 'model'
    assert "has no model" in capsys.readouterr().err
    assert main(["knn", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
                 f"output={arrays / 'run'}"]) == 2
    assert "has no model" in capsys.readouterr().err


def test_output_that_is_a_file(arrays, capsys):
    (arrays / "taken").write_text("mine")
    assert main(["pretrain", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
                 f"output={arrays / 'taken'}", "--no-progress"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err and (arrays / "taken").read_text() == "mine"


# --------------------------------------------------------------------------- issue 27: files that are not checkpoints


class _Payload:
    """Pickles as a call of os.system: what a hostile checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _not_checkpoints(marker):
    import os
    import pickle

    def torch_save(path):
        torch.save({"format": 1, "model": _Payload(marker)}, path)

    return {
        "random bytes": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(4096)), r"not written by torch\.save"),
        "pickle, os.system": (lambda p: p.write_bytes(pickle.dumps(_Payload(marker))), r"not written by torch\.save"),
        "pickle 2, os.system": (lambda p: p.write_bytes(pickle.dumps(_Payload(marker), protocol=2)),
                                r"it holds posix\.system: only tensors and plain data are read"
                                if os.name == "posix" else "it holds"),
        "torch.save, os.system": (torch_save, r"it holds (posix|nt)\.system: only tensors and plain data are read"),
        "empty": (lambda p: p.write_bytes(b""), r"empty file"),
        "truncated": (None, r"the file ends early"),
    }


@pytest.mark.parametrize("case", list(_not_checkpoints("x")))
def test_a_file_that_is_not_a_checkpoint_is_one_line_and_runs_nothing(arrays, capsys, case):
    from mgclr.emotion.classifier import EmotionModel
    from mgclr.models import load_published
    from mgclr.train.recognizer import Recognizer

    marker = arrays / "payload_ran"
    write, reason = _not_checkpoints(marker)[case]
    pretrain(config_for(arrays), show_progress=False, max_steps=1)
    path = arrays / "run" / "checkpoint.pt"
    if write is None:
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    else:
        write(path)
    argv = ["--set", f"data.path={arrays}", "--set", f"output={arrays / 'run'}"]
    for command in (["pretrain", str(arrays / "tiny.yaml"), *argv, "--resume", "--no-progress"],
                    ["knn", str(arrays / "tiny.yaml"), *argv, "--checkpoint", str(path), "--no-progress"],
                    ["recognize", str(path), str(arrays / "train_x.npy")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err  # one line: no traceback, no torch essay
        assert "weights_only" not in err and "trust" not in err
        assert re.search(rf"checkpoint\.pt: not an mgclr checkpoint \({reason}", err), err
    for load in (load_checkpoint, Recognizer.load, EmotionModel.load):
        with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: not an mgclr checkpoint \({reason}"):
            load(path)
    with pytest.raises(ValueError, match=rf"checkpoint\.pt'?: not a state_dict file \({reason}"):
        load_published(path, "stgcn")
    assert not marker.exists()  # the payload never ran


def test_a_checkpoint_whose_weights_do_not_fit_names_the_file_and_the_keys(arrays, capsys):
    config = config_for(arrays)
    pretrain(config, show_progress=False, max_steps=1)
    path = arrays / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    model = state["model"]
    names = [k for k in model if "encoder_q" in k]
    for name in names[:4]:  # four renamed: four missing, four unexpected
        model["renamed." + name] = model.pop(name)
    del model[names[4]]  # and one more missing
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    before = path.read_bytes()
    argv = ["--set", f"data.path={arrays}", "--set", f"output={arrays / 'run'}", "--no-progress"]
    assert main(["pretrain", str(arrays / "tiny.yaml"), *argv, "--resume"]) == 2  # before: a RuntimeError traceback
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{path}: model does not fit the MultiStreamMoCo" in err
    assert f"5 missing: {names[0]}, {names[1]}, {names[2]}, ... (2 more)" in err
    assert f"4 unexpected: renamed.{names[0]}" in err and "(1 more)" in err
    assert main(["knn", str(arrays / "tiny.yaml"), *argv]) == 2
    assert "5 missing" in capsys.readouterr().err
    assert path.read_bytes() == before  # nothing was written over it
    # a tensor of another shape is named with both shapes
    fresh = build_model(config, load_splits(config.data)[2]).state_dict()
    state["model"] = {**fresh, names[0]: torch.zeros(3, 3)}
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    assert main(["pretrain", str(arrays / "tiny.yaml"), *argv, "--resume"]) == 2
    assert f"1 of another shape: {names[0]} (3, 3) (expected {tuple(fresh[names[0]].shape)})" in \
        capsys.readouterr().err


def test_a_recognizer_whose_weights_do_not_fit(arrays):
    from mgclr.train.recognizer import Recognizer, RecognizerStream

    config = config_for(arrays)
    info = load_splits(config.data)[2]
    rec = Recognizer({"joint": RecognizerStream(config.model.streams["joint"])}, info, "linear")
    path = rec.save(arrays / "rec.pt")
    state = load_checkpoint(path)
    state["classifiers"]["joint"] = {"weight": torch.zeros(3, 3)}
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(ValueError, match=r"rec\.pt: classifiers\.joint does not fit the Linear its config describes "
                                         r"\(1 missing: bias; 1 of another shape: weight \(3, 3\) \(expected "):
        Recognizer.load(path)
    del state["encoders"]
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(ValueError, match=r"rec\.pt: has no encoders\.joint"):
        Recognizer.load(path)


@pytest.mark.parametrize("edit, message", [
    ({"step": -5}, r"step: expected a whole number >= 0, got -5"),  # before: StopIteration
    ({"step": 2.5}, r"step: expected a whole number >= 0, got 2\.5"),
    ({"step": "1"}, r"step: expected a whole number >= 0, got '1'"),
    ({"step": 500}, r"step: 500, beyond the 2 steps of this run \(2 epochs of 1 steps\)"),  # before: exit 0
    ({"epoch": 7}, r"epoch: 7, but step 1 is in epoch 1"),
    ({"epoch": -1}, r"epoch: expected a whole number >= 0, got -1"),
])
def test_resume_refuses_a_step_that_does_not_fit_the_run(arrays, capsys, edit, message):
    pretrain(config_for(arrays), show_progress=False, max_steps=1)
    path = arrays / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    assert (state["step"], state["epoch"]) == (1, 1)
    save_checkpoint(path, {**{k: v for k, v in state.items() if k != "format"}, **edit})
    argv = ["pretrain", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
            f"output={arrays / 'run'}", "--no-progress", "--resume"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(rf"--resume: .*checkpoint\.pt: {message}", err), err
    with pytest.raises(ValueError, match=message):
        pretrain(config_for(arrays), show_progress=False, resume=True)


def test_resume_at_the_end_of_the_run_trains_nothing_and_says_so(arrays, capsys):
    config = config_for(arrays)
    pretrain(config, show_progress=False)
    path = arrays / "run" / "checkpoint.pt"
    before = path.read_bytes()
    argv = ["pretrain", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
            f"output={arrays / 'run'}", "--no-progress", "--resume"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.strip() == (f"nothing left to train: {path} is at step 2, the end of the run (2 epochs of 1 steps; "
                           f"raise pretrain.epochs to train on)")
    assert path.read_bytes() == before  # no step was taken, nothing rewritten
    result = pretrain(config_for(arrays, "pretrain.epochs=4"), show_progress=False, resume=True, max_steps=2)
    assert result.nothing_left == f"{path} is at step 2, and --max-steps is 2" and result.steps == 2
    result = pretrain(config_for(arrays, "pretrain.epochs=3"), show_progress=False, resume=True)
    assert result.nothing_left is None and result.steps == 3  # more epochs: it trains on


@pytest.mark.parametrize("edit, message", [
    ({"model": "x"}, r"checkpoint\.pt: model: expected a state_dict \(a mapping of names to tensors\), got str"),
    ({"optimizer": {}}, r"--resume: .*checkpoint\.pt: optimizer: cannot be restored \(KeyError: 'param_groups'\)"),
    ({"rng": {"torch": torch.zeros(3)}}, r"--resume: .*checkpoint\.pt: rng: cannot be restored \(TypeError: "),
    ({"rng": None}, r"--resume: .*checkpoint\.pt: rng: cannot be restored \(TypeError: "),
])
def test_a_damaged_model_optimizer_or_rng_entry_is_one_line(arrays, capsys, edit, message):
    pretrain(config_for(arrays), show_progress=False, max_steps=1)
    path = arrays / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    save_checkpoint(path, {**{k: v for k, v in state.items() if k != "format"}, **edit})
    assert main(["pretrain", str(arrays / "tiny.yaml"), "--set", f"data.path={arrays}", "--set",
                 f"output={arrays / 'run'}", "--no-progress", "--resume"]) == 2  # before: a traceback
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err
