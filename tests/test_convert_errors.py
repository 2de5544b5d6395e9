"""The converters' failure modes: values beyond float32 or implausible for the format, unreadable files and
folders, duplicate rows, a wrong frame count, a frame number that would allocate terabytes, JSON nested too
deeply, and a destination inside the source: each a named error, or (``--skip-bad``) a counted skip -- never
a traceback, an unnamed "x: expected finite values" that aborts the whole conversion, or a silent drop."""

from __future__ import annotations

import json
import os

import pytest
import test_convert_imigue as imigue
import test_convert_nw_ucla as nw_ucla
import test_convert_smg as smg
import test_convert_utkinect as utkinect

from mgclr.data.convert import convert_imigue, convert_nw_ucla, convert_smg, convert_utkinect, prepare
from mgclr.data.convert.common import ConversionError
from mgclr.data.format import SkeletonDataset

ROOT = os.geteuid() == 0  # permissions do not stop root: those cases skip


def both_ways(convert, src, tmp_path, message, reason, **kwargs):
    """The corrupt input stops the conversion naming the file (nothing half-written), and with skip_bad is one
    counted skip of that reason. Returns the skip_bad report."""
    with pytest.raises(ConversionError, match=message) as info:
        convert(src, tmp_path / "a", progress=False, **kwargs)
    assert info.value.reason == reason
    assert not (tmp_path / "a" / "meta.json").exists()
    report = convert(src, tmp_path / "b", progress=False, skip_bad=True, **kwargs)
    assert report.skipped[reason] >= 1, report.skipped
    return report


# --------------------------------------------------------------------------- values beyond float32 / the format


def test_smg_value_beyond_float32(tmp_path):
    src = smg.make_smg(tmp_path)
    smg.replace_line(src / smg.SKEL, 4, smg.row_with(1, "3e38"))
    report = both_ways(convert_smg, src, tmp_path, r"Sample0036_skeleton\.csv: line 4: value 2 is '3e38': beyond "
                                                   r"1e\+06, implausible", "implausible value")
    assert SkeletonDataset(tmp_path / "b").sample_field("id") == ["Sample0003_0", "Sample0003_1"]
    assert report.written == 2


def test_imigue_json_value_beyond_float32(tmp_path):
    src = imigue.make_openpose(tmp_path)
    path = src / imigue.FRAME
    doc = json.loads(path.read_text())
    doc["people"][0]["pose_keypoints_2d"][3] = 1e39
    path.write_text(json.dumps(doc))
    both_ways(convert_imigue, src, tmp_path, r"7_000000000002_keypoints\.json: field 'people\[0\]\.pose_keypoints_2d'"
                                             r": value 4 is 1e\+39: beyond 1e\+06 px", "implausible value")
    assert SkeletonDataset(tmp_path / "b").sample_field("id") == ["12_1", "12_2"]


def test_imigue_light_hand_value_beyond_float32(tmp_path):
    src = imigue.make_light_hand(tmp_path)
    imigue.replace_line(src / "0002/0002_light_hand.csv", 2, imigue.light_hand_row_with(1, 4, "1e39"))
    both_ways(convert_imigue, src, tmp_path, r"0002_light_hand\.csv: line 2: value 5 is '1e39': beyond 1e\+06",
              "implausible value")


def test_utkinect_frame_id_1e300(src_utk, tmp_path):
    (src_utk / "joints_s02_e01.txt").write_text("1e300" + " 0.5" * 60 + "\n")
    both_ways(convert_utkinect, src_utk, tmp_path, r"joints_s02_e01\.txt: line 1: value 1 is '1e300': beyond 1e\+06",
              "implausible value")


@pytest.fixture
def src_utk(tmp_path):
    folder = tmp_path / "utk"
    folder.mkdir()
    utkinect.write_video(folder, "s01_e01", [10, 12, 14, 16, 18, 20], seed=1)
    utkinect.write_video(folder, "s02_e01", [100, 102, 104, 106, 108, 110], seed=2)
    (folder / "actionLabel_modified.txt").write_text("s01_e01\nwalk: 10 14\nsitDown: 16 20\n"
                                                     "s02_e01\nwalk: 100 104\npush: 106 110\n")
    return folder


def test_nw_ucla_value_beyond_float32(tmp_path):
    src = tmp_path / "ucla"
    src.mkdir()
    nw_ucla.write(src, "a01_s01_e00_v01", nw_ucla.skeleton(3, 0))
    bad = nw_ucla.skeleton(3, 1)
    bad[1, 4, 2] = 1e39
    nw_ucla.write(src, "a02_s02_e00_v03", bad)
    both_ways(convert_nw_ucla, src, tmp_path, r"a02_s02_e00_v03\.json: field 'skeletons', frame 1, joint 4: value 3 "
                                              r"is 1e\+39: beyond 1e\+06", "implausible value")


def test_a_sample_the_writer_refuses_is_named_and_its_source_skipped_whole(tmp_path, monkeypatch):
    """Every sample of a source is checked before any is written: a refused one (here: injected for the non-MG
    clip 12_2) skips its video whole, 12_1 included, and is named."""
    from mgclr.data.format import DatasetWriter

    real_check = DatasetWriter.check

    def check(self, x, length, label):
        if label == 31:
            raise ValueError("x: refused (injected)")
        return real_check(self, x, length, label)

    monkeypatch.setattr(DatasetWriter, "check", check)
    src = imigue.make_openpose(tmp_path)
    with pytest.raises(ConversionError, match=r"op/12: sample 12_2: x: refused \(injected\)"):
        convert_imigue(src, tmp_path / "a", progress=False)
    report = convert_imigue(src, tmp_path / "b", progress=False, skip_bad=True)
    assert report.skipped == {"bad sample": 1} and SkeletonDataset(tmp_path / "b").sample_field("id") == ["7_1"]


