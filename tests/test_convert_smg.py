"""SMG converter: Kinect rows -> ntu25 clips centred on spine_shoulder, end-exclusive frames, xsub by the sample
number, and every corrupt input named (file, line) and counted under skip_bad."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mgclr.data.convert.common import ConversionError
from mgclr.data.convert.smg import convert_smg, xsub_part
from mgclr.data.format import SkeletonDataset
from mgclr.skeleton import get_layout


def position(t: int, j: int) -> np.ndarray:
    """Camera-space position of joint j at frame t: distinct per joint and frame."""
    return np.array([1.0 + 0.1 * j + 0.01 * t, 2.0 + 0.2 * j - 0.02 * t, 3.0 + 0.05 * j + 0.03 * t])


def skeleton_row(t: int, absent: bool = False) -> str:
    values = []
    for j in range(25):
        xyz = np.zeros(3) if absent else position(t, j)
        # Orientation, image position and the two unread values: junk that must not reach the output.
        values += list(xyz) + [90.0 + j, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0]
    return ",".join(f"{v:.6f}" for v in values)


def make_smg(root: Path) -> Path:
    """Sample0003 (subject 3, train): 30 frames, two clips; Sample0036 (subject 36, test): 20 frames, the first
    without a body, one clip over all of it."""
    src = root / "smg"
    for name, frames, labels, data in (("Sample0003", 30, "5,2,10\n17,10,25\n", "30,30,4500\n"),
                                       ("Sample0036", 20, "1,0,20\n", None)):
        folder = src / name
        folder.mkdir(parents=True)
        rows = [skeleton_row(t, absent=(name == "Sample0036" and t == 0)) for t in range(frames)]
        (folder / f"{name}_skeleton.csv").write_text("\n".join(rows) + "\n")
        (folder / f"{name}_finelabels.csv").write_text(labels)
        if data:
            (folder / f"{name}_data.csv").write_text(data)
    return src


def by_id(ds: SkeletonDataset) -> dict:
    return {i: k for k, i in enumerate(ds.sample_field("id"))}


def test_values_labels_lengths_and_split(tmp_path):
    src = make_smg(tmp_path)
    report = convert_smg(src, tmp_path / "out", progress=False)
    assert report.written == 3 and not report.skipped
    assert report.splits == {"xsub": {"train": 2, "test": 1}}

    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["layout"] == "ntu25" and meta["channel_names"] == ["x", "y", "z"] and meta["coord_channels"] == 3
    assert meta["class_names"] == [f"MG{k}" for k in range(1, 18)] and meta["fps"] == 30.0
    assert "spine_shoulder" in meta["normalisation"]

    train = SkeletonDataset(tmp_path / "out", split="xsub/train")
    assert train.sample_field("id") == ["Sample0003_0", "Sample0003_1"]
    assert train.labels.tolist() == [4, 16]           # ids 5 and 17
    assert train.lengths.tolist() == [8, 15]          # rows 2..9 and 10..24: end exclusive
    assert train.sample_field("subject") == [3, 3]
    assert train.sample_field("start_frame") == [2, 10] and train.sample_field("end_frame") == [9, 24]  # inclusive

    x, length, label = train[0]
    x = x.numpy()
    assert x.shape == (3, 20, 25, 1) and length == 8  # T = the longest clip
    origin = position(2, 20)                          # spine_shoulder at the clip's first frame
    for t in range(8):
        for j in range(25):
            np.testing.assert_allclose(x[:, t, j, 0], position(2 + t, j) - origin, atol=1e-5)
    assert np.all(x[:, 0, 20, 0] == 0)                # the centre joint at the first frame is the origin
    np.testing.assert_allclose(x[:, 3, 7, 0], [0.1 * (7 - 20) + 0.03, 0.2 * (7 - 20) - 0.06, 0.05 * (7 - 20) + 0.09],
                               atol=1e-5)             # left_hand at frame 5 (clip frame 3), spelled out
    assert not x[:, 8:].any()                         # padding

    test = SkeletonDataset(tmp_path / "out", split="xsub/test")
    assert test.sample_field("id") == ["Sample0036_0"] and test.labels.tolist() == [0]
    x = test[0][0].numpy()
    assert test.lengths.tolist() == [20]
    assert not x[:, 0].any()                          # no body tracked: stays exactly zero
    origin = position(1, 20)                          # first frame where spine_shoulder is present
    np.testing.assert_allclose(x[:, 5, 3, 0], position(5, 3) - origin, atol=1e-5)
    assert get_layout("ntu25").joint_names[20] == "spine_shoulder"


def test_xsub_part_and_fps_from_data_csv(tmp_path):
    assert [xsub_part(s) for s in (1, 35, 36, 40, 41, 0, None)] == ["train", "train", "test", "test", None, None,
                                                                     None]
    src = make_smg(tmp_path)
    (src / "Sample0003" / "Sample0003_data.csv").write_text("30,15,4500\n")
    convert_smg(src, tmp_path / "out", progress=False)
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["fps"] is None                        # 15 and 30 (default) disagree


def test_trailing_comma_is_tolerated(tmp_path):
    src = make_smg(tmp_path)
    path = src / "Sample0036" / "Sample0036_skeleton.csv"
    path.write_text("".join(line + ",\n" for line in path.read_text().splitlines()))
    assert convert_smg(src, tmp_path / "out", progress=False).written == 3


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def row_with(token_index: int, token: str) -> str:
    tokens = skeleton_row(2).split(",")
    tokens[token_index] = token
    return ",".join(tokens)


SKEL = "Sample0036/Sample0036_skeleton.csv"
LABELS = "Sample0036/Sample0036_finelabels.csv"
CORRUPT = {
    "short row": (SKEL, lambda p: replace_line(p, 5, ",".join(skeleton_row(4).split(",")[:-1])),
                  r"Sample0036_skeleton\.csv: line 5: expected 275 values, got 274", "wrong number of values"),
    "non-numeric": (SKEL, lambda p: replace_line(p, 3, row_with(6, "abc")),
                    r"Sample0036_skeleton\.csv: line 3: value 7 is not a number: 'abc'", "non-numeric"),
    "nan": (SKEL, lambda p: replace_line(p, 4, row_with(1, "nan")),
            r"Sample0036_skeleton\.csv: line 4: value 2 is 'nan'", "NaN or infinite value"),
    "label row": (LABELS, lambda p: p.write_text("1,0\n"),
                  r"Sample0036_finelabels\.csv: line 1: expected 3 values", "wrong number of values"),
    "label token": (LABELS, lambda p: p.write_text("1,x,5\n"),
                    r"Sample0036_finelabels\.csv: line 1: value 1 is not a number: 'x'", "non-numeric"),
    "empty clip": (LABELS, lambda p: p.write_text("1,0,20\n3,10,10\n"),
                   r"Sample0036_finelabels\.csv: line 2: empty clip", "empty clip"),
    "outside": (LABELS, lambda p: p.write_text("3,10,21\n"),
                r"Sample0036_finelabels\.csv: line 1: clip frames 10-21 .* outside the recording's 20 frames",
                "clip outside video"),
    "unknown label": (LABELS, lambda p: p.write_text("18,0,5\n"),
                      r"Sample0036_finelabels\.csv: line 1: label 18 is not an SMG class", "unknown label"),
    "missing labels": (LABELS, lambda p: p.unlink(), r"Sample0036_finelabels\.csv: missing", "missing label file"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_input_raises_or_is_counted(tmp_path, case):
    relative, corrupt, message, reason = CORRUPT[case]
    src = make_smg(tmp_path)
    corrupt(src / relative)
    with pytest.raises(ConversionError, match=message) as info:
        convert_smg(src, tmp_path / "a", progress=False)
    assert info.value.reason == reason
    assert not (tmp_path / "a" / "meta.json").exists()

    report = convert_smg(src, tmp_path / "b", progress=False, skip_bad=True)
    assert dict(report.skipped) == {reason: 1}
    assert SkeletonDataset(tmp_path / "b").sample_field("id") == ["Sample0003_0", "Sample0003_1"]
    meta = json.loads((tmp_path / "b" / "meta.json").read_text())
    assert meta["provenance"]["skipped"] == {reason: 1}
    assert "Sample0036" in report.summary()


def test_no_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no \\*_skeleton.csv"):
        convert_smg(tmp_path, tmp_path / "out", progress=False)


def test_a_copied_recording_folder_is_refused_or_counted(tmp_path):
    """src holding Sample0003/ and an identical copy/Sample0003/: one recording, read once; the copy is named
    ("already read from ..."), or counted under skip_bad, never converted twice into xsub/train."""
    import shutil

    src = make_smg(tmp_path)
    shutil.copytree(src / "Sample0003", src / "copy" / "Sample0003")
    first = src / "Sample0003" / "Sample0003_skeleton.csv"
    copy = src / "copy" / "Sample0003" / "Sample0003_skeleton.csv"
    with pytest.raises(ConversionError) as info:
        convert_smg(src, tmp_path / "a", progress=False)
    assert str(info.value) == f"{copy}: file name: recording Sample0003 already read from {first}"
    assert info.value.reason == "duplicate sample" and not (tmp_path / "a" / "meta.json").exists()

    report = convert_smg(src, tmp_path / "b", progress=False, skip_bad=True)
    assert report.written == 3 and dict(report.skipped) == {"duplicate sample": 1}
    assert report.splits == {"xsub": {"train": 2, "test": 1}}
    assert SkeletonDataset(tmp_path / "b").sample_field("id") == ["Sample0003_0", "Sample0003_1", "Sample0036_0"]

    # The first copy corrupt: skipped, and the other one is read in its place.
    replace_line(first, 3, row_with(6, "abc"))
    report = convert_smg(src, tmp_path / "c", progress=False, skip_bad=True)
    assert dict(report.skipped) == {"non-numeric": 1} and report.written == 3
