"""Predicted timelines: windows, the merging of overlapping detections, a recognizer saved by the evaluation
protocols and slid over long sequences (library and ``mgclr recognize``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mgclr.cli import main
from mgclr.emotion.recognize import load_sequence, merge_frames, predict_timeline, resolve_fps, window_starts
from mgclr.emotion.timeline import read_timelines
from mgclr.train import linear_eval, load_config, pretrain
from mgclr.train.build import load_splits
from mgclr.train.recognizer import Recognizer

TINY = str(Path(__file__).resolve().parents[1] / "configs" / "cpu" / "tiny.yaml")


@pytest.mark.parametrize("length, window, stride, expected", [
    (10, 64, 16, [0]), (64, 64, 16, [0]), (100, 64, 16, [0, 16, 32, 36]), (96, 64, 16, [0, 16, 32]),
    (65, 64, 1, [0, 1])])
def test_window_starts_cover_every_frame(length, window, stride, expected):
    starts = window_starts(length, window, stride)
    assert starts == expected
    covered = set()
    for s in starts:
        covered |= set(range(s, min(length, s + window)))
    assert covered == set(range(length))


def _scores(classes, confidence=0.9, K=3):
    s = torch.full((len(classes), K), (1 - confidence) / (K - 1))
    s[torch.arange(len(classes)), torch.tensor(classes)] = confidence
    return s


def test_merge_frames_runs_threshold_and_background():
    names = ["no_mg", "nod", "shrug"]
    classes = [0] * 5 + [1] * 10 + [2] * 3 + [1] * 12 + [0] * 4
    events = merge_frames(_scores(classes), names, threshold=0.5, min_frames=5)
    assert [(e.name, e.start_frame, e.end_frame) for e in events] == [("nod", 5, 14), ("nod", 18, 29)]
    assert all(abs(e.confidence - 0.9) < 1e-6 for e in events)
    joined = merge_frames(_scores(classes), names, threshold=0.5, min_frames=5, join_gap=3)
    assert [(e.name, e.start_frame, e.end_frame) for e in joined] == [("nod", 5, 29)]
    assert merge_frames(_scores(classes, 0.45), names, threshold=0.5, min_frames=1) == []
    everything = merge_frames(_scores(classes), names, threshold=0.0, min_frames=1, background=[])
    assert [e.name for e in everything] == ["no_mg", "nod", "shrug", "nod", "no_mg"]
    with pytest.raises(ValueError, match=r"scores: expected \(T, 3\)"):
        merge_frames(torch.zeros(4, 2), names)
    with pytest.raises(ValueError, match="threshold"):
        merge_frames(_scores(classes), names, threshold=1.5)


class MarkerRecognizer(torch.nn.Module):
    """A recognizer that reads the class written into x[0, t, 0, 0] (0 = no MG) and votes per window."""

    class_names = ["no_mg", "scratch_head", "fold_arms"]

    def forward(self, x, lengths):
        out = []
        for xi, n in zip(x, lengths):
            votes = torch.bincount(xi[0, :n, 0, 0].long(), minlength=3).float()
            out.append(0.1 / 2 + 0.9 * (votes == votes.max()).float() / (votes == votes.max()).sum())
        return torch.stack(out)


def test_predict_timeline_recovers_segments():
    T = 400
    x = torch.zeros(3, T + 20, 5, 1)
    truth = [(1, 50, 149), (2, 220, 319)]
    for c, s, e in truth:
        x[0, s:e + 1, 0, 0] = c
    t = predict_timeline(MarkerRecognizer(), x, video="clip", fps=25.0, length=T, window=32, stride=8,
                         threshold=0.5, min_frames=8)
    assert t.source == "predicted" and t.num_frames == T
    assert [e.label for e in t.events] == [1, 2]
    for e, (_, s, end) in zip(t.events, truth):
        assert abs(e.start_frame - s) <= 16 and abs(e.end_frame - end) <= 16  # within half a window
    with pytest.raises(ValueError, match="length: expected 1..420"):
        predict_timeline(MarkerRecognizer(), x, video="clip", fps=25.0, length=500)
    with pytest.raises(ValueError, match=r"x: expected one sequence \(C, T, V, M\)"):
        predict_timeline(MarkerRecognizer(), x[None], video="clip", fps=25.0)


def test_load_sequence_forms_and_errors(tmp_path):
    x = np.zeros((3, 50, 22), np.float32)
    x[:, :40] = 1.0
    np.save(tmp_path / "a.npy", x)
    seq, length, fps = load_sequence(tmp_path / "a.npy", 22)
    assert seq.shape == (3, 50, 22, 1) and length == 40 and fps is None
    np.savez(tmp_path / "b.npz", x=x[..., None], length=45, fps=29.97)
    seq, length, fps = load_sequence(tmp_path / "b.npz", 22)
    assert length == 45 and abs(fps - 29.97) < 1e-9
    with pytest.raises(ValueError, match="V = 22 joints, the recognizer's layout has 25"):
        load_sequence(tmp_path / "a.npy", 25)
    np.save(tmp_path / "c.npy", np.zeros((2, 50, 22), np.float32))
    with pytest.raises(ValueError, match=r"expected shape \(3, T, V\[, M\]\)"):
        load_sequence(tmp_path / "c.npy")
    x[0, 7, 3] = np.nan
    np.save(tmp_path / "d.npy", x)
    with pytest.raises(ValueError, match="non-finite values \\(first at frame 7\\)"):
        load_sequence(tmp_path / "d.npy")
    (tmp_path / "e.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot be read"):
        load_sequence(tmp_path / "e.npy")


def test_resolve_fps_file_caller_and_training_rate():
    assert resolve_fps("a.npz", 25.0) == (25.0, None)  # the file's own
    assert resolve_fps("a.npy", None, 30.0, training_fps=30.2) == (30.0, None)  # given; within 1 % of training
    assert resolve_fps("a.npz", 29.97, 29.97 * (1 + 1e-7)) == (29.97, None)  # agrees within rounding
    fps, note = resolve_fps("a.npz", 50.0, training_fps=25.0)
    assert fps == 50.0 and note == ("a.npz is 50 fps, the recognizer's training data 25 fps: an MG lasts 0.50 x as "
                                    "many frames there (windows are in frames)")
    with pytest.raises(ValueError, match=r"^--fps: a.npy does not say its frame rate; give --fps$"):
        resolve_fps("a.npy", None)
    with pytest.raises(ValueError, match=r"^--fps: 30, but a.npz says its frame rate is 25; leave --fps out"):
        resolve_fps("a.npz", 25.0, 30.0)


def test_recognizer_from_linear_eval_saves_loads_and_slides(tmp_path, capsys):
    config = load_config(TINY, [f"output={tmp_path}", "pretrain.tensorboard=false", "pretrain.knn_every=0",
                                "pretrain.epochs=1"])
    pretrain(config, show_progress=False)
    results = linear_eval(config, torch.device("cpu"))
    _, test_set, info = load_splits(config.data)
    names = info.class_names
    path = Recognizer.from_results(info, results, "linear").save(tmp_path / "rec.pt")
    rec = Recognizer.load(path)
    assert rec.describe()["streams"] == ["joint", "sequence"] and rec.class_names == list(names)
    x = torch.from_numpy(np.asarray(test_set.x))
    lengths = torch.as_tensor(np.asarray(test_set.lengths))
    y = torch.as_tensor(np.asarray(test_set.labels))
    for stream in ("joint", "sequence"):  # the saved classifier reproduces the protocol's last-epoch accuracy
        logits = rec.classifiers[stream](rec.encoders[stream](x, lengths))
        accuracy = float((logits.argmax(1) == y).float().mean())
        assert accuracy == pytest.approx(results[stream]["top1_last"], abs=1e-6)
    probs = rec(x, lengths)
    assert probs.shape == (len(y), len(names)) and torch.allclose(probs.sum(1), torch.ones(len(y)), atol=1e-5)

    # mgclr recognize over two "long" sequences: several test clips one after another
    seq = torch.cat([x[i, :, :int(lengths[i])] for i in range(6)], dim=1)
    np.save(tmp_path / "video_a.npy", seq.numpy())
    np.savez(tmp_path / "video_b.npz", x=seq.numpy(), fps=30.0)
    out = tmp_path / "predicted.json"
    assert main(["recognize", str(path), str(tmp_path / "video_a.npy"), str(tmp_path / "video_b.npz"),
                 "--out", str(out), "--fps", "30", "--window", "32", "--stride", "8", "--threshold", "0",
                 "--min-frames", "1", "--plot"]) == 0
    timelines = {t.video: t for t in read_timelines(out)}
    assert set(timelines) == {"video_a", "video_b"}
    for video in ("video_a", "video_b"):  # --plot: one timeline picture per video beside the timelines file
        from PIL import Image

        with Image.open(tmp_path / f"predicted_{video}.png") as image:
            assert image.size[0] >= 600 and image.size[1] >= 150
    a = timelines["video_a"]
    assert a.source == "predicted" and a.num_frames == seq.shape[1] and a.events
    assert all(e.name in names and 0 <= e.confidence <= 1 for e in a.events)
    # threshold 0, min 1 frame: the events tile the sequence exactly
    assert a.events[0].start_frame == 0 and a.events[-1].end_frame == seq.shape[1] - 1
    assert sum(e.frames for e in a.events) == seq.shape[1]
    assert [e.to_dict() for e in a.events] == [e.to_dict() for e in timelines["video_b"].events]

    capsys.readouterr()
    np.save(tmp_path / "wrong.npy", np.zeros((3, 40, 25, 1), np.float32))
    assert main(["recognize", str(path), str(tmp_path / "wrong.npy"), "--fps", "30"]) == 2
    assert "recognizer's layout has 22" in capsys.readouterr().err
    assert main(["recognize", str(path), str(tmp_path / "video_a.npy")]) == 2
    assert "--fps" in capsys.readouterr().err
    assert main(["recognize", str(path), str(tmp_path / "video_b.npz"), "--fps", "25"]) == 2
    assert "--fps: 25, but" in (err := capsys.readouterr().err) and "says its frame rate is 30" in err
    np.save(tmp_path / "frames_first.npy", seq.numpy()[..., 0].transpose(1, 2, 0))  # (T, V, C), as pose tools write
    assert main(["recognize", str(path), str(tmp_path / "frames_first.npy"), "--fps", "30"]) == 2
    assert "looks like (T, V, C), frames first" in (err := capsys.readouterr().err) and "transpose?" in err
    assert main(["recognize", str(path), str(tmp_path / "video_a.npy"), "--fps", "30", "--input", "raw"]) == 2
    assert "records no normalisation" in capsys.readouterr().err
    ckpt = sorted(tmp_path.glob("checkpoint*.pt"))[0]
    assert main(["recognize", str(ckpt), str(tmp_path / "video_a.npy"), "--fps", "30"]) == 2
    assert "is not a recognizer" in capsys.readouterr().err
    assert json.loads(out.read_text())["format"] == "mgclr-timelines"