# ----------------------------------------------------------------------------------- unreadable input


@pytest.mark.skipif(ROOT, reason="root reads files without read permission")
def test_an_unreadable_file_is_a_counted_skip(tmp_path):
    src = smg.make_smg(tmp_path)
    (src / smg.SKEL).chmod(0)
    try:
        both_ways(convert_smg, src, tmp_path, r"Sample0036_skeleton\.csv: cannot be read \(Permission denied\)",
                  "unreadable")
    finally:
        (src / smg.SKEL).chmod(0o644)


@pytest.mark.skipif(ROOT, reason="root lists folders without read permission")
def test_an_unreadable_folder_is_counted_never_dropped(tmp_path):
    src = tmp_path / "ucla"
    (src / "locked").mkdir(parents=True)
    nw_ucla.write(src, "a01_s01_e00_v01", nw_ucla.skeleton(3, 0))
    nw_ucla.write(src / "locked", "a02_s02_e00_v03", nw_ucla.skeleton(3, 1))
    (src / "locked").chmod(0)
    try:
        report = imigue.refused_then_skipped(convert_nw_ucla, src, tmp_path, r"locked: cannot be read \(Permission "
                                             r"denied\): its files would be missed", "unreadable folder")
        assert report.skipped == {"unreadable folder": 1} and report.written == 1
    finally:
        (src / "locked").chmod(0o755)


def test_unreadable_paths_are_found_without_permissions_too(tmp_path, monkeypatch):
    """The same paths, with the OS error injected (root ignores permissions)."""
    from mgclr.data.convert import common

    src = smg.make_smg(tmp_path)
    real_open = open

    def failing_open(path, *args, **kwargs):
        if str(path).endswith("Sample0036_skeleton.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    both_ways(convert_smg, src, tmp_path, r"Sample0036_skeleton\.csv: cannot be read \(Permission denied\)",
              "unreadable")
    monkeypatch.undo()

    def failing_walk(top, onerror=None, followlinks=False):
        yield str(top), ["locked"], []
        onerror(PermissionError(13, "Permission denied", os.path.join(str(top), "locked")))

    monkeypatch.setattr(common.os, "walk", failing_walk)
    with pytest.raises(ConversionError, match=r"locked: cannot be read \(Permission denied\)"):
        common.sorted_files(tmp_path, "*.csv")
    skipped = []
    assert common.sorted_files(tmp_path, "*.csv", skipped) == []
    assert skipped[0][0] == "unreadable folder"


# ------------------------------------------------------------------------- duplicates, counts, names, depth


def test_smg_duplicate_clip_and_data_csv_frame_count(tmp_path):
    src = smg.make_smg(tmp_path)
    (src / smg.LABELS).write_text("1,0,20\n1,0,20\n")
    both_ways(convert_smg, src, tmp_path, r"Sample0036_finelabels\.csv: line 2: label 1, frames 0-20 are also at "
                                          r"line 1", "duplicate row")
    src = smg.make_smg(tmp_path / "count")
    (src / "Sample0036" / "Sample0036_data.csv").write_text("25,30,4500\n")
    both_ways(convert_smg, src, tmp_path / "count", r"Sample0036_data\.csv: line 1, field 'numFrames': 25 frames, but "
                                                    r"Sample0036_skeleton\.csv has 20 rows", "frame count mismatch")


def test_a_frame_number_that_would_allocate_terabytes(tmp_path):
    src = imigue.make_openpose(tmp_path)
    (src / "7" / "7_999999999999_keypoints.json").write_text(imigue.openpose_json([imigue.person(0)]))
    both_ways(convert_imigue, src, tmp_path, r"7_999999999999_keypoints\.json: frame number 999999999999 in the file "
                                             r"name is beyond 1,000,000 frames per video", "bad file name")


def test_json_nested_too_deeply(tmp_path):
    src = imigue.make_openpose(tmp_path)
    (src / imigue.FRAME).write_text("[" * 100_000 + "]" * 100_000)
    both_ways(convert_imigue, src, tmp_path, r"7_000000000002_keypoints\.json: not valid JSON: nested too deeply",
              "malformed JSON")
    ucla = tmp_path / "ucla"
    ucla.mkdir()
    nw_ucla.write(ucla, "a01_s01_e00_v01", nw_ucla.skeleton(3, 0))
    (ucla / "a02_s02_e00_v03.json").write_text("[" * 100_000 + "]" * 100_000)
    both_ways(convert_nw_ucla, ucla, tmp_path / "u", r"a02_s02_e00_v03\.json: not valid JSON: nested too deeply",
              "not JSON")


def test_destination_inside_the_source_is_refused(tmp_path):
    src = smg.make_smg(tmp_path)
    for dst in (src / "converted", src):
        with pytest.raises(ValueError, match=r"dst: .* is inside src .*; write the dataset elsewhere"):
            prepare("smg", src, dst, progress=False)
    assert not (src / "converted").exists()
