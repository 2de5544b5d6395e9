"""The experiment end to end with the offline rule-based backend on a handful of made-up videos (accuracies,
Acc@k, situation reversals, reports), the Acc@k vote itself, and the prior-knowledge probe table."""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Tuple

import pytest

from mgclr.emotion.llm import (
    MODES,
    ChatBackend,
    ChatRequest,
    LLMError,
    RuleBasedBackend,
    inference_request,
    majority_vote,
    merge_probe_tables,
    mg_valence,
    read_probe_table,
    read_records,
    report_markdown,
    run_inference,
    run_probes,
    summarise,
    write_probe_table,
    write_records,
    write_report,
)
from mgclr.emotion.llm.commands import DEMO_CLASSES
from mgclr.emotion.llm.transcript import Transcript, parse_text_transcript
from mgclr.emotion.timeline import MGEvent, Timeline

LABELS = {name: i for i, name in enumerate(DEMO_CLASSES)}

# video -> (outcome, the player's (already masked) answer, MGs); the comments say what the rule backend makes of it
VIDEOS: Dict[str, Tuple[Optional[str], str, List[str]]] = {
    "win_clear": ("win", "It was great, I felt confident and strong.", ["nod", "lean_back"]),  # both right
    "lose_clear": ("lose", "It was tough, I made mistakes and I was tired.", ["scratch_head", "touch_neck"]),
    "lose_reversal": ("lose", "It was a good match.",  # text says win; the MGs turn it: MG helped
                      ["scratch_head", "fold_arms", "touch_neck", "scratch_head", "fold_arms", "touch_neck"]),
    "win_reversal": ("win", "It was hard out there.", ["nod", "lean_back"] * 3),  # MG helped
    "win_hurt": ("win", "It was great and I enjoy it.", ["scratch_head", "fold_arms"] * 3),  # MG hurt
    "no_outcome": (None, "It was fine.", ["nod"]),
}


def synthetic_inputs() -> Tuple[Dict[str, Transcript], List[Timeline]]:
    """Masked transcripts and timelines of :data:`VIDEOS`, plus a timeline without a transcript."""
    transcripts, timelines = {}, []
    for video, (outcome, answer, mgs) in VIDEOS.items():
        transcripts[video] = parse_text_transcript(f"[00:00:01] Q: How do you feel about [OUTCOME] today?\n"
                                                   f"[00:00:04] A: {answer}", video=video)
        events = [MGEvent(LABELS[name], name, 10 + 15 * i, 20 + 15 * i) for i, name in enumerate(mgs)]
        timelines.append(Timeline(video, 10.0, events, 200, outcome, "subject_1", "synthetic"))
    timelines.append(Timeline("no_transcript", 10.0, [], 100, "win"))
    return transcripts, timelines


def test_rule_based_end_to_end():
    transcripts, timelines = synthetic_inputs()
    records, skipped = run_inference(RuleBasedBackend(), transcripts, timelines, MODES, repeats=3)
    assert skipped == {"no_outcome": "the timeline has no outcome to score against", "no_transcript": "no transcript"}
    assert len(records) == 5 * 2 * 3 and all(r["prediction"] and not r["parse_error"] for r in records)
    report = summarise(records, skipped=skipped)
    text, mg = report["summary"]["text"], report["summary"]["text+mg"]
    assert (text["accuracy_mean"], text["accuracy_std"]) == (pytest.approx(0.6), 0.0)
    assert mg["accuracy_mean"] == pytest.approx(0.8)
    assert mg["acc_at"] == {"1": pytest.approx(0.8), "3": pytest.approx(0.8)}
    assert text["parsed"] == text["answers"] == 15
    helped = {c["video"]: c for c in report["reversals"]["mg_helped"]}
    assert sorted(helped) == ["lose_reversal", "win_reversal"]
    assert helped["lose_reversal"]["cited_mgs"] == {"fold_arms": 3, "scratch_head": 3, "touch_neck": 3}
    assert helped["lose_reversal"]["text_vote"] == "win" and helped["lose_reversal"]["text+mg_vote"] == "lose"
    assert [c["video"] for c in report["reversals"]["mg_hurt"]] == ["win_hurt"]
    assert report["reversals"]["cited_in_mg_helped"]["fold_arms"] == 3
    md = report_markdown(report)
    assert "| text+mg | 15 / 15 | 80.0 ± 0.0 | 80.0 | 80.0 |" in md and "Acc@3 %" in md and "Acc@5" not in md
    assert "| lose_reversal | lose | win | lose | fold_arms (3), scratch_head (3), touch_neck (3) |" in md
    assert "## Skipped videos (2)" in md


