"""Reliability, training faults (issue 15): a NaN loss ends the run with an error naming the step and what went
non-finite first (the input, an augmented view, the weights, or the forward pass), before the step's update
and without a checkpoint of NaN weights; a checkpoint with NaN weights is refused by --resume and by the
evaluation commands. Before, such runs finished with exit 0 and NaN weights."""

from __future__ import annotations

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
