"""The command line's failure modes: a read-only destination, --json into a missing folder, a reader
that leaves (| head -1) and Ctrl-C end in one line and an exit status, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import test_convert_smg as smg

from mgclr.cli import main


def test_a_destination_that_cannot_be_written(tmp_path, monkeypatch, capsys):
    src = smg.make_smg(tmp_path)
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):  # what a read-only parent does (root ignores file modes)
        if self.name == "out":
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["prepare", "smg", str(src), str(tmp_path / "ro" / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"mgclr prepare: {tmp_path / 'ro' / 'out'}: Permission denied"]


def test_json_into_a_missing_folder(tmp_path, capsys):
    src = smg.make_smg(tmp_path)
    report = tmp_path / "reports" / "deep" / "smg.json"
    assert main(["prepare", "smg", str(src), str(tmp_path / "out"), "--no-progress", "--json", str(report)]) == 0
    assert json.loads(report.read_text())["written"] == 3


def test_a_reader_that_leaves_and_ctrl_c(monkeypatch, capsys):
    import mgclr.cli.info as cli  # the module that registers `layouts` and its handler

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_layouts", broken)
    monkeypatch.setattr("os.dup2", lambda *args: None)  # (the real one would silence pytest's own stdout)
    assert main(["layouts"]) == 141
    monkeypatch.setattr(cli, "_cmd_layouts", interrupted)
    assert main(["layouts"]) == 130
    assert capsys.readouterr().err.strip() == "mgclr layouts: interrupted"