def test_the_prompt_never_carries_outcome_or_identity():
    transcripts, timelines = synthetic_inputs()
    for timeline in timelines[:-1]:
        for mode in MODES:
            request = inference_request(transcripts[timeline.video], timeline, mode)
            text = json.dumps(request.messages)
            assert timeline.video not in text and "subject_1" not in text and '"outcome"' not in text
            assert ("<micro_gestures>" in text) == (mode == "text+mg")


def test_sampled_repeats_differ_yet_reproduce():
    transcripts, timelines = synthetic_inputs()
    first, _ = run_inference(RuleBasedBackend(), transcripts, timelines, ["text+mg"], 5, temperature=1.5, seed=7)
    again, _ = run_inference(RuleBasedBackend(), transcripts, timelines, ["text+mg"], 5, temperature=1.5, seed=7)
    assert [r["raw"] for r in first] == [r["raw"] for r in again]
    assert len({r["raw"] for r in first if r["video"] == "win_clear"}) > 1
    report = summarise(first)
    assert set(report["summary"]["text+mg"]["acc_at"]) == {"1", "3", "5"}


def test_report_from_jsonl_matches_and_reparses(tmp_path):
    transcripts, timelines = synthetic_inputs()
    records, skipped = run_inference(RuleBasedBackend(), transcripts, timelines, MODES, 2)
    direct = summarise(records, skipped=skipped)
    path = write_records(tmp_path / "answers.jsonl", records)
    again = summarise(read_records(path), skipped=skipped)
    assert again["summary"] == direct["summary"] and again["reversals"] == direct["reversals"]
    paths = write_report(tmp_path, again)
    assert json.loads(paths["json"].read_text())["summary"] == direct["summary"]
    assert paths["markdown"].read_text().startswith("# Win/lose inference")


def test_read_records_names_the_bad_line(tmp_path):
    path = tmp_path / "answers.jsonl"
    good = {"video": "v", "mode": "text", "repeat": 0, "truth": "win", "raw": "{}", "error": None}
    path.write_text(json.dumps(good) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"answers\.jsonl:2: not a JSON line"):
        read_records(path)
    path.write_text(json.dumps({"video": "v"}) + "\n")
    with pytest.raises(ValueError, match=r":1: expected an answer record, missing \['mode'"):
        read_records(path)
    path.write_text(json.dumps({**good, "mode": "audio"}) + "\n")
    with pytest.raises(ValueError, match="mode: expected one of"):
        read_records(path)


# ------------------------------------------------------------------------------------------------ Acc@k vote

def p(outcome, win):
    return {"outcome": outcome, "win": win, "lose": 100 - win}


def test_majority_vote():
    assert majority_vote([p("win", 70), p("lose", 40), p("win", 55)]) == "win"
    assert majority_vote([p("win", 60), p("lose", 10)]) == "lose"  # 1-1: mean win 35 < mean lose 65
    assert majority_vote([p("win", 60), None, p("lose", 45)]) == "win"  # unparsed does not vote
    assert majority_vote([None, None]) is None
    assert majority_vote([p(None, 50), p(None, 50)]) is None  # parsed but undecided: no vote
    assert majority_vote([p("win", 60), p("lose", 40)]) is None  # tie in votes and in mean confidence


class ScriptedBackend(ChatBackend):
    """Answers from a script keyed by (video, mode, repeat) -- read from the request's bookkeeping, a test double's
    privilege; an LLMError instance in the script is raised."""

    def __init__(self, script):
        super().__init__(concurrency=2)
        self.script = script

    def identity(self):
        return {"backend": "scripted", "model": "scripted"}

    def _answer(self, request: ChatRequest):
        item = self.script[(request.meta["video"], request.meta["mode"], request.repeat)]
        if isinstance(item, Exception):
            raise item
        return item, 1, "stop"


