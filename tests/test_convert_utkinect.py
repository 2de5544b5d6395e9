"""UTKinect converter: joint files + label file -> one sample per labelled segment (first of a repeated frame
id kept, NaN ranges counted), odd/even subject split, the label file choice, corrupt input named or counted,
and the real files when ../shared/data is there."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import data_dir

from mgclr.data.convert.common import ConversionError
from mgclr.data.convert.utkinect import ACTIONS, convert_utkinect, read_labels
from mgclr.data.format import SkeletonDataset


def joints(frame_id, seed):
    return np.random.default_rng(seed * 1000 + frame_id).uniform(-1, 3, size=(20, 3)).round(6)


def joint_line(frame_id, seed):
    return " ".join([str(frame_id)] + [f"{v:.6f}" for v in joints(frame_id, seed).ravel()])


def write_video(src, video, frame_ids, seed, extra=()):
    lines = [joint_line(f, seed) for f in frame_ids]
    for position, line in extra:
        lines.insert(position, line)
    (src / f"joints_{video}.txt").write_text("\n".join(lines) + "\n")


LABELS = """s01_e01
walk: 10 16
sitDown: 20 30
s02_e01
walk: 100 104
carry: NaN NaN
clapHands: 110 111
"""


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "utk"
    folder.mkdir()
    # Frame 12 appears twice: the second line (other values) must be ignored.
    write_video(folder, "s01_e01", [10, 12, 14, 16, 20, 24, 30, 31], seed=1, extra=[(2, joint_line(12, seed=9))])
    write_video(folder, "s02_e01", [100, 102, 104, 110, 111], seed=2)
    (folder / "actionLabel_modified.txt").write_text(LABELS)
    (folder / "actionLabel.txt").write_text(LABELS.replace("sitDown: 20 30", "sitDown: 20 24"))
    return folder


def test_segments_values_fields_and_split(src, tmp_path):
    report = convert_utkinect(src, tmp_path / "out", progress=False)
    assert report.written == 4 and report.splits == {"xsub": {"train": 2, "test": 2}}
    assert report.skipped == {"no frame range in the label file": 1}
    assert "s02_e01 carry: NaN NaN" in report.skipped_examples["no frame range in the label file"][0]
    ds = SkeletonDataset(tmp_path / "out")
    assert ds.shape == (4, 3, 4, 20, 1) and ds.class_names == ACTIONS and ds.layout.name == "kinect20"
    assert ds.sample_field("id") == ["s01_e01_walk", "s01_e01_sitDown", "s02_e01_walk", "s02_e01_clapHands"]
    assert list(ds.labels) == [0, 1, 0, 9] and list(ds.lengths) == [4, 3, 3, 2]
    assert ds.sample_field("frame_ids") == [[10, 12, 14, 16], [20, 24, 30], [100, 102, 104], [110, 111]]
    assert ds.sample_field("subject") == [1, 1, 2, 2] and ds.sample_field("start_frame") == [10, 20, 100, 110]
    assert ds.meta["provenance"]["repeated_frame_ids"] == 1
    assert ds.meta["provenance"]["skipped"] == {"no frame range in the label file": 1}
    walk = np.stack([joints(f, 1) for f in (10, 12, 14, 16)])  # the first line of frame 12
    np.testing.assert_allclose(ds[0][0][:, :4, :, 0].numpy(), (walk - walk[0, 1]).transpose(2, 0, 1), atol=1e-6)
    sit = np.stack([joints(f, 1) for f in (20, 24, 30)])
    np.testing.assert_allclose(ds[1][0][:, :3, :, 0].numpy(), (sit - sit[0, 1]).transpose(2, 0, 1), atol=1e-6)
    assert SkeletonDataset(tmp_path / "out", "test").sample_field("subject") == [2, 2]


def test_label_file_choice(src, tmp_path):
    convert_utkinect(src, tmp_path / "orig", progress=False, labels="original")
    assert SkeletonDataset(tmp_path / "orig").sample_field("frame_ids")[1] == [20, 24]
    (src / "mine.txt").write_text("s01_e01\nwaveHands: 10 31\n")
    convert_utkinect(src, tmp_path / "mine", progress=False, labels=src / "mine.txt", frames=5)
    ds = SkeletonDataset(tmp_path / "mine")
    assert list(ds.labels) == [8] and list(ds.lengths) == [5] and ds.meta["provenance"]["cut_to_5_frames"] == 1
    with pytest.raises(ValueError, match="labels: expected 'modified', 'original' or a label file, got 'newest'"):
        convert_utkinect(src, tmp_path / "x", progress=False, labels="newest")


@pytest.mark.parametrize("text, match", [
    ("walk: 1 2\n", r"line 1: expected a video name sXX_eYY first"),
    ("s01_e01\nwalk 1 2\n", r"line 2: expected 'action: start end'"),
    ("s01_e01\njump: 1 2\n", r"line 2: unknown action 'jump'"),
    ("s01_e01\nwalk: 1 2\nwalk: 3 4\n", r"line 3: s01_e01 walk already given on line 2"),
    ("s01_e01\nwalk: 5 2\n", r"line 2: start 5 is after end 2"),
    ("s01_e01\nwalk: 1.5 2\n", r"line 2: frame id '1.5' is not a non-negative integer"),
    ("s01_e01\nwalk: NaN 2\n", r"line 2: frame id 'NaN' is not"),
    ("s01_e01\nwalk: 1 2\ns01_e01\n", r"line 3: video s01_e01 is listed twice"),
    ("\n\n", r"no video in it"),
])
def test_label_file_errors_always_raise(tmp_path, text, match):
    (tmp_path / "labels.txt").write_text(text)
    with pytest.raises(ConversionError, match=match):
        read_labels(tmp_path / "labels.txt")


CORRUPT = {
    "wrong count": (lambda f: (f / "joints_s02_e01.txt").write_text(joint_line(100, 2)[:-10] + "\n"),
                    r"joints_s02_e01.txt: line 1: expected 61 values, got 60"),
    "non-numeric": (lambda f: (f / "joints_s02_e01.txt").write_text(
        joint_line(100, 2) + "\n" + joint_line(102, 2).replace(" ", " x", 1) + "\n"),
        r"joints_s02_e01.txt: line 2: value 2 is not a number: 'x"),
    "nan": (lambda f: (f / "joints_s02_e01.txt").write_text(joint_line(100, 2) + " \n" + "102" + " nan" * 60 + "\n"),
            r"joints_s02_e01.txt: line 2: value 2 is 'nan'"),
    "ids go back": (lambda f: write_video(f, "s02_e01", [100, 104, 102, 110], seed=2),
                    r"joints_s02_e01.txt: line 3: frame id 102 goes back \(previous 104\)"),
    "missing file": (lambda f: (f / "joints_s02_e01.txt").unlink(), r"joints_s02_e01.txt: missing"),
    "empty file": (lambda f: (f / "joints_s02_e01.txt").write_text("\n"), r"joints_s02_e01.txt: no skeleton frame"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_joint_files_are_named_or_counted(src, tmp_path, case):
    damage, match = CORRUPT[case]
    damage(src)
    with pytest.raises(ConversionError, match=match):
        convert_utkinect(src, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    report = convert_utkinect(src, tmp_path / "out", progress=False, skip_bad=True)
    # Both annotated segments of s02_e01 are skipped with the file's reason; s01_e01 is written.
    assert report.written == 2 and sum(report.skipped.values()) == 3
    assert SkeletonDataset(tmp_path / "out").sample_field("id") == ["s01_e01_walk", "s01_e01_sitDown"]


def test_empty_segment(src, tmp_path):
    (src / "actionLabel_modified.txt").write_text(LABELS.replace("sitDown: 20 30", "sitDown: 17 19"))
    with pytest.raises(ConversionError, match=r"actionLabel_modified.txt: line 3: s01_e01 sitDown: no skeleton frame "
                                              r"has an id in 17..19"):
        convert_utkinect(src, tmp_path / "out", progress=False)
    report = convert_utkinect(src, tmp_path / "out", progress=False, skip_bad=True)
    assert report.written == 3 and report.skipped["empty segment"] == 1


UTKINECT = data_dir() / "utkinect"


@pytest.mark.skipif(not UTKINECT.is_dir(), reason=f"UTKinect data not found in {UTKINECT} (../shared/data)")
def test_real_utkinect(tmp_path):
    report = convert_utkinect(UTKINECT, tmp_path / "utk", progress=False)
    assert report.written == 199 and report.skipped == {"no frame range in the label file": 1}  # s10_e02 carry
    assert report.splits == {"xsub": {"train": 100, "test": 99}}
    assert report.class_counts["carry"] == 19 and all(n == 20 for c, n in report.class_counts.items() if c != "carry")
    ds = SkeletonDataset(tmp_path / "utk")
    assert ds.meta["provenance"]["repeated_frame_ids"] > 0
    for ids in ds.sample_field("frame_ids"):
        assert ids == sorted(set(ids))


def real_videos(tmp_path, videos=("s01_e01", "s02_e01")):
    """The published joint files and original label lines of ``videos``, in a folder of their own."""
    folder = tmp_path / "utk"
    folder.mkdir()
    blocks, video = {}, None
    for line in (UTKINECT / "actionLabel.txt").read_text().splitlines():
        if line.strip().startswith("s") and "_e" in line and ":" not in line:
            video = line.strip()
        blocks.setdefault(video, []).append(line)
    (folder / "actionLabel.txt").write_text("\n".join(line for v in videos for line in blocks[v]) + "\n")
    for v in videos:
        (folder / f"joints_{v}.txt").write_bytes((UTKINECT / f"joints_{v}.txt").read_bytes())
    return folder


@pytest.mark.skipif(not UTKINECT.is_dir(), reason=f"UTKinect data not found in {UTKINECT} (../shared/data)")
@pytest.mark.parametrize("walk, message, reason", [
    ("10 1e300", r"line 2: frame id '1e300' is beyond 1e\+06, implausible for a video frame", "bad frame range"),
    ("-1 390", r"line 2: frame id '-1' is not a non-negative integer", "bad frame range"),
    ("252 NaN", r"line 2: frame id 'NaN' is not a non-negative integer", "bad frame range"),
    ("390 252", r"line 2: start 390 is after end 252", "bad frame range"),
    ("252 99999", r"line 2: s01_e01 walk: frames 252..99999 are not within the frame ids of joints_s01_e01\.txt "
                  r"\(190\.\.2290\)", "frame range outside the video"),
    ("10 390", r"line 2: s01_e01 walk: frames 10..390 are not within the frame ids", "frame range outside the video"),
])
def test_a_bad_frame_range_is_named_or_skipped(tmp_path, walk, message, reason):
    """The published label file with s01_e01's `walk: 252 390` made `walk: 10 1e300` (and the like): never a
    walk sample that swallows every later frame of the video, but a named error, or with skip_bad that segment
    skipped and counted while every other one is converted as from the published file."""
    src = real_videos(tmp_path)
    good = convert_utkinect(src, tmp_path / "good", labels="original", progress=False)
    labels = src / "actionLabel.txt"
    assert labels.read_text().splitlines()[1] == "walk: 252 390"
    labels.write_text(labels.read_text().replace("walk: 252 390", f"walk: {walk}", 1))
    with pytest.raises(ConversionError, match=rf"actionLabel\.txt: {message}") as info:
        convert_utkinect(src, tmp_path / "out", labels="original", progress=False)
    assert info.value.reason == reason and not (tmp_path / "out").exists()
    report = convert_utkinect(src, tmp_path / "out", labels="original", progress=False, skip_bad=True)
    assert report.written == good.written - 1 == 19 and dict(report.skipped) == {reason: 1}
    ds, before = SkeletonDataset(tmp_path / "out"), SkeletonDataset(tmp_path / "good")
    assert ds.meta["provenance"]["skipped"] == {reason: 1} and "s01_e01_walk" not in ds.sample_field("id")
    assert ds.sample_field("end_frame") == before.sample_field("end_frame")[1:]
    assert ds.sample_field("frame_ids") == before.sample_field("frame_ids")[1:]
    assert ds.shape[2] == max(len(ids) for ids in ds.sample_field("frame_ids"))  # T: the longest kept segment
