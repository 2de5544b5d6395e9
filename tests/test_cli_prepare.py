"""``mgclr prepare``: converts, prints the summary, writes JSON; options that do not apply, unknown
benchmarks, corrupt input and an existing dataset are errors (exit 2) that name the problem."""

from __future__ import annotations

import json

import pytest
from test_convert_nw_ucla import skeleton, write

from mgclr.cli import main
from mgclr.data.convert import CONVERTERS, converter_options, prepare
from mgclr.data.format import SkeletonDataset


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "nw"
    folder.mkdir()
    write(folder, "a01_s01_e00_v01", skeleton(5, 0))
    write(folder, "a04_s02_e00_v03", skeleton(3, 1))
    return folder


def test_help_lists_every_dataset(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CONVERTERS) and "--skip-bad" in out and "--split" in out


def test_prepare_writes_and_summarises(src, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["prepare", "nw_ucla", str(src), str(dst), "--no-progress", "--json", str(tmp_path / "r.json"),
                 "--frames", "4", "--split", "xview"]) == 0
    out = capsys.readouterr().out
    assert "nw_ucla: 2 sequences written" in out and "split xview: train 1, test 1" in out and "skipped 0" in out
    assert json.loads((tmp_path / "r.json").read_text())["written"] == 2
    assert SkeletonDataset(dst, "xview/test").shape == (1, 3, 4, 20, 1)
    assert main(["prepare", "nw_ucla", str(src), str(dst), "--no-progress"]) == 2
    assert "a dataset is already there; pass overwrite=True (--overwrite)" in capsys.readouterr().err
    assert main(["prepare", "nw_ucla", str(src), str(dst), "--no-progress", "--overwrite"]) == 0


@pytest.mark.parametrize("args, message", [
    (["--version", "60"], "--version: does not apply to nw_ucla (it takes --frames)"),
    (["--non-mg", "drop"], "--non-mg: does not apply to nw_ucla"),
    (["--keep-missing"], "--keep-missing: does not apply to nw_ucla"),
    (["--split", "xsub"], "splits: nw_ucla has no benchmark 'xsub' here; it has ['xview']"),
])
def test_prepare_option_errors(src, tmp_path, capsys, args, message):
    assert main(["prepare", "nw_ucla", str(src), str(tmp_path / "out"), "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_corrupt_input_exit_2_or_skip(src, tmp_path, capsys):
    (src / "a02_s01_e00_v01.json").write_text("{")
    assert main(["prepare", "nw_ucla", str(src), str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "a02_s01_e00_v01.json: line 1 column 2: not valid JSON" in err and "--skip-bad" in err
    assert main(["prepare", "nw_ucla", str(src), str(tmp_path / "out"), "--no-progress", "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1:" in out and "1  not JSON" in out


def test_prepare_function(src, tmp_path):
    assert set(converter_options("ntu")) == {"version", "frames", "missing"}
    assert converter_options("nw_ucla") == {"frames": None}
    with pytest.raises(ValueError, match="version: not an option of the nw_ucla converter; it takes frames"):
        prepare("nw_ucla", src, tmp_path / "out", version="60")
    with pytest.raises(ValueError, match="dataset: expected one of imigue, smg, ntu, nw_ucla, utkinect, got 'kth'"):
        prepare("kth", src, tmp_path / "out")
    assert prepare("nw_ucla", src, tmp_path / "out", progress=False).written == 2


def test_a_new_converter_brings_its_flags(monkeypatch, src, tmp_path, capsys):
    """What a converter declares beside itself becomes `mgclr prepare` flags, with no CLI edit: a flag of its
    own, one shared with other converters (one help naming each), and the same refusals."""
    from mgclr.data.convert import convert_nw_ucla
    from mgclr.data.convert.common import Option, declare_options

    seen = {}

    @declare_options(Option("frames", "T of data.npy", type=int, default_text="the longest sequence"),
                     Option("speed", "playback factor", type=float, when="fast"))
    def convert_toy(src, dst, *, skip_bad=False, overwrite=False, progress=True, splits=None, frames=None,
                    speed=1.0):
        seen.update(frames=frames, speed=speed)
        return convert_nw_ucla(src, dst, skip_bad=skip_bad, overwrite=overwrite, progress=progress, frames=frames)

    monkeypatch.setitem(CONVERTERS, "toy", convert_toy)
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--speed SPEED toy (fast): playback factor" in out
    assert "ntu, nw_ucla, utkinect, toy: T of data.npy (ntu: 300; others: the longest sequence)" in out
    assert main(["prepare", "toy", str(src), str(tmp_path / "out"), "--no-progress", "--speed", "2",
                 "--frames", "4"]) == 0
    assert seen == {"frames": 4, "speed": 2.0}
    assert main(["prepare", "nw_ucla", str(src), str(tmp_path / "o2"), "--no-progress", "--speed", "2"]) == 2
    assert "--speed: does not apply to nw_ucla (it takes --frames)" in capsys.readouterr().err
    with pytest.raises(TypeError, match="--fps: convert_toy takes no keyword 'fps'"):
        declare_options(Option("fps", "frame rate"))(convert_toy)


def test_overwrite_removes_every_companion_whichever_converter_runs(tmp_path, capsys):
    """An iMiGUE dataset (with its timelines.json) replaced by an NTU one: the timelines of the old dataset go
    too, though the NTU converter writes none; a user's own file in the folder stays. A folder that holds no
    dataset keeps a timelines.json (from mgclr recognize, say): not ours to remove."""
    import test_convert_imigue as imigue
    import test_convert_ntu as ntu

    from mgclr.data.convert.common import COMPANIONS

    dst = tmp_path / "data"
    assert main(["prepare", "imigue", str(imigue.make_openpose(tmp_path)), str(dst), "--no-progress"]) == 0
    assert (dst / "timelines.json").is_file() and "timelines.json" in COMPANIONS
    (dst / "notes.txt").write_text("mine")
    ntu.write(tmp_path / "ntu", "S001C001P001R001A001")
    assert main(["prepare", "ntu", str(tmp_path / "ntu"), str(dst), "--no-progress", "--keep-missing"]) == 2
    assert "a dataset is already there" in capsys.readouterr().err and (dst / "timelines.json").is_file()
    assert main(["prepare", "ntu", str(tmp_path / "ntu"), str(dst), "--no-progress", "--keep-missing",
                 "--overwrite"]) == 0
    assert not (dst / "timelines.json").exists() and (dst / "notes.txt").read_text() == "mine"
    assert SkeletonDataset(dst).sample_field("id") == ["S001C001P001R001A001"]

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "timelines.json").write_text("[]")
    assert main(["prepare", "ntu", str(tmp_path / "ntu"), str(plain), "--no-progress", "--keep-missing",
                 "--overwrite"]) == 0
    assert (plain / "timelines.json").read_text() == "[]"


def test_destination_that_is_a_file(src, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    for dst in (taken, taken / "inside"):
        for extra in ([], ["--overwrite"]):
            assert main(["prepare", "nw_ucla", str(src), str(dst), "--no-progress", *extra]) == 2
            err = capsys.readouterr().err
            assert err == (f"mgclr prepare: dst: {taken} is a file, not a folder"
                           f"{'' if dst == taken else f' (it would hold {dst})'}; choose another destination "
                           f"folder\n"), err
    assert taken.read_text() == "mine"
    with pytest.raises(FileExistsError, match="is a file, not a folder"):  # the converter itself, called directly
        CONVERTERS["nw_ucla"](src, taken, progress=False)