def test_acc_at_k_follows_its_definition():
    transcripts, timelines = synthetic_inputs()
    keep = {"lose_clear"}
    transcripts = {k: v for k, v in transcripts.items() if k in keep}
    timelines = [t for t in timelines if t.video in keep]
    answers = ['{"win": 80, "lose": 20}', '{"win": 30, "lose": 70}', "no idea", '{"win": 40, "lose": 60}',
               '{"win": 90, "lose": 10}']
    script = {("lose_clear", "text", r): a for r, a in enumerate(answers)}
    script[("lose_clear", "text", 2)] = LLMError("HTTP 500 (scripted)", 500, 3, True)
    records, _ = run_inference(ScriptedBackend(script), transcripts, timelines, ["text"], 5, fail_fast=False)
    report = summarise(records)
    s = report["summary"]["text"]
    # repeat 0 says win (wrong); first 3: win, lose, failed -> 1-1, mean win 55 > 45 -> win (wrong);
    # all 5: win, lose, -, lose, win -> 2-2, mean win (80+30+40+90)/4 = 60 -> win (wrong)
    assert s["acc_at"] == {"1": 0.0, "3": 0.0, "5": 0.0}
    # the failed repeat 2 is no answer: left out of the mean, not counted as wrong
    assert s["accuracy_per_repeat"] == [0.0, 1.0, None, 1.0, 0.0] and s["accuracy_mean"] == pytest.approx(0.5)
    assert s["accuracy_std"] == pytest.approx(0.5)
    assert (s["call_errors"], s["failed"], s["answered"], s["parse_errors"], s["parsed"]) == (1, 1, 4, 0, 4)
    assert report["failed"] == [{"video": "lose_clear", "mode": "text", "repeat": 2, "why": "HTTP 500 (scripted)"}]
    assert report["unparsed"] == []  # a failed call is not an unparsed answer
    script[("lose_clear", "text", 2)] = "Lose: 95%"
    records, _ = run_inference(ScriptedBackend(script), transcripts, timelines, ["text"], 5)
    assert summarise(records)["summary"]["text"]["acc_at"] == {"1": 0.0, "3": 1.0, "5": 1.0}


def test_failed_calls_are_failures_never_answers():
    """Issue 27, item 13: a failed call used to stop the run (the rest not sent), count as a wrong answer in the
    accuracy, and turn a video text-only got right into an "MG hurt" reversal."""
    transcripts, timelines = synthetic_inputs()
    truth = {t.video: t.outcome for t in timelines if t.outcome and t.video in transcripts}
    right = {"win": '{"win": 80, "lose": 20}', "lose": '{"win": 20, "lose": 80}'}
    script = {(v, m, r): right[o] for v, o in truth.items() for m in MODES for r in range(3)}
    for r in range(3):
        script[("win_clear", "text+mg", r)] = LLMError("HTTP 500 (scripted)", 500, 1, True)  # every MG call fails
        script[("win_hurt", "text+mg", r)] = right["lose"]  # a real "MG hurt"
    script[("lose_clear", "text+mg", 1)] = LLMError("timeout (scripted)", None, 1, True)
    backend = ScriptedBackend(script)
    records, _ = run_inference(backend, transcripts, timelines, MODES, 3)
    assert len(records) == 30 and backend.stats.requests == 30 and backend.stats.not_sent == 0  # all were sent
    assert backend.stats.errors == 4
    report = summarise(records)
    text, mg = report["summary"]["text"], report["summary"]["text+mg"]
    assert text["accuracy_mean"] == 1.0 and text["failed"] == 0
    # text+MG: repeat 0 and 2 answered 4 videos (3 right), repeat 1 answered 3 (2 right); win_clear never
    assert mg["accuracy_per_repeat"] == [0.75, pytest.approx(2 / 3), 0.75]
    assert mg["acc_at"] == {"1": 0.75, "3": 0.75} and mg["majority_accuracy"] == 0.75
    assert (mg["answered"], mg["failed"], mg["call_errors"], mg["videos_answered"]) == (11, 4, 4, 4)
    assert [c["video"] for c in report["reversals"]["mg_hurt"]] == ["win_hurt"]  # before: win_clear too
    assert report["reversals"]["mg_helped"] == []
    assert report["reversals"]["left_out"] == [{"video": "win_clear", "no_answer_in": ["text+mg"]}]
    assert [(f["video"], f["repeat"]) for f in report["failed"]] == [("lose_clear", 1), ("win_clear", 0),
                                                                      ("win_clear", 1), ("win_clear", 2)]
    assert report["unparsed"] == []
    per_video = {row["video"]: row for row in report["per_video"]}
    assert per_video["win_clear"]["text+mg_answered"] is False and per_video["win_clear"]["text+mg_vote"] is None
    md = report_markdown(report)
    assert "| parsed / answered | accuracy % (mean ± std over repeats) | Acc@1 % | Acc@3 % | failed calls |" in md
    assert "| text | 15 / 15 | 100.0 ± 0.0 | 100.0 | 100.0 | 0 of 15 |" in md
    assert "| text+mg | 11 / 11 | 72.2 ± 3.9 | 75.0 | 75.0 | 4 of 15 |" in md
    assert "## Opposite reversals: text-only right, text+MG wrong (1)" in md
    assert "Left out of the reversals (1; every call of a mode failed): win_clear (no text+mg answer)" in md
    assert "## Failed calls (4)" in md and "| win_clear | text+mg | 2 | HTTP 500 (scripted) |" in md
    # a failure that says the setup is wrong (HTTP 401/403/404) still stops the rest: they would all fail so
    script[("lose_clear", "text", 0)] = LLMError("HTTP 401 (scripted)", 401, 1, False)
    backend = ScriptedBackend(script)
    backend.concurrency = 1
    records, _ = run_inference(backend, transcripts, timelines, MODES, 3)
    assert backend.stats.errors == 1 and backend.stats.not_sent == 29
    assert summarise(records)["summary"]["text"]["accuracy_mean"] is None  # nothing answered: no number


