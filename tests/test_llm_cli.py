"""``mgclr llm mask | infer | probe | report`` through :func:`mgclr.cli.main`: offline with the rule backend, and
against the fake OpenAI-compatible server on 127.0.0.1; wrong inputs exit 2 with a message naming them."""

from __future__ import annotations

import json

import pytest
from test_llm_client import FakeServer, Reply, loopback_only  # noqa: F401  (loopback_only: autouse fixture)
from test_llm_evaluate import synthetic_inputs

from mgclr.cli import main
from mgclr.emotion.llm import check_leakage, read_transcripts, write_transcript
from mgclr.emotion.timeline import MGEvent, Timeline, write_timelines


@pytest.fixture
def raw(tmp_path):
    """Three unmasked interviews (txt, srt, json) naming players, places and the outcome."""
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "m1.txt").write_text("[00:00:02] Q: Federer, how does it feel to win in Paris?\n"
                                   "[00:00:05] A: I am so happy. Nadal played great but I won 6-4 6-3.\n")
    (folder / "m2.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nQ: A tough defeat today?\n\n"
                                   "2\n00:00:04,000 --> 00:00:08,000\nA: Yes, I lost. I was disappointed and tired.\n")
    rows = [{"start": 1, "speaker": "Q", "text": "What happened?"},
            {"start": 3.5, "speaker": "A", "text": "I made mistakes, it was hard."}]
    (folder / "m3.json").write_text(json.dumps(rows))
    return folder


def timelines_file(tmp_path):
    events = {"m1": ["nod", "lean_back"], "m2": ["scratch_head", "fold_arms"], "m3": ["touch_neck", "touch_nose"]}
    outcome = {"m1": "win", "m2": "lose", "m3": "lose"}
    lines = [Timeline(v, 10.0, [MGEvent(0, n, 5 + 20 * i, 15 + 20 * i) for i, n in enumerate(names)], 100, outcome[v])
             for v, names in events.items()]
    return write_timelines(tmp_path / "timelines.json", lines)


def test_help(capsys):
    for argv, expected in [(["llm", "--help"], ["mask", "infer", "probe", "report", "not a model"]),
                           (["llm", "infer", "--help"], ["--repeats", "--cache", "--base-url", "--concurrency",
                                                         "--timeout", "--retries", "Acc@1/3/5"]),
                           (["llm", "mask", "--help"], ["--template", "--hide", "--strict", "{transcript}"]),
                           (["llm", "probe", "--help"], ["--classes", "--add", ".csv"])]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert all(word in out for word in expected), (argv, out)


