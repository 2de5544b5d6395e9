"""NTU RGB+D converter: exact .skeleton text written here, checked value by value after conversion."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pytest

from mgclr.data.convert.common import ConversionError
from mgclr.data.convert.ntu import (
    ACTIONS_60,
    ACTIONS_120,
    MISSING_SKELETONS_60,
    MISSING_SKELETONS_120,
    NORMALISATION,
    TRAIN_SUBJECTS_60,
    TRAIN_SUBJECTS_120,
    convert_ntu,
    pre_normalise,
)
from mgclr.data.format import SkeletonDataset

# A body in the normalised pose: spine mid (1) at the origin, spine base (0) straight below it, left shoulder
# (4) at -x and right shoulder (8) at +x, so pre-normalisation must give it back exactly from any rigid move.
CANONICAL = np.random.default_rng(7).uniform(-0.4, 0.4, size=(25, 3))
CANONICAL[1] = (0.0, 0.0, 0.0)
CANONICAL[0] = (0.0, 0.0, -0.3)
CANONICAL[4] = (-0.2, 0.05, 0.25)
CANONICAL[8] = (0.2, 0.05, 0.25)


def rotation(axis: Sequence[float], angle: float) -> np.ndarray:
    k = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


CAMERA_R = rotation((0.3, 1.0, -0.2), 2.1)  # a pose far from the canonical one: both rotations are needed


def posed(shift: Sequence[float]) -> np.ndarray:
    """CANONICAL rotated by CAMERA_R and moved to ``shift`` (the spine mid's camera position), (25, 3)."""
    return CANONICAL @ CAMERA_R.T + np.asarray(shift, dtype=float)


def skeleton_text(frames: List[List[np.ndarray]]) -> List[str]:
    """The lines of a .skeleton file: ``frames[t]`` is the list of bodies (25, 3) of frame t."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for b, joints in enumerate(bodies):
            lines.append(f"7205759403793110{b} 0 1 1 1 1 0 0.01 -0.2 2")
            lines.append("25")
            for x, y, z in joints:
                lines.append(f"{x:.9f} {y:.9f} {z:.9f} 250.1 180.3 960.5 540.2 0.1 0.2 0.3 0.9 2")
    return lines


def write(folder: Path, name: str, frames: Optional[List[List[np.ndarray]]] = None,
          lines: Optional[List[str]] = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.skeleton"
    if lines is None:
        lines = skeleton_text(frames if frames is not None else [[posed((0.1, 0.2, 3.0))]] * 2)
    path.write_text("\r\n".join(lines) + "\r\n")  # the released files use Windows line ends
    return path


def convert(src: Path, dst: Path, **kwargs):
    kwargs.setdefault("missing", ())
    return convert_ntu(src, dst, progress=False, **kwargs)


def meta(dst: Path) -> dict:
    return json.loads((dst / "meta.json").read_text())


# ----------------------------------------------------------------------------------------- published data


def test_published_lists() -> None:
    assert len(ACTIONS_60) == 60 and len(ACTIONS_120) == 120 and ACTIONS_120[:60] == ACTIONS_60
    assert (ACTIONS_120[0], ACTIONS_120[12], ACTIONS_120[59], ACTIONS_120[119]) == (
        "drink water", "tear up paper", "walking apart from each other",
        "finger-guessing game (playing rock-paper-scissors)")
    assert len(TRAIN_SUBJECTS_60) == 20 and len(TRAIN_SUBJECTS_120) == 53 and TRAIN_SUBJECTS_60 < TRAIN_SUBJECTS_120
    assert len(MISSING_SKELETONS_120) == 535 and len(set(MISSING_SKELETONS_120)) == 535
    assert len(MISSING_SKELETONS_60) == 302 and set(MISSING_SKELETONS_60) < set(MISSING_SKELETONS_120)
    assert list(MISSING_SKELETONS_120) == sorted(MISSING_SKELETONS_120)
    assert all(re.fullmatch(r"S0[0-3]\dC00[1-3]P\d{3}R00[12]A(0\d\d|1[01]\d|120)", n) for n in MISSING_SKELETONS_120)
    assert (MISSING_SKELETONS_60[0], MISSING_SKELETONS_60[-1], MISSING_SKELETONS_120[-1]) == (
        "S001C002P005R002A008", "S017C003P020R001A059", "S032C003P067R002A077")


# ------------------------------------------------------------------------------- values, lengths, fields


def test_single_body_normalised_value_by_value(tmp_path: Path) -> None:
    # Frame 2 moves the whole body (per-frame centring removes it) and raises the right hand (kept).
    frame1 = posed((0.1, 0.2, 3.0))
    frame2 = posed((0.4, 0.1, 2.8))
    frame2[11] += CAMERA_R @ np.array([0.0, 0.0, 0.1])  # right hand 10 cm along the body's +z
    write(tmp_path / "src", "S001C002P003R002A013", [[frame1], [frame2]])
    report = convert(tmp_path / "src", tmp_path / "out")
    assert report.written == 1 and not report.skipped

    ds = SkeletonDataset(tmp_path / "out")
    x, length, label = ds[0]
    x = x.numpy()
    assert x.shape == (3, 300, 25, 2) and length == 2 and label == 12
    assert ds.class_names[label] == "tear up paper" and len(ds.class_names) == 60
    expected2 = CANONICAL.copy()
    expected2[11] += (0.0, 0.0, 0.1)
    np.testing.assert_allclose(x[:, 0, :, 0].T, CANONICAL, atol=2e-6)
    np.testing.assert_allclose(x[:, 1, :, 0].T, expected2, atol=2e-6)
    # Sign conventions: spine base -> spine mid along +z, left -> right shoulder along +x.
    spine = x[:, 0, 1, 0] - x[:, 0, 0, 0]
    shoulders = x[:, 0, 8, 0] - x[:, 0, 4, 0]
    np.testing.assert_allclose(spine / np.linalg.norm(spine), (0, 0, 1), atol=1e-6)
    np.testing.assert_allclose(shoulders / np.linalg.norm(shoulders), (1, 0, 0), atol=1e-6)
    assert not x[:, 2:].any() and not x[..., 1].any()  # zero padding, no second person

    m = meta(tmp_path / "out")
    assert m["layout"] == "ntu25" and m["channel_names"] == ["x", "y", "z"] and m["fps"] == 30.0
    assert m["normalisation"] == NORMALISATION and m["provenance"]["ntu_version"] == "60"
    assert m["provenance"]["converter"] == "mgclr.data.convert.ntu"
    assert {k: ds.sample_field(k)[0] for k in ("id", "setup", "camera", "subject", "replication", "action")} == {
        "id": "S001C002P003R002A013", "setup": 1, "camera": 2, "subject": 3, "replication": 2, "action": 13}


def test_body_selection_and_second_person(tmp_path: Path) -> None:
    still = [posed((-0.5, 0.0, 3.5))] * 3
    mover = [posed((0.2 + 0.3 * t, 0.0, 3.0)) for t in range(3)]
    drifter = [posed((0.6, 0.05 * t, 3.2)) for t in range(3)]
    # Listed still, drifter, mover: the selection must reorder by activity and drop the still body.
    write(tmp_path / "src", "S001C001P001R001A050", [[still[t], drifter[t], mover[t]] for t in range(3)])
    convert(tmp_path / "src", tmp_path / "out")
    x = SkeletonDataset(tmp_path / "out")[0][0].numpy()
    R = CAMERA_R.T  # the mover is person 0, so its pose defines the rotation
    for t in range(3):
        np.testing.assert_allclose(x[:, t, :, 0].T, CANONICAL, atol=2e-6)
        expected_second = (drifter[t] - mover[t][1]) @ R.T  # centred on person 0's spine mid of that frame
        np.testing.assert_allclose(x[:, t, :, 1].T, expected_second, atol=2e-6)


def test_lengths_trim_empty_edges_and_cut(tmp_path: Path) -> None:
    body = posed((0.0, 0.0, 3.0))
    frames = [[], [body], [body], [body], []]  # empty first and last frames carry no skeleton
    write(tmp_path / "src", "S001C001P001R001A001", frames)
    write(tmp_path / "src", "S001C001P001R001A002", [[body]] * 2)
    convert(tmp_path / "src", tmp_path / "out")
    ds = SkeletonDataset(tmp_path / "out")
    assert list(ds.lengths) == [3, 2]
    assert meta(tmp_path / "out")["provenance"]["edge_frames_without_body"] == 2

    report = convert(tmp_path / "src", tmp_path / "cut", frames=2)
    ds = SkeletonDataset(tmp_path / "cut")
    assert report.written == 2 and list(ds.lengths) == [2, 2] and ds.data.shape[2] == 2
    provenance = meta(tmp_path / "cut")["provenance"]
    assert provenance["cut_to_2_frames"] == 1 and provenance["frames_cut"] == 1


def test_interior_frame_without_body_stays_zero(tmp_path: Path) -> None:
    body = posed((0.0, 0.0, 3.0))
    write(tmp_path / "src", "S001C001P001R001A001", [[body], [], [body]])
    convert(tmp_path / "src", tmp_path / "out")
    x, length, _ = SkeletonDataset(tmp_path / "out")[0]
    assert length == 3 and not x[:, 1].any()
    np.testing.assert_allclose(x[:, 2, :, 0].numpy().T, CANONICAL, atol=2e-6)


def test_missing_joints_stay_zero_and_centre_is_held() -> None:
    # Person 0's spine mid is missing in frame 1: person 1 there is centred on person 0's frame-0 spine mid.
    x = np.zeros((2, 2, 25, 3))
    x[0, 0] = x[1, 0] = CANONICAL + (0.0, 0.0, 3.0)
    x[1, 0, 1] = 0.0
    x[:, 1] = CANONICAL + (1.0, 0.0, 3.0)
    x[1, 1, 5] = 0.0
    out = pre_normalise(x)
    assert not out[1, 0, 1].any() and not out[1, 1, 5].any()
    np.testing.assert_allclose(out[1, 1, 6], CANONICAL[6] + (1.0, 0.0, 0.0), atol=1e-12)


# ----------------------------------------------------------------------------------- splits and versions


def test_ntu60_splits(tmp_path: Path) -> None:
    names = ["S001C001P001R001A001", "S001C002P003R001A002", "S002C003P038R002A060", "S003C001P040R001A010"]
    for name in names:
        write(tmp_path / "src" / name[:4], name)  # in subfolders: the search is recursive
    report = convert(tmp_path / "src", tmp_path / "out")
    assert report.splits == {"xsub": {"train": 2, "test": 2}, "xview": {"train": 2, "test": 2}}

    def ids(split):
        return SkeletonDataset(tmp_path / "out", split=split).sample_field("id")

    assert ids("xsub/train") == [names[0], names[2]] and ids("xsub/test") == [names[1], names[3]]
    assert ids("xview/train") == [names[1], names[2]] and ids("xview/test") == [names[0], names[3]]
    assert list(SkeletonDataset(tmp_path / "out", split="xsub/train").labels) == [0, 59]


def test_ntu120_auto_version_and_xset(tmp_path: Path) -> None:
    names = ["S001C001P001R001A001", "S018C001P045R001A061", "S019C002P044R001A120"]
    for name in names:
        write(tmp_path / "src", name)
    convert(tmp_path / "src", tmp_path / "out")
    ds = SkeletonDataset(tmp_path / "out", split="xset/train")
    m = ds.meta
    assert m["provenance"]["ntu_version"] == "120" and len(m["class_names"]) == 120
    assert sorted(m["splits"]) == ["xset", "xsub"]
    assert ds.sample_field("id") == [names[1]]  # setup 18 is even
    assert SkeletonDataset(tmp_path / "out", split="xsub/train").sample_field("id") == names[:2]
    assert list(SkeletonDataset(tmp_path / "out").labels) == [0, 60, 119]


def test_auto_detects_60_and_forced_60_rejects_120_files(tmp_path: Path) -> None:
    write(tmp_path / "src", "S017C001P001R001A060")
    convert(tmp_path / "src", tmp_path / "out")
    assert meta(tmp_path / "out")["provenance"]["ntu_version"] == "60"

    write(tmp_path / "src", "S018C001P001R001A001")
    with pytest.raises(ConversionError, match="not in NTU RGB\\+D 60"):
        convert(tmp_path / "src", tmp_path / "out60", version="60")
    report = convert(tmp_path / "src", tmp_path / "out60", version="60", skip_bad=True)
    assert report.written == 1 and report.skipped == {"not in NTU RGB+D 60": 1}


# ------------------------------------------------------------------------------------ missing skeletons


def test_missing_list_default_file_and_disabled(tmp_path: Path) -> None:
    write(tmp_path / "src", "S001C002P005R002A008")  # first name of the published list
    write(tmp_path / "src", "S001C001P001R001A001")
    report = convert_ntu(tmp_path / "src", tmp_path / "default", progress=False)
    assert report.written == 1 and report.sources == 2
    assert report.skipped == {"listed as missing skeletons": 1} and "S001C002P005R002A008" in \
        report.skipped_examples["listed as missing skeletons"][0]
    assert SkeletonDataset(tmp_path / "default").sample_field("id") == ["S001C001P001R001A001"]
    assert meta(tmp_path / "default")["provenance"]["skipped"] == {"listed as missing skeletons": 1}

    listing = tmp_path / "missing.txt"
    listing.write_text("302 of the captured samples have missing skeletons.\nPlease ignore them.\n\n"
                       "S001C001P001R001A001\n")
    report = convert(tmp_path / "src", tmp_path / "file", missing=listing, skip_bad=False)
    assert report.skipped == {"listed as missing skeletons": 1}
    assert SkeletonDataset(tmp_path / "file").sample_field("id") == ["S001C002P005R002A008"]

    report = convert(tmp_path / "src", tmp_path / "none", missing=())
    assert report.written == 2 and not report.skipped


# --------------------------------------------------------------------------------------- corrupt input


def _good_lines() -> List[str]:
    return skeleton_text([[posed((0.0, 0.0, 3.0))]] * 2)


def _replace_token(lines: List[str], line: int, token: int, value: str) -> List[str]:
    out = list(lines)
    parts = out[line - 1].split()
    parts[token] = value
    out[line - 1] = " ".join(parts)
    return out


# (case, file lines, reason, line named in the message). Line 1 frame count, 2 body count, 3 body values,
# 4 joint count, 5-29 joints of frame 1, 30 body count of frame 2, ...
CORRUPT = [
    ("truncated", _good_lines()[:40], "truncated", 41),
    ("cut mid-line", _good_lines()[:40] + [" ".join(_good_lines()[40].split()[:6])], "truncated", 41),
    ("joint with 11 values", _good_lines()[:9] + [" ".join(_good_lines()[9].split()[:11])] + _good_lines()[10:],
     "wrong number of values", 10),
    ("non-numeric", _replace_token(_good_lines(), 12, 1, "abc"), "non-numeric", 12),
    ("nan", _replace_token(_good_lines(), 7, 2, "nan"), "NaN or infinite value", 7),
    ("zero frames", ["0"], "empty", 1),
    ("no body", ["2", "0", "0"], "empty", 1),
]


@pytest.mark.parametrize("case,lines,reason,line", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_files_raise_or_are_counted(tmp_path: Path, case: str, lines: List[str], reason: str,
                                            line: int) -> None:
    write(tmp_path / "src", "S001C001P001R001A001")
    bad = write(tmp_path / "src", "S001C001P002R001A002", lines=lines)
    with pytest.raises(ConversionError) as info:
        convert(tmp_path / "src", tmp_path / "out")
    assert info.value.reason == reason and info.value.file == str(bad) and info.value.where == f"line {line}"
    assert str(bad) in str(info.value) and f"line {line}" in str(info.value)
    assert not (tmp_path / "out" / "meta.json").exists()

    report = convert(tmp_path / "src", tmp_path / "out", skip_bad=True)
    assert report.written == 1 and report.skipped == {reason: 1}
    assert SkeletonDataset(tmp_path / "out").sample_field("id") == ["S001C001P001R001A001"]
    assert meta(tmp_path / "out")["provenance"]["skipped"] == {reason: 1}


def test_a_file_cut_mid_line_says_it_ends_there(tmp_path: Path) -> None:
    """A download cut in the middle of a joint line (line 41: joint 9 of frame 2) says the file ends there; the
    same short line with the rest of the file after it is a wrong number of values, not a truncation."""
    good = _good_lines()
    cut = good[:40] + [" ".join(good[40].split()[:6])]
    bad = write(tmp_path / "src", "S001C001P002R001A002", lines=cut)
    bad.write_bytes(bad.read_bytes().rstrip(b"\r\n"))  # cut: no line end after the last, partial line
    with pytest.raises(ConversionError) as info:
        convert(tmp_path / "src", tmp_path / "out")
    assert str(info.value) == (f"{bad}: line 41: the file ends at line 41 (truncated?), in joint 9 of body 1 of "
                               f"frame 2: expected 12 values, got 6")
    write(tmp_path / "src", "S001C001P002R001A002", lines=cut + good[41:])
    with pytest.raises(ConversionError) as info:
        convert(tmp_path / "src", tmp_path / "out")
    assert str(info.value) == f"{bad}: line 41: expected 12 values, got 6" and info.value.reason == \
        "wrong number of values"


def test_provenance_source_is_absolute(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "src", "S001C001P001R001A001")
    monkeypatch.chdir(tmp_path)
    convert(Path("src"), Path("out"))
    assert meta(tmp_path / "out")["provenance"]["source"] == str((tmp_path / "src").resolve())


def test_a_copied_file_is_refused_or_counted(tmp_path: Path) -> None:
    first = write(tmp_path / "src", "S001C001P001R001A001")
    copy = write(tmp_path / "src" / "copy", "S001C001P001R001A001")
    with pytest.raises(ConversionError) as info:
        convert(tmp_path / "src", tmp_path / "out")
    assert str(info.value) == f"{copy}: file name: sample S001C001P001R001A001 already read from {first}"
    report = convert(tmp_path / "src", tmp_path / "out", skip_bad=True)
    assert report.written == 1 and report.skipped == {"duplicate sample": 1}


def test_other_bad_inputs(tmp_path: Path) -> None:
    good = _good_lines()
    cases = {
        "S001C001P002R001A002": (good[:3] + ["24"] + good[4:], "wrong joint count"),
        "S001C001P003R001A003": (good + ["1"], "trailing data"),
        "S001C001P004R001A004": ([], "empty"),
        "S001C001P005R001A005": (["1", "1"] + good[2:4] + ["0 0 0 1 2 3 4 0.5 0.5 0.5 0.5 2"] * 25,
                                 "empty"),  # a body whose joints are all at the origin
        "S001C004P006R001A006": (good, "bad file name"),  # camera 4
        "notes": (good, "bad file name"),
    }
    write(tmp_path / "src", "S001C001P001R001A001")
    for name, (lines, _) in cases.items():
        write(tmp_path / "src", name, lines=lines)
    report = convert(tmp_path / "src", tmp_path / "out", skip_bad=True)
    expected = {}
    for _, reason in cases.values():
        expected[reason] = expected.get(reason, 0) + 1
    assert report.written == 1 and dict(report.skipped) == expected


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        convert(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .skeleton"):
        convert(tmp_path / "empty", tmp_path / "out")
    write(tmp_path / "src", "S001C001P001R001A001")
    with pytest.raises(ValueError, match="version"):
        convert(tmp_path / "src", tmp_path / "out", version="90")
    with pytest.raises(ValueError, match="frames"):
        convert(tmp_path / "src", tmp_path / "out", frames=0)
