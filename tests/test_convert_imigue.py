"""iMiGUE converter, both input forms: which raw point lands in which imigue22 joint (sides included), the
per-video normalisation numbers, clips, the non-MG class (99), the xsub split, the two-person choice, the
frame rate measured from the label file, timelines.json, and every corrupt input named (file, line or field)
and counted under skip_bad. The label CSV has the real file's header and value shapes (issue 14's facts):
``label_id`` is the clip's number within its video, the class is the column ``class``, times in seconds at
25 fps, ``Win`` / ``Lose``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import data_dir

from mgclr.data.convert.common import ConversionError
from mgclr.data.convert.imigue import XSUB_TRAIN_SUBJECTS, class_names, convert_imigue, xsub_part
from mgclr.data.format import SkeletonDataset
from mgclr.emotion.timeline import read_timelines
from mgclr.skeleton import get_layout

BODY = (0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 18)
TIPS = (4, 8, 12, 16, 20)
# Per-frame neck position and shoulder width: medians 400, 300 and 100 (six frames).
NECK_X = (400, 410, 390, 400, 405, 395)
NECK_Y = (300, 300, 310, 290, 300, 300)
WIDTH = (100, 100, 120, 80, 100, 100)
# The published label CSV's header, verbatim.
HEADER = ("video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,subject_gender,"
          "subject_nationality,win_or_lose")



def refused_then_skipped(convert, src: Path, out: Path, match: str, reason: str, **kwargs):
    """``convert`` refuses ``src`` with a ConversionError of ``reason`` whose message matches ``match`` (into
    ``out/a``); with ``skip_bad`` it converts the rest into ``out/b``: that report."""
    with pytest.raises(ConversionError, match=match) as info:
        convert(src, out / "a", progress=False, **kwargs)
    assert info.value.reason == reason
    return convert(src, out / "b", progress=False, skip_bad=True, **kwargs)

def person(t: int, decoy: bool = False):
    """(pose (25, 3), right hand (21, 3), left hand (21, 3)) of frame t: every point distinct."""
    nx, ny, w = NECK_X[t], NECK_Y[t], WIDTH[t]
    pose = np.array([[nx + 7.0 * k - 90, ny - 100 + 3.0 * k, 0.5 + 0.01 * k] for k in range(25)])
    pose[1] = (nx, ny, 0.9)
    pose[2] = (nx - w / 2, ny, 0.8)  # RShoulder: image left for a person facing the camera
    pose[5] = (nx + w / 2, ny, 0.8)
    right = np.array([[nx - 150 + h, ny + 200 + 2.0 * h, 0.7] for h in range(21)])
    left = np.array([[nx + 150 + h, ny + 220 + 2.0 * h, 0.6] for h in range(21)])
    if t == 1:
        pose[17] = (123.0, 456.0, 0.0)  # REar: confidence 0, coordinates left over
    if t == 2:
        pose[16] = (0.0, 0.0, 0.5)  # LEye: at (0, 0) with a confidence
    if t == 3:
        right[:] = 0  # right hand not detected
    if decoy:
        pose[:, 0] += 1000
        pose[:, 2] = 0.2
        right[:, 0] += 1000
        left[:, 0] += 1000
    return pose, right, left


def expected_joints(t: int, first_hand_is_left: bool = True) -> np.ndarray:
    """(22, 3) imigue22 joints of frame t after normalisation (origin (400, 300), scale 100, y up)."""
    pose, right, left = person(t)
    points = np.concatenate([pose[list(BODY)], right[list(TIPS)], left[list(TIPS)]])
    out = np.stack([(points[:, 0] - 400) / 100, (300 - points[:, 1]) / 100, points[:, 2]], axis=1)
    missing = (points[:, 2] <= 0) | ((points[:, 0] == 0) & (points[:, 1] == 0))
    out[missing] = 0
    return out


def openpose_json(people) -> str:
    return json.dumps({"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": p.ravel().tolist(), "face_keypoints_2d": [],
         "hand_left_keypoints_2d": lf.ravel().tolist(), "hand_right_keypoints_2d": r.ravel().tolist()}
        for p, r, lf in people]})


def make_openpose(root: Path) -> Path:
    """Form "openpose": videos 12 (subject 2, train, two clips) and 7 (subject 1, test, one clip), six frames
    each; frame 4 has a decoy listed first, frame 5 after the real person."""
    src = root / "op"
    for video in ("12", "7"):
        folder = src / video
        folder.mkdir(parents=True)
        for t in range(6):
            people = [person(t)]
            if t == 4:
                people = [person(t, decoy=True), person(t)]
            if t == 5:
                people = [person(t), person(t, decoy=True)]
            (folder / f"{video}_{t:012d}_keypoints.json").write_text(openpose_json(people))
    (src / "labels.csv").write_text("\n".join([
        HEADER,
        "12,1,0.04,1,0.12,3,5,2,male,Chinese,Win",     # clip 1 of video 12: MG5, frames 1-3 (25 fps)
        "12,2,0,0,0.2,5,99,2,male,Chinese,Win",         # clip 2: the non-MG class
        "7,1,0.08,2,0.16,4,1,1,female,German,Lose",
    ]) + "\n")
    return src


def light_hand_row(t: int) -> str:
    pose, right, left = person(t)
    values = [t] + pose.ravel().tolist() + left[list(TIPS)].ravel().tolist() + right[list(TIPS)].ravel().tolist()
    return ",".join(repr(float(v)) for v in values)


def make_light_hand(root: Path) -> Path:
    """Form "light_hand": 0001 (pandas header row, three clips, one of them label 99) and 0002 (no header);
    the first five finger points are the person's left hand's."""
    src = root / "lh"
    for video, header in (("0001", True), ("0002", False)):
        folder = src / video
        folder.mkdir(parents=True)
        lines = ([","] if header else []) + [light_hand_row(t) for t in range(6)]
        if header:
            lines[0] = "," + ",".join(str(i) for i in range(105))
        (folder / f"{video}_light_hand.csv").write_text("\n".join(lines) + "\n")
    (src / "0001" / "0001_label.csv").write_text("5,1,3\n99,4,5\n31,0,0\n")
    (src / "0002" / "0002_label.csv").write_text("1,0,2\n")
    (root / "meta.csv").write_text("video_id,subject_id,win_or_lose\n1,2,win\n2,1,lose\n")
    return src


def fields_of(ds: SkeletonDataset, name: str) -> dict:
    return dict(zip(ds.sample_field("id"), ds.sample_field(name)))


def sample(ds: SkeletonDataset, sample_id: str) -> np.ndarray:
    return ds[ds.sample_field("id").index(sample_id)][0].numpy()


def test_layout_joint_order_is_what_the_mapping_assumes():
    names = get_layout("imigue22").joint_names
    assert names[:12] == ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                          "left_elbow", "left_wrist", "right_eye", "left_eye", "right_ear", "left_ear")
    assert names[12] == "right_thumb_tip" and names[16] == "right_pinky_tip"
    assert names[17] == "left_thumb_tip" and names[21] == "left_pinky_tip"


def test_openpose_form(tmp_path):
    src = make_openpose(tmp_path)
    report = convert_imigue(src, tmp_path / "out", progress=False)
    assert report.written == 3 and not report.skipped
    assert report.splits == {"xsub": {"train": 2, "test": 1}}
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["layout"] == "imigue22" and meta["coord_channels"] == 2
    assert meta["channel_names"] == ["x", "y", "confidence"] and meta["fps"] == 25.0
    assert meta["class_names"] == [f"MG{k}" for k in range(1, 32)] + ["non_mg"]
    assert meta["normalise"]["kind"] == "openpose_video" and meta["normalise"]["scope"] == "video"
    assert meta["provenance"]["fps_source"] == ["start_frame/start_time, end_frame/end_time"]

    ds = SkeletonDataset(tmp_path / "out")
    assert ds.info.coord_channels == 2 and ds.info.fps == 25.0 and ds.info.num_classes == 32
    assert fields_of(ds, "video") == {"12_1": "12", "12_2": "12", "7_1": "7"}
    assert fields_of(ds, "clip") == {"12_1": 1, "12_2": 2, "7_1": 1}
    # the class is the column 'class' (5 -> 4, 99 -> 31), never label_id
    assert dict(zip(ds.sample_field("id"), ds.labels.tolist())) == {"12_1": 4, "12_2": 31, "7_1": 0}
    assert dict(zip(ds.sample_field("id"), ds.lengths.tolist())) == {"12_1": 3, "12_2": 6, "7_1": 3}
    assert fields_of(ds, "start_frame") == {"12_1": 1, "12_2": 0, "7_1": 2}
    assert fields_of(ds, "end_frame") == {"12_1": 3, "12_2": 5, "7_1": 4}
    assert fields_of(ds, "subject") == {"12_1": 2, "12_2": 2, "7_1": 1}
    assert fields_of(ds, "win_or_lose") == {"12_1": "win", "12_2": "win", "7_1": "lose"}
    assert fields_of(ds, "norm_origin")["7_1"] == [400.0, 300.0] and fields_of(ds, "norm_scale")["7_1"] == 100.0

    assert SkeletonDataset(tmp_path / "out", split="xsub/train").sample_field("id") == ["12_1", "12_2"]
    assert SkeletonDataset(tmp_path / "out", split="xsub/test").sample_field("id") == ["7_1"]

    x = sample(ds, "12_2")  # all six frames
    assert x.shape == (3, 6, 22, 1)
    for t in range(6):
        np.testing.assert_allclose(x[:, t, :, 0].T, expected_joints(t), atol=1e-6)
    # spelled out: the nose of frame 0 is at (310, 200) -> (-0.9, 1.0); the neck of frame 2 at (390, 310)
    np.testing.assert_allclose(x[:, 0, 0, 0], [-0.9, 1.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(x[:, 2, 1, 0], [-0.1, -0.1, 0.9], atol=1e-6)
    # hand_right thumb tip (point 4) is the person's right: joint 12; hand_left little tip (20): joint 21
    np.testing.assert_allclose(x[:, 0, 12, 0], [(250 + 4 - 400) / 100, (300 - 508) / 100, 0.7], atol=1e-6)
    np.testing.assert_allclose(x[:, 0, 21, 0], [(550 + 20 - 400) / 100, (300 - 560) / 100, 0.6], atol=1e-6)
    # undetected points are exactly zero in every channel
    assert not x[:, 1, 10, 0].any()  # REar with confidence 0
    assert not x[:, 2, 9, 0].any()  # LEye at (0, 0)
    assert not x[:, 3, 12:17, 0].any()  # right hand missing
    # frames 4 and 5 (checked above) hold the real person; the decoy (mean confidence 0.2, 1000 px to the
    # right) is never chosen, whether listed first or second
    assert np.abs(x[0, 4:6]).max() < 5
    short = sample(ds, "7_1")
    np.testing.assert_allclose(short[:, :3, :, 0].transpose(1, 2, 0), [expected_joints(t) for t in (2, 3, 4)],
                               atol=1e-6)
    assert not short[:, 3:].any()  # padding

    # timelines.json is the one timeline schema, at the data's 25 fps; the non-MG clip is background
    doc = json.loads((tmp_path / "out" / "timelines.json").read_text())
    assert doc["format"] == "mgclr-timelines"
    assert doc["videos"]["12"] == {"fps": 25.0, "source": "annotation", "num_frames": 6, "outcome": "win",
                                   "subject": "2", "events": [{"label": 4, "name": "MG5", "start_frame": 1,
                                                               "end_frame": 3, "start_s": 0.04, "end_s": 0.16}]}
    timelines = {t.video: t for t in read_timelines(tmp_path / "out" / "timelines.json")}
    assert timelines["7"].outcome == "lose" and timelines["7"].fps == 25.0
    assert [(e.label, e.name, e.start_frame, e.end_frame) for e in timelines["7"].events] == [(0, "MG1", 2, 4)]
    assert timelines["12"].events[0].start_seconds(25.0) == 1 / 25


def real_label_rows(video: str, clips: int, subject: int = 2, outcome: str = "Win") -> list:
    """``clips`` rows of one video in the published file's shapes: label_id 1..clips, classes cycling through
    1-31 and 99, three-frame clips two frames apart, times in seconds rounded to 0.01 like the published ones
    (start_frame / start_time between 24.3 and 25)."""
    rows = []
    for k in range(1, clips + 1):
        cls = 99 if k % 8 == 0 else (k - 1) % 31 + 1
        start = 5 * k + 30
        end = start + 2
        rows.append(f"{video},{k},{round((start + 1) / 25, 2)},{start},{round((end + 1) / 25, 2)},{end},{cls},"
                    f"{subject},male,Italian,{outcome}")
    return rows


def write_frames(src: Path, video: str, frames: int) -> None:
    folder = src / video
    folder.mkdir(parents=True)
    for t in range(frames):
        (folder / f"{video}_{t:012d}_keypoints.json").write_text(openpose_json([person(t % 6)]))


def test_real_label_file_shapes_more_than_32_clips_25_fps_and_the_non_mg_policy(tmp_path):
    src = tmp_path / "real"
    rows = real_label_rows("298", 40)
    write_frames(src, "298", 5 * 40 + 40)
    (src / "labels.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    report = convert_imigue(src, tmp_path / "out", progress=False)
    assert report.written == 40 and not report.skipped
    ds = SkeletonDataset(tmp_path / "out")
    assert ds.info.fps == 25.0 and len(ds.class_names) == 32 and ds.class_names[31] == "non_mg"
    ids = ds.sample_field("id")
    labels = dict(zip(ids, ds.labels.tolist()))
    for row in rows:  # value by value: labels == class - 1, 99 -> 31
        video, number, _, start, _, end, cls = row.split(",")[:7]
        sample_id = f"{video}_{number}"
        assert labels[sample_id] == (31 if cls == "99" else int(cls) - 1), row
        k = ids.index(sample_id)
        assert ds.sample_field("start_frame")[k] == int(start) and ds.sample_field("end_frame")[k] == int(end)
    assert labels["298_33"] == 1 and labels["298_40"] == 31 and labels["298_31"] == 30
    (timeline,) = read_timelines(tmp_path / "out" / "timelines.json")
    assert timeline.fps == 25.0 and timeline.num_frames == 240 and timeline.outcome == "win"
    assert len(timeline.events) == 35  # the five non-MG clips are background
    for event in timeline.events:
        assert event.start_seconds(timeline.fps) == event.start_frame / 25
        assert event.name == f"MG{event.label + 1}"
    prompt = timeline.to_prompt(decimals=2)["micro_gestures"]
    assert prompt[0] == {"mg": "MG1", "start_s": 35 / 25, "end_s": 38 / 25}

    report = convert_imigue(src, tmp_path / "drop", progress=False, non_mg="drop")
    assert report.written == 35 and report.skipped == {"non-MG clip (class 99), dropped (non_mg='drop')": 5}
    dropped = SkeletonDataset(tmp_path / "drop")
    assert dropped.class_names == tuple(class_names("drop")) and len(dropped.class_names) == 31
    assert "298_8" not in dropped.sample_field("id") and int(dropped.labels.max()) <= 30
    with pytest.raises(ValueError, match="non_mg: expected one of class, drop, got 'keep'"):
        convert_imigue(src, tmp_path / "x", non_mg="keep")


def test_a_file_with_both_32_and_99_is_an_error(tmp_path):
    src = make_openpose(tmp_path)
    with open(src / "labels.csv", "a") as fh:
        fh.write("7,2,0.0,0,0.04,1,32,1,female,German,Lose\n")
    for skip_bad in (False, True):
        with pytest.raises(ConversionError, match=r"class 99 \(non-MG\) here and class 32 at .*labels\.csv: line 5.*"
                                                  r"cannot say whether 32 is a 32nd MG") as info:
            convert_imigue(src, tmp_path / "out", progress=False, skip_bad=skip_bad)
        assert info.value.reason == "ambiguous non-MG class"
    # 32 alone is the folded 99 of the official reader: the non-MG class too
    replace_line(src / "labels.csv", 3, "12,2,0,0,0.2,5,32,2,male,Chinese,Win")
    convert_imigue(src, tmp_path / "folded", progress=False)
    ds = SkeletonDataset(tmp_path / "folded")
    assert dict(zip(ds.sample_field("id"), ds.labels.tolist()))["12_2"] == 31


def test_fps_from_the_label_file_checked_row_by_row(tmp_path):
    src = make_openpose(tmp_path)
    replace_line(src / "labels.csv", 2, "12,1,0.04,1,0.4,3,5,2,male,Chinese,Win")  # frame 3 at 0.4 s: 7.5 fps?
    report = refused_then_skipped(convert_imigue, src, tmp_path, r"labels\.csv: line 2, field 'end_time': frame 3 at "
                                  r"0\.4 s contradicts video 12's .* fps", "inconsistent fps")
    assert report.skipped == {"inconsistent fps": 1} and report.written == 1

    src = make_openpose(tmp_path / "clock")  # [hh:]mm:ss times, and videos at two rates
    replace_line(src / "labels.csv", 4, "7,1,00:00:00.067,2,00:00:00.133,4,1,1,female,German,Lose")
    convert_imigue(src, tmp_path / "c", progress=False)
    ds = SkeletonDataset(tmp_path / "c")
    assert ds.info.fps is None  # the videos disagree: per-sample fps
    assert fields_of(ds, "fps") == {"12_1": 25.0, "12_2": 25.0, "7_1": 30.0}
    doc = json.loads((tmp_path / "c" / "timelines.json").read_text())
    assert doc["videos"]["7"]["fps"] == 30.0 and doc["videos"]["7"]["events"][0]["start_s"] == round(2 / 30, 3)

    src = make_openpose(tmp_path / "nofps")  # no times at all: 25 assumed, and said so
    lines = (src / "labels.csv").read_text().splitlines()
    cut = [",".join(c for i, c in enumerate(line.split(",")) if i not in (2, 4)) for line in lines]
    (src / "labels.csv").write_text("\n".join(cut) + "\n")
    convert_imigue(src, tmp_path / "d", progress=False)
    meta = json.loads((tmp_path / "d" / "meta.json").read_text())
    assert meta["fps"] == 25.0 and meta["provenance"]["fps_source"] == ["assumed (no times in the label file)"]


@pytest.mark.parametrize("row, message, reason", [
    ("12,1,0.0,0,0.08,2,6,2,male,Chinese,Win", r"line 5: clip 1 of video 12 is also at line 2", "duplicate row"),
    ("12,9,0.04,1,0.12,3,5,2,male,Chinese,Win", r"line 5: class 5, frames 1-3 of video 12 are also at line 2",
     "duplicate row"),
    ("12,3,0.0,0,0.08,2,6,2,male,Chinese,Draw", r"line 5, field 'win_or_lose': .*expected 'win' or 'lose'.*'Draw'",
     "unknown outcome"),
    ("12,3,0.0,0,0.08,2,40,2,male,Chinese,Win", r"line 5, field 'class': class 40 is not an iMiGUE class",
     "unknown label"),
])
def test_bad_label_rows_are_named(tmp_path, row, message, reason):
    src = make_openpose(tmp_path)
    with open(src / "labels.csv", "a") as fh:
        fh.write(row + "\n")
    report = refused_then_skipped(convert_imigue, src, tmp_path, message, reason)
    assert report.skipped == {reason: 1} and SkeletonDataset(tmp_path / "b").sample_field("id") == ["7_1"]


def test_label_id_is_not_taken_for_the_class(tmp_path):
    src = make_openpose(tmp_path)
    lines = (src / "labels.csv").read_text().splitlines()
    cut = [",".join(c for i, c in enumerate(line.split(",")) if i != 6) for line in lines]  # no 'class' column
    (src / "labels.csv").write_text("\n".join(cut) + "\n")
    with pytest.raises(ConversionError, match=r"no column class in the header .*label_id is the clip's number "
                                              r"within its video; the MG class is the column 'class'"):
        convert_imigue(src, tmp_path / "a", progress=False)


def test_light_hand_form_sides_non_mg_and_metadata(tmp_path):
    src = make_light_hand(tmp_path)
    report = convert_imigue(src, tmp_path / "out", labels=tmp_path / "meta.csv", progress=False)
    assert report.written == 4 and not report.skipped
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["provenance"]["form"] == "light_hand" and meta["fps"] == 25.0
    assert meta["provenance"]["fps_source"] == ["assumed (no times in the label file)"]

    ds = SkeletonDataset(tmp_path / "out")
    assert dict(zip(ds.sample_field("id"), ds.labels.tolist())) == {"0001_0": 4, "0001_1": 31, "0001_2": 30,
                                                                     "0002_0": 0}
    assert dict(zip(ds.sample_field("id"), ds.lengths.tolist())) == {"0001_0": 3, "0001_1": 2, "0001_2": 1,
                                                                      "0002_0": 3}
    assert fields_of(ds, "subject") == {"0001_0": 2, "0001_1": 2, "0001_2": 2, "0002_0": 1}
    assert fields_of(ds, "win_or_lose")["0002_0"] == "lose"
    assert SkeletonDataset(tmp_path / "out", split="xsub/test").sample_field("id") == ["0002_0"]

    # rows are frames after the (skipped) pandas header: 0001_0 is frames 1..3
    x = sample(ds, "0001_0")
    for i, t in enumerate((1, 2, 3)):
        np.testing.assert_allclose(x[:, i, :, 0].T, expected_joints(t), atol=1e-6)
    y = sample(ds, "0002_0")  # no header: frames 0..2
    for t in range(3):
        np.testing.assert_allclose(y[:, t, :, 0].T, expected_joints(t), atol=1e-6)
    # the first five finger points (person's left) went to joints 17-21, the next five to 12-16
    np.testing.assert_allclose(y[:, 0, 17, 0], [(550 + 4 - 400) / 100, (300 - 528) / 100, 0.6], atol=1e-6)
    np.testing.assert_allclose(y[:, 0, 16, 0], [(250 + 20 - 400) / 100, (300 - 540) / 100, 0.7], atol=1e-6)

    timelines = {t.video: t for t in read_timelines(tmp_path / "out" / "timelines.json")}
    assert timelines["0001"].subject == "2" and timelines["0001"].outcome == "win"
    assert [(e.label, e.start_frame, e.end_frame) for e in timelines["0001"].events] == [(30, 0, 0), (4, 1, 3)]
    assert timelines["0001"].num_frames == 6


def test_light_hand_other_hand_first_drop_non_mg_and_no_subjects(tmp_path):
    src = make_light_hand(tmp_path)
    report = convert_imigue(src, tmp_path / "out", progress=False, non_mg="drop", csv_first_hand="right")
    assert report.written == 3 and report.splits == {}  # no subjects, no split
    assert sum(report.skipped.values()) == 1
    ds = SkeletonDataset(tmp_path / "out")
    assert len(ds.class_names) == 31 and "0001_1" not in ds.sample_field("id")
    y = sample(ds, "0002_0")
    # now the first five finger points are read as the right hand's
    np.testing.assert_allclose(y[:, 0, 12, 0], [(550 + 4 - 400) / 100, (300 - 528) / 100, 0.6], atol=1e-6)
    timelines = {t.video: t for t in read_timelines(tmp_path / "out" / "timelines.json")}
    assert timelines["0002"].outcome is None and timelines["0002"].subject is None


def test_xsub_part():
    assert len(XSUB_TRAIN_SUBJECTS) == 37
    parts = [xsub_part(s) for s in range(1, 73)]
    assert parts.count("train") == 37 and parts.count("test") == 35
    assert xsub_part(2) == "train" and xsub_part(1) == "test" and xsub_part(73) is None and xsub_part(None) is None


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def light_hand_row_with(t: int, index: int, token: str) -> str:
    tokens = light_hand_row(t).split(",")
    tokens[index] = token
    return ",".join(tokens)


def frame_doc(t: int = 2) -> dict:
    return json.loads(openpose_json([person(t)]))


def write_doc(path: Path, edit) -> None:
    doc = frame_doc()
    edit(doc["people"][0])
    path.write_text(json.dumps(doc))


FRAME = "7/7_000000000002_keypoints.json"
OP = {  # form "openpose": video 7 is corrupted; video 12 must survive under skip_bad
    "malformed json": (FRAME, lambda p: p.write_text('{"people": [{"pose_keypoints_2d": [1, 2,'),
                       r"7_000000000002_keypoints\.json: line 1 column \d+: not valid JSON", "malformed JSON"),
    "missing key": (FRAME, lambda p: write_doc(p, lambda d: d.pop("pose_keypoints_2d")),
                    r"7_000000000002_keypoints\.json: field 'people\[0\]\.pose_keypoints_2d': missing", "missing key"),
    "wrong count": (FRAME, lambda p: write_doc(p, lambda d: d["pose_keypoints_2d"].pop()),
                    r"field 'people\[0\]\.pose_keypoints_2d': expected 75 values, got 74", "wrong number of values"),
    "non-numeric": (FRAME, lambda p: write_doc(p, lambda d: d["hand_left_keypoints_2d"].__setitem__(2, "abc")),
                    r"field 'people\[0\]\.hand_left_keypoints_2d': value 3 is not a number: 'abc'", "non-numeric"),
    "nan": (FRAME, lambda p: p.write_text(json.dumps(frame_doc()).replace("300.0", "NaN", 1)),
            r"7_000000000002_keypoints\.json: field 'people\[0\]\.pose_keypoints_2d': value \d+ is nan",
            "NaN or infinite value"),
    "csv row count": ("labels.csv", lambda p: replace_line(p, 4, "7,1,0.08,2,0.16,4,1,1,female,German"),
                      r"labels\.csv: line 4: expected 11 values, got 10", "wrong number of values"),
    "csv token": ("labels.csv", lambda p: replace_line(p, 4, "7,1,0.08,two,0.16,4,1,1,female,German,Lose"),
                  r"labels\.csv: line 4, field 'start_frame': value 1 is not a number: 'two'", "non-numeric"),
    "csv time": ("labels.csv", lambda p: replace_line(p, 4, "7,1,soon,2,0.16,4,1,1,female,German,Lose"),
                 r"labels\.csv: line 4, field 'start_time': value 1 is not a number: 'soon'", "non-numeric"),
    "empty clip": ("labels.csv", lambda p: replace_line(p, 4, "7,1,0.16,4,0.12,3,1,1,female,German,Lose"),
                   r"labels\.csv: line 4: empty clip: end frame 3 before start frame 4", "empty clip"),
    "outside": ("labels.csv", lambda p: replace_line(p, 4, "7,1,0.08,2,0.24,6,1,1,female,German,Lose"),
                r"labels\.csv: line 4: clip frames 2-6 outside the video's 6 frames", "clip outside video"),
    "unknown label": ("labels.csv", lambda p: replace_line(p, 4, "7,1,0.08,2,0.16,4,40,1,female,German,Lose"),
                      r"labels\.csv: line 4, field 'class': class 40 is not an iMiGUE class", "unknown label"),
    "no frames": ("7", lambda p: [f.unlink() for f in p.iterdir()],
                  r"no folder of \*_keypoints\.json for video 7", "missing skeleton files"),
    "no neck": ("7", lambda p: [write_doc(f, lambda d: d.__setitem__("pose_keypoints_2d", [0] * 75))
                                for f in p.iterdir()], r"7: the neck .* is detected in no frame", "no person detected"),
}
LH = {  # form "light_hand": video 0002 is corrupted; 0001 must survive under skip_bad
    "row count": ("0002/0002_light_hand.csv", lambda p: replace_line(p, 2, light_hand_row(1) + ",1.0"),
                  r"0002_light_hand\.csv: line 2: expected 106 values, got 107", "wrong number of values"),
    "non-numeric": ("0002/0002_light_hand.csv", lambda p: replace_line(p, 3, light_hand_row_with(2, 1, "x")),
                    r"0002_light_hand\.csv: line 3: value 2 is not a number: 'x'", "non-numeric"),
    "first row token": ("0002/0002_light_hand.csv", lambda p: replace_line(p, 1, light_hand_row_with(0, 5, "")),
                        r"0002_light_hand\.csv: line 1: value 6 is not a number: ''", "non-numeric"),
    "nan": ("0002/0002_light_hand.csv", lambda p: replace_line(p, 1, light_hand_row_with(0, 1, "nan")),
            r"0002_light_hand\.csv: line 1: value 2 is 'nan'", "NaN or infinite value"),
    "label row": ("0002/0002_label.csv", lambda p: p.write_text("1,0,2,7\n"),
                  r"0002_label\.csv: line 1: expected 3 values \(label, start, end\), got 4", "wrong number of values"),
    "empty clip": ("0002/0002_label.csv", lambda p: p.write_text("1,0,2\n1,2,1\n"),
                   r"0002_label\.csv: line 2: empty clip", "empty clip"),
    "outside": ("0002/0002_label.csv", lambda p: p.write_text("1,0,9\n"),
                r"0002_label\.csv: line 1: clip frames 0-9 outside the video's 6 frames", "clip outside video"),
    "missing label file": ("0002/0002_label.csv", lambda p: p.unlink(), r"0002_label\.csv: missing",
                           "missing label file"),
}


def run_corrupt(tmp_path, make, cases, case, survivors, **kwargs):
    relative, corrupt, message, reason = cases[case]
    src = make(tmp_path)
    corrupt(src / relative)
    with pytest.raises(ConversionError, match=message) as info:
        convert_imigue(src, tmp_path / "a", progress=False, **kwargs)
    assert info.value.reason == reason
    assert not (tmp_path / "a" / "meta.json").exists()
    report = convert_imigue(src, tmp_path / "b", progress=False, skip_bad=True, **kwargs)
    assert report.skipped[reason] == 1
    assert sorted(SkeletonDataset(tmp_path / "b").sample_field("id")) == survivors
    assert {t.video for t in read_timelines(tmp_path / "b" / "timelines.json")} == {survivors[0].split("_")[0]}


@pytest.mark.parametrize("case", sorted(OP))
def test_corrupt_openpose_input(tmp_path, case):
    run_corrupt(tmp_path, make_openpose, OP, case, ["12_1", "12_2"])


@pytest.mark.parametrize("case", sorted(LH))
def test_corrupt_light_hand_input(tmp_path, case):
    run_corrupt(tmp_path, make_light_hand, LH, case, ["0001_0", "0001_1", "0001_2"])


def test_label_rows_that_name_no_video_and_bad_headers(tmp_path):
    src = make_openpose(tmp_path)
    with open(src / "labels.csv", "a") as fh:
        fh.write(",3,0.08,2,0.16,4,1,1,female,German,Lose\n")
    with pytest.raises(ConversionError, match=r"labels\.csv: line 5: empty video_id"):
        convert_imigue(src, tmp_path / "a", progress=False)
    report = convert_imigue(src, tmp_path / "b", progress=False, skip_bad=True)
    assert report.written == 3 and dict(report.skipped) == {"missing value": 1}

    replace_line(src / "labels.csv", 1, "video_id,label_id,start_frame,end_frame,class")
    with pytest.raises(ConversionError, match=r"labels\.csv: line 1: no column subject_id in the header") as info:
        convert_imigue(src, tmp_path / "c", progress=False, skip_bad=True)
    assert info.value.reason == "missing column"


def test_unlabelled_video_folder_is_counted_and_options_checked(tmp_path):
    src = make_openpose(tmp_path)
    (src / "99").mkdir()
    (src / "99" / "99_000000000000_keypoints.json").write_text(openpose_json([person(0)]))
    report = convert_imigue(src, tmp_path / "out", progress=False)
    assert report.written == 3 and dict(report.skipped) == {"no clips in the label file": 1}
    with pytest.raises(ValueError, match="form: expected one of"):
        convert_imigue(src, tmp_path / "x", form="kinect")
    with pytest.raises(ValueError, match="csv_first_hand"):
        convert_imigue(src, tmp_path / "x", csv_first_hand="both")


def test_overwrite_removes_the_old_timelines_first(tmp_path):
    src = make_openpose(tmp_path)
    convert_imigue(src, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "timelines.json").is_file()
    (src / FRAME).write_text('{"people": [')  # the conversion now fails halfway, after the old dataset is gone
    with pytest.raises(ConversionError):
        convert_imigue(src, tmp_path / "out", progress=False, overwrite=True)
    assert not (tmp_path / "out" / "timelines.json").exists()  # no timelines of a dataset that is gone
    with pytest.raises(Exception, match="meta.json: missing"):
        SkeletonDataset(tmp_path / "out")


def test_the_packaged_protocol_is_the_published_one():
    """The MG cross-subject split (37 / 35 subjects) and the emotion videos shipped in the package are those
    of the iMiGUE protocol file in ../shared (when it is there)."""
    from mgclr.data.convert.imigue import PROTOCOL

    xsub = PROTOCOL["mg_recognition_cross_subject"]
    assert len(xsub["train_subjects"]) == 37 and len(xsub["test_subjects"]) == 35
    assert sorted(XSUB_TRAIN_SUBJECTS) == xsub["train_subjects"]
    assert [s for s in range(1, 73) if xsub_part(s) == "test"] == xsub["test_subjects"]
    emotion = PROTOCOL["emotion_videos"]
    assert len(emotion["train"]) == 102 and len(emotion["test"]) == 100 and not set(emotion["train"]) & set(
        emotion["test"])
    published = data_dir() / "imigue_official_splits.json"
    if not published.is_file():
        pytest.skip(f"the protocol file is not in {published.parent} (../shared/data)")
    assert json.loads(published.read_text()) == PROTOCOL