def test_unparsed_answers_keep_their_raw_text():
    transcripts, timelines = synthetic_inputs()
    script = {(v, m, 0): "I would rather not guess." for v in VIDEOS for m in MODES}
    records, _ = run_inference(ScriptedBackend(script), transcripts, timelines, MODES, 1)
    assert all(r["raw"] == "I would rather not guess." and "no win/lose confidences" in r["parse_error"]
               for r in records)
    report = summarise(records)
    assert report["summary"]["text"]["accuracy_mean"] == 0.0 and len(report["unparsed"]) == 10


# ---------------------------------------------------------------------------------------------------- probes

def test_mg_valence_lexicon_and_rules():
    assert mg_valence("scratch_head") == (-0.5, "lexicon") and mg_valence("Lean-Back")[1] == "lexicon"
    assert mg_valence("arms folded")[0] < 0 and mg_valence("folding arms")[0] < 0
    assert mg_valence("smile")[0] > 0 and mg_valence("nodding")[0] > 0
    assert mg_valence("rubbing_eyes")[1].startswith("rule: self-touch")
    assert mg_valence("MG7") == (0.0, "unknown")
    assert all(mg_valence(name)[1] == "lexicon" for name in DEMO_CLASSES)


def test_probe_table_across_models(tmp_path):
    classes = ["scratch_head", "nod", "MG7"]
    table = run_probes({"rule": RuleBasedBackend()}, classes, repeats=2)
    assert [table.cell("rule", c) for c in classes] == ["negative", "positive", "neutral"]
    script = {}

    class Other(ScriptedBackend):
        def _answer(self, request):
            mg, r = request.meta["mg"], request.repeat
            return {("scratch_head", 0): "Negative.", ("scratch_head", 1): '{"valence": "neutral"}',
                    ("nod", 0): "Positive: agreement.", ("nod", 1): "Positive.", ("MG7", 0): "Hmm.",
                    ("MG7", 1): "No idea."}[(mg, r)], 1, "stop"

    other = run_probes({"other-model": Other(script)}, classes, repeats=2)
    merged = merge_probe_tables([table, other])
    assert merged.models == ["rule", "other-model"]
    assert [merged.cell("other-model", c) for c in classes] == ["mixed", "positive", "unparsed"]
    md = write_probe_table(tmp_path / "t.md", merged).read_text()
    assert "| scratch_head | negative (2/2) | mixed (0/2) |" in md and "| MG7 | neutral (2/2) | unparsed (2/2) |" in md
    csv_text = write_probe_table(tmp_path / "t.csv", merged).read_text()
    assert csv_text.splitlines()[:2] == ["mg_class,rule,other-model", "scratch_head,negative,mixed"]
    back = read_probe_table(write_probe_table(tmp_path / "t.json", merged))
    assert back.to_dict()["table"] == merged.to_dict()["table"]
    assert back.answers["other-model"]["MG7"][0]["raw"] == "Hmm."
    with pytest.raises(ValueError, match="model 'rule' appears in two tables"):
        merge_probe_tables([table, back])
    with pytest.raises(ValueError, match=r"expected a name ending in \.md, \.csv, \.json"):
        write_probe_table(tmp_path / "t.txt", merged)
