"""Video-level emotion classification: the balanced split, both models on synthetic timelines (beat the
majority baseline when the MGs carry the outcome, stay at chance when they don't), weights that point the
right way, save/load, and the ``mgclr emotion`` commands."""

from __future__ import annotations

import json

import pytest
import torch

from mgclr.cli import main
from mgclr.emotion.classifier import (
    EmotionConfig,
    EmotionModel,
    Split,
    balanced_split,
    evaluate,
    train_emotion,
    wilson_interval,
)
from mgclr.emotion.experiment import DEMO_MARGIN
from mgclr.emotion.synthetic import LOSE_LEANING, WIN_LEANING, synthetic_timelines, synthetic_transcript
from mgclr.emotion.timeline import MGEvent, Timeline, write_timelines


@pytest.fixture(scope="module")
def videos():
    return synthetic_timelines(202, separation=0.5, seed=3)


def test_balanced_split_is_reproducible_and_balanced(videos, tmp_path):
    split = balanced_split(videos, 51, 50, seed=7)
    train, test = split.select(videos)
    assert len(train) == 102 and len(test) == 100 and not set(split.train) & set(split.test)
    assert sum(t.outcome == "win" for t in train) == 51 and sum(t.outcome == "win" for t in test) == 50
    assert balanced_split(videos, 51, 50, seed=7) == split
    assert balanced_split(videos, 51, 50, seed=8) != split
    assert Split.load(split.save(tmp_path / "split.json")) == split
    with pytest.raises(ValueError, match="102 videos with outcome 'win' needed for a 52\\+50 split, found 101"):
        balanced_split(videos, 52, 50)
    (tmp_path / "bad.json").write_text(json.dumps({"train": ["a", "b"], "test": ["b"]}))
    with pytest.raises(ValueError, match="in both train and test"):
        Split.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="not in the timelines"):
        Split(["nope"], []).select(videos)


@pytest.mark.parametrize("model", ["gru", "bag"])
def test_models_learn_the_outcome_from_mgs(videos, model):
    train, test = balanced_split(videos, 51, 50, seed=0).select(videos)
    result = evaluate(train_emotion(train, EmotionConfig(model=model)), test, train)
    assert result["majority_baseline"] == 0.5
    assert result["accuracy"] >= 0.5 + DEMO_MARGIN, result["accuracy"]
    lo, hi = result["ci95"]
    assert lo <= result["accuracy"] <= hi and hi - lo < 0.25
    assert sum(map(sum, result["confusion"])) == 100
    # The MGs that carry the outcome are the ones the model leans on, in the right direction.
    toward_lose = {n for n, _ in result["toward_lose"]}
    toward_win = {n for n, _ in result["toward_win"]}
    assert len(toward_lose & set(LOSE_LEANING)) >= 3, result["toward_lose"]
    assert len(toward_win & set(WIN_LEANING)) >= 2, result["toward_win"]


@pytest.mark.parametrize("model", ["gru", "bag"])
def test_no_signal_stays_at_chance(model):
    """With MGs independent of the outcome, nothing else (names, order, lengths) may give it away."""
    videos = synthetic_timelines(202, separation=0.0, seed=5)
    train, test = balanced_split(videos, 51, 50, seed=0).select(videos)
    result = evaluate(train_emotion(train, EmotionConfig(model=model)), test, train)
    assert 0.35 <= result["accuracy"] <= 0.65, result["accuracy"]


