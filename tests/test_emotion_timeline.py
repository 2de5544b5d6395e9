"""MG timelines: events, seconds, the prompt form (no outcome, no identity), the file form round trip (the one
schema, the iMiGUE converter's too), class names, and errors that name the video and field."""

from __future__ import annotations

import json

import pytest

from mgclr.emotion.timeline import (
    MGEvent,
    Timeline,
    TimelineError,
    normalise_outcome,
    read_timelines,
    write_timelines,
)


def _timeline(**kw):
    events = [MGEvent(3, "fold_arms", 30, 89, 0.8), MGEvent(1, "touch_neck", 0, 14)]
    args = dict(video="v1", fps=30, events=events, num_frames=300, outcome="Lost", subject="7")
    args.update(kw)
    return Timeline(**args)


def test_events_sorted_and_seconds():
    t = _timeline()
    assert [e.name for e in t.events] == ["touch_neck", "fold_arms"]
    e = t.events[1]
    assert e.frames == 60 and e.start_seconds(30) == 1.0 and e.end_seconds(30) == 3.0
    assert t.outcome == "lose" and t.duration_seconds == 10.0


def test_prompt_form_hides_outcome_and_identity():
    t = _timeline(video="federer_2019_final", subject="federer")
    form = t.to_prompt()
    assert form == {"duration_s": 10.0, "micro_gestures": [
        {"mg": "touch neck", "start_s": 0.0, "end_s": 0.5},
        {"mg": "fold arms", "start_s": 1.0, "end_s": 3.0, "confidence": 0.8}]}
    text = t.prompt_json()
    assert json.loads(text) == form
    for leak in ("federer", "lose", "lost", "outcome", "subject"):
        assert leak not in text


def test_file_form_round_trip(tmp_path):
    a = _timeline()
    b = Timeline("v2", 25.0, [], num_frames=None, outcome=None, source="predicted")
    path = write_timelines(tmp_path / "t.json", [a, b])
    back = {t.video: t for t in read_timelines(path)}
    assert back["v1"] == a and back["v2"] == b
    with pytest.raises(TimelineError, match="v1: appears twice"):
        write_timelines(tmp_path / "u.json", [a, a])


@pytest.mark.parametrize("kwargs, match", [
    (dict(fps=0), "fps"), (dict(fps=float("nan")), "fps"), (dict(video=""), "video"),
    (dict(num_frames=50), "past the video's 50 frames"), (dict(outcome="1"), "outcome"),
    (dict(num_frames=0), "num_frames")])
def test_bad_timelines_name_the_field(kwargs, match):
    with pytest.raises(TimelineError, match=match):
        _timeline(**kwargs)


@pytest.mark.parametrize("args, match", [
    ((-1, "x", 0, 1), "label"), ((0, "", 0, 1), "name"), ((0, "x", 5, 4), "start_frame/end_frame"),
    ((0, "x", 0, 1, 1.5), "confidence"), ((0, "x", 0.5, 1), "start_frame")])
def test_bad_events(args, match):
    with pytest.raises(TimelineError, match=match):
        MGEvent(*args)


@pytest.mark.parametrize("value, expected", [("WIN", "win"), ("won", "win"), ("Loser", "lose"), ("loss", "lose"),
                                             (None, None), ("", None)])
def test_outcome_spellings(value, expected):
    assert normalise_outcome(value) == expected


def test_corrupt_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TimelineError, match="not valid JSON"):
        read_timelines(bad)
    bad.write_text(json.dumps({"format": "mgclr-timelines", "version": 1,
                               "videos": {"v": {"fps": 30, "events": [{"label": 0, "name": "a", "start_frame": 3}]}}}))
    with pytest.raises(TimelineError, match=r"video v: events\[0\]: end_frame: missing"):
        read_timelines(bad)
    bad.write_text(json.dumps({"format": "mgclr-timelines", "version": 9, "videos": {}}))
    with pytest.raises(TimelineError, match="version 9"):
        read_timelines(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_timelines(tmp_path / "missing.json")


def test_the_old_imigue_form_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "timelines.json"
    path.write_text(json.dumps({"0001": {"subject": "2", "win_or_lose": "win", "fps": 30.0, "clips": [
        {"label": 4, "source_label": 5, "name": "MG5", "start_frame": 40, "end_frame": 60, "id": "0001_1"}]}}))
    with pytest.raises(TimelineError, match="not an mgclr timelines file.*convert the dataset again"):
        read_timelines(path)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(TimelineError, match="not an mgclr timelines file"):
        read_timelines(path)


def test_file_form_carries_seconds_and_accepts_hand_written_seconds(tmp_path):
    path = write_timelines(tmp_path / "t.json", [_timeline()])
    row = json.loads(path.read_text())["videos"]["v1"]["events"][1]
    assert (row["name"], row["start_s"], row["end_s"]) == ("fold_arms", 1.0, 3.0)
    path.write_text(json.dumps({"format": "mgclr-timelines", "version": 1, "videos": {"v": {
        "fps": 25, "events": [{"label": 2, "name": "shrug", "start_s": 1.0, "end_s": 2.0}]}}}))
    (t,) = read_timelines(path)
    assert (t.events[0].start_frame, t.events[0].end_frame) == (25, 49)
    assert t.events[0].start_seconds(25) == 1.0 and t.events[0].end_seconds(25) == 2.0


def test_class_names_file_names_imigue_timelines(tmp_path):
    from mgclr.cli import main
    from mgclr.emotion.timeline import load_class_names

    names = [f"gesture {k}" for k in range(1, 33)]
    (tmp_path / "names.txt").write_text("# iMiGUE\n" + "\n".join(names) + "\n")
    (tmp_path / "names.json").write_text(json.dumps(names))
    assert load_class_names(tmp_path / "names.txt") == names == load_class_names(tmp_path / "names.json")
    (tmp_path / "dup.txt").write_text("a\nb\na\n")
    with pytest.raises(TimelineError, match="appears twice"):
        load_class_names(tmp_path / "dup.txt")
    timelines = write_timelines(tmp_path / "timelines.json", [Timeline("0001", 25.0, [MGEvent(4, "MG5", 0, 9)])])
    (t,) = read_timelines(timelines, load_class_names(tmp_path / "names.txt"))
    assert t.events[0].name == "gesture 5" and t.events[0].label == 4
    with pytest.raises(TimelineError, match=r"video 0001: label 4 \(MG5\) has no name among the 3 class names"):
        read_timelines(timelines, ["a", "b", "c"])
    out = tmp_path / "probe.json"
    assert main(["llm", "probe", "--output", str(out), "--timelines", str(timelines), "--class-names",
                 str(tmp_path / "names.txt"), "--backend", "rule"]) == 0
    assert "gesture 5" in out.read_text()