def test_mask_infer_report_offline(raw, tmp_path, capsys):
    masked = tmp_path / "masked"
    assert main(["llm", "mask", str(raw), "--output", str(masked), "--backend", "rule", "--hide", "Federer,Nadal"]) == 0
    out = capsys.readouterr().out
    assert "masked 3 of 3 transcripts" in out and "still leaks" not in out
    found = read_transcripts([masked])
    assert sorted(found) == ["m1", "m2", "m3"]
    assert all(check_leakage(t, ["Federer", "Nadal"]) == [] for t in found.values())
    assert "[NAME], how does it feel to [OUTCOME] in [NAME]?" in found["m1"].utterances[0].text
    report = json.loads((masked / "_mask_report.json").read_text())
    assert {v["status"] for v in report["videos"].values()} == {"ok"} and report["backend"]["model"] == "rule-based-v1"
    assert report["videos"]["m1"]["raw"].startswith("Here is the masked transcript")

    out_dir, cache = tmp_path / "run", tmp_path / "cache"
    argv = ["llm", "infer", "--transcripts", str(masked), "--timelines", str(timelines_file(tmp_path)),
            "--output", str(out_dir), "--backend", "rule", "--repeats", "3", "--cache", str(cache)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "3 videos x 2 modes x 3 repeats" in out and "text+mg" in out and "Acc@3" in out
    lines = (out_dir / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 18 and json.loads(lines[0])["raw"].startswith('{"win"')
    assert "| text+mg | 9 / 9 |" in (out_dir / "report.md").read_text()
    assert main(argv) == 0
    assert "18 requests: 18 from the cache, 0 calls sent" in capsys.readouterr().out

    assert main(["llm", "report", str(out_dir / "answers.jsonl"), "--output", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    first = json.loads((out_dir / "report.json").read_text())
    assert again["summary"] == first["summary"] and again["reversals"] == first["reversals"]


def test_infer_warns_about_unmasked_transcripts(raw, tmp_path, capsys):
    assert main(["llm", "infer", "--transcripts", str(raw), "--timelines", str(timelines_file(tmp_path)),
                 "--output", str(tmp_path / "run"), "--backend", "rule"]) == 0
    assert "warning: 2 transcript(s) still name the outcome (m1, m2)" in capsys.readouterr().out
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [h["words"] for h in report["leakage"]["m2"]] == [["defeat"], ["lost"]]
    assert "- m1: rows #1 (win), #2 (won)" in (tmp_path / "run" / "report.md").read_text()


def test_mask_with_a_template(tmp_path, capsys):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "v.txt").write_text("[0:01] A: I lost to him, and Djokovic was sharp.\n")
    template = tmp_path / "template.txt"
    template.write_text("Anonymise these rows; answer {n_rows} rows as {row_format}:\n{transcript}\n")
    assert main(["llm", "mask", str(folder), "--output", str(tmp_path / "m"), "--backend", "rule", "--strict",
                 "--template", str(template)]) == 0
    assert read_transcripts([tmp_path / "m"])["v"].utterances[0].text == "I [OUTCOME] to him, and [NAME] was sharp."


def test_mask_reports_leaks_and_strict_exit(tmp_path, capsys, server):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "v.txt").write_text("[0:01] Q: Did you win?\n[0:02] A: Yes, against Murray.\n")
    server.answer = lambda body: Reply("#1 [00:00:01] Q: Did you win?\n#2 [00:00:02] A: Yes, against [NAME].")
    argv = ["llm", "mask", str(folder), "--output", str(tmp_path / "m"), "--base-url", server.url, "--model", "x",
            "--hide", "Murray"]
    assert main(argv) == 0
    assert "still leaks v: rows #1 (win)" in capsys.readouterr().out
    assert main(argv + ["--strict"]) == 1
    server.answer = lambda body: Reply("#1 [00:00:01] Q: Did you [OUTCOME]?")
    assert main(argv) == 1
    assert "failed v: masked answer for v: rows 2 missing (got 1 of 2)" in capsys.readouterr().out


def test_infer_against_the_fake_server(tmp_path, capsys, server):
    transcripts, timelines = synthetic_inputs()
    for t in transcripts.values():
        write_transcript(tmp_path / "masked" / f"{t.video}.txt", t)
    write_timelines(tmp_path / "t.json", timelines)
    answers = iter(['{"win": 20, "lose": 80, "micro_gestures_used": ["scratch head"]}', "no idea, sorry"] * 20)
    server.answer = lambda body: Reply(next(answers))
    argv = ["llm", "infer", "--transcripts", str(tmp_path / "masked"), "--timelines", str(tmp_path / "t.json"),
            "--output", str(tmp_path / "run"), "--base-url", server.url, "--model", "m", "--concurrency", "1",
            "--temperature", "0.3", "--seed", "11"]
    assert main(argv) == 0
    assert len(server.requests) == 10 and {r["temperature"] for r in server.requests} == {0.3}
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["summary"]["text+mg"]["parse_errors"] == 5 and len(report["unparsed"]) == 5
    records = [json.loads(line) for line in (tmp_path / "run" / "answers.jsonl").read_text().splitlines()]
    assert {r["raw"] for r in records if r["parse_error"]} == {"no idea, sorry"}
    capsys.readouterr()
    server.answer = lambda body: Reply(status=401, body={"error": {"message": "invalid key"}})
    assert main(argv + ["--output", str(tmp_path / "run2"), "--modes", "text"]) == 1
    out = capsys.readouterr().out
    assert "1 failed, 4 not sent after a failure" in out and len(server.requests) == 11
    assert "first failure: " in out and "HTTP 401 after 1 attempt(s), not retried" in out and "invalid key" in out


def test_probe_offline_and_against_two_served_models(tmp_path, capsys, server):
    assert main(["llm", "probe", "--output", str(tmp_path / "rule.md"), "--backend", "rule"]) == 0
    md = (tmp_path / "rule.md").read_text()
    assert "| fold_arms | negative |" in md and "| nod | positive |" in md and len(md.splitlines()) == 2 + 12
    assert (tmp_path / "rule.json").is_file()
    server.answer = lambda body: Reply('{"valence": "positive"}' if body["model"] == "optimist" else "Negative.")
    assert main(["llm", "probe", "--output", str(tmp_path / "t.csv"), "--base-url", server.url, "--model", "optimist",
                 "--model", "pessimist", "--classes", "nod,fold_arms", "--add", str(tmp_path / "rule.json")]) == 0
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "mg_class,rule-based-v1,optimist,pessimist"
    assert "nod,positive,positive,negative" in rows and len(server.requests) == 4
    capsys.readouterr()
    assert main(["llm", "probe", "--output", str(tmp_path / "x.md"), "--backend", "rule",
                 "--add", str(tmp_path / "rule.json")]) == 2
    assert "model 'rule-based-v1' appears in two tables" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["llm", "probe", "--output", "{tmp}/t.md"], "give --backend rule (offline) or --base-url URL --model NAME"),
    (["llm", "probe", "--output", "{tmp}/t.md", "--backend", "rule", "--model", "x"], "do not apply to --backend rule"),
    (["llm", "probe", "--output", "{tmp}/t.md", "--base-url", "http://127.0.0.1:9/v1"], "--model: the OpenAI"),
    (["llm", "probe", "--output", "{tmp}/t.txt", "--backend", "rule"], "expected a name ending in .md, .csv or .json"),
    (["llm", "mask", "{tmp}/bad", "--output", "{tmp}/m", "--backend", "rule"], "bad/v.txt:2: expected a timestamp"),
    (["llm", "mask", "{tmp}/good", "--output", "{tmp}/good", "--backend", "rule"], "holds input transcripts"),
    (["llm", "mask", "{tmp}/good", "--output", "{tmp}/m", "--backend", "rule", "--template", "{tmp}/tpl.txt"],
     "unknown placeholder {names}"),
    (["llm", "infer", "--transcripts", "{tmp}/good", "--timelines", "{tmp}/none.json", "--output", "{tmp}/o",
      "--backend", "rule"], "none.json does not exist"),
    (["llm", "infer", "--transcripts", "{tmp}/good", "--timelines", "{tmp}/t.json", "--output", "{tmp}/o",
      "--backend", "rule", "--modes", "text,video"], "modes: expected some of"),
    (["llm", "infer", "--transcripts", "{tmp}/good", "--timelines", "{tmp}/t.json", "--output", "{tmp}/o",
      "--backend", "rule", "--repeats", "0"], "repeats: expected an int >= 1"),
    (["llm", "report", "{tmp}/t.json"], "t.json:1: not a JSON line"),
])
def test_wrong_inputs_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "v.txt").write_text("[0:01] ok\nno time here\n")
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "v.txt").write_text("[0:01] A: ok\n")
    (tmp_path / "tpl.txt").write_text("{transcript} {names}")
    write_timelines(tmp_path / "t.json", [Timeline("v", 10.0, [], 10, "win")])
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mgclr llm ") and message in err, err