def test_save_load_same_predictions_and_odd_inputs(videos, tmp_path):
    train, test = balanced_split(videos, 51, 50, seed=0).select(videos)
    for model in ("gru", "bag"):
        trained = train_emotion(train, EmotionConfig(model=model, epochs=5))
        loaded = EmotionModel.load(trained.save(tmp_path / f"{model}.pt"))
        assert torch.equal(trained.predict_proba(test), loaded.predict_proba(test))
        # a video without any MG, and one with a class never seen in training
        odd = [Timeline("empty", 25.0, [], num_frames=100, outcome="win"),
               Timeline("new", 25.0, [MGEvent(40, "something_new", 0, 9)], num_frames=100, outcome="lose")]
        probs = loaded.predict_proba(odd)
        assert probs.shape == (2, 2) and torch.isfinite(probs).all()
        assert loaded.unknown_labels(odd) == 1
    (tmp_path / "x.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"x.pt: not an mgclr checkpoint \(not written by torch.save\)$"):
        EmotionModel.load(tmp_path / "x.pt")


def test_input_errors(videos):
    no_outcome = [Timeline("a", 25.0, [MGEvent(0, "nod", 0, 5)], outcome=None)]
    with pytest.raises(ValueError, match="train: 1 videos have no outcome"):
        train_emotion(no_outcome)
    with pytest.raises(ValueError, match="both outcomes needed"):
        train_emotion([t for t in videos if t.outcome == "win"])
    clash = [Timeline("a", 25.0, [MGEvent(0, "nod", 0, 5)], outcome="win"),
             Timeline("b", 25.0, [MGEvent(0, "shrug", 0, 5)], outcome="lose")]
    with pytest.raises(ValueError, match="label 0 is called both 'nod' and 'shrug'"):
        train_emotion(clash)
    with pytest.raises(ValueError, match="model: expected one of"):
        EmotionConfig(model="svm")
    with pytest.raises(ValueError, match="epochs"):
        EmotionConfig(epochs=0)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0


def test_synthetic_transcripts_hide_the_result_when_masked(videos):
    raw, masked = synthetic_transcript(videos[0], seed=1)
    assert [r["start_s"] for r in raw] == sorted(r["start_s"] for r in raw)
    assert any(w in " ".join(r["text"] for r in raw) for w in ("won", "lost", "Winning", "Losing"))
    text = " ".join(r["text"] for r in masked).lower()
    assert not any(w in text for w in ("won", "lost", "winning", "losing")) and "[mask]" in text


def test_cli_emotion_demo_train_eval(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["emotion", "demo", "--output", str(out), "--json", str(tmp_path / "demo.json")]) == 0
    printed = capsys.readouterr().out
    assert "majority baseline" in printed and "toward lose" in printed
    report = json.loads((tmp_path / "demo.json").read_text())
    for r in report["models"].values():  # the demo's promise: both models beat the majority baseline
        assert r["accuracy"] >= r["majority_baseline"] + DEMO_MARGIN
    assert (out / "gru_confusion.png").stat().st_size > 1000 and (out / "transcripts" / "masked").is_dir()

    timelines = out / "timelines.json"
    assert main(["emotion", "train", str(timelines), str(tmp_path / "t"), "--model", "bag",
                 "--split", str(out / "split.json"), "--no-plots"]) == 0
    assert main(["emotion", "eval", str(tmp_path / "t" / "emotion_bag.pt"), str(timelines),
                 "--split", str(out / "split.json"), "--json", str(tmp_path / "eval.json")]) == 0
    evaluated = json.loads((tmp_path / "eval.json").read_text())["models"]["bag"]["accuracy"]
    assert evaluated == report["models"]["bag"]["accuracy"]  # same split, same seed: the same model

    capsys.readouterr()
    write_timelines(tmp_path / "few.json", synthetic_timelines(20, seed=1))
    assert main(["emotion", "train", str(tmp_path / "few.json"), str(tmp_path / "few")]) == 2
    assert "needed for a 51+50 split, found 10" in capsys.readouterr().err
    assert main(["emotion", "eval", str(tmp_path / "none.pt"), str(timelines)]) == 2
    with pytest.raises(SystemExit):
        main(["emotion"])


def imigue_like(videos, protocol, *, drop=(), width=4):
    """Timelines named as mgclr prepare imigue names iMiGUE's videos ("0001"), with outcomes giving the
    protocol's 51 / 51 and 50 / 50, plus a video outside the protocol."""
    import dataclasses

    wins = iter(t for t in videos if t.outcome == "win")
    loses = iter(t for t in videos if t.outcome == "lose")
    named = []
    for part in ("train", "test"):
        ids = protocol["emotion_videos"][part]
        for k, number in enumerate(ids):
            source = next(wins) if k < len(ids) // 2 else next(loses)
            if number not in drop:
                named.append(dataclasses.replace(source, video=str(number).zfill(width)))
    return named + [dataclasses.replace(videos[0], video="0999")]


def test_official_split_is_the_protocols_and_the_default_for_imigue(videos, tmp_path):
    from mgclr.data.convert.imigue import PROTOCOL
    from mgclr.emotion.classifier import choose_split, holds_official_videos, official_split

    timelines = imigue_like(videos, PROTOCOL)
    split = official_split(timelines)
    assert split.protocol == "official" and len(split.train) == 102 and len(split.test) == 100
    assert [int(v) for v in split.train] == PROTOCOL["emotion_videos"]["train"]
    assert [int(v) for v in split.test] == PROTOCOL["emotion_videos"]["test"]
    assert choose_split(timelines) == split  # auto: the timelines hold the protocol's videos
    assert choose_split(timelines, "random", seed=3).protocol == "random"
    assert official_split(imigue_like(videos, PROTOCOL, width=1)).train[0] == "1"  # "1" and "0001" alike
    assert Split.load(split.save(tmp_path / "split.json")) == split
    partial = imigue_like(videos, PROTOCOL, drop=(9, 10))
    assert not holds_official_videos(partial)  # not iMiGUE's whole protocol: auto draws a balanced split
    with pytest.raises(ValueError, match=r"split: official: 2 of the iMiGUE protocol's 100 test videos are not in "
                                         r"the timelines \(first: \[9, 10\]\)"):
        official_split(partial)
    import dataclasses

    flipped = [dataclasses.replace(t, outcome="lose") if t.video == "0001" else t for t in timelines]
    with pytest.raises(ValueError, match=r"102 train videos 50 win, 52 lose; the protocol has 51 of each"):
        official_split(flipped)


def test_cli_emotion_train_on_imigue_timelines_uses_the_protocol(videos, tmp_path, capsys):
    from mgclr.data.convert.imigue import PROTOCOL

    write_timelines(tmp_path / "timelines.json", imigue_like(videos, PROTOCOL))
    assert main(["emotion", "train", str(tmp_path / "timelines.json"), str(tmp_path / "out"), "--model", "bag",
                 "--no-plots"]) == 0
    assert "102 training / 100 test videos, the iMiGUE protocol's videos" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / "split.json").read_text())
    assert saved["protocol"] == "official" and [int(v) for v in saved["test"]] == PROTOCOL["emotion_videos"]["test"]
    assert main(["emotion", "train", str(tmp_path / "timelines.json"), str(tmp_path / "r"), "--model", "bag",
                 "--no-plots", "--split", "random"]) == 0
    assert "a balanced random draw" in capsys.readouterr().out
