"""The inference experiment: videos x modes x repeats through a backend, scored, summarised, reported.

:func:`run_inference` asks every (video, mode, repeat) and returns one **record** per answer (a dict, kept as
JSONL by :func:`write_records`): the raw text, any call or parse error, the parsed confidences, the MGs cited
and whether the answer was right. :func:`summarise` turns records into the report; it re-parses the raw text,
so a report made later from the JSONL (``mgclr llm report``) uses the current parser.

Definitions (ours -- the paper does not spell out its exact ones):

* **failed call**: a request the backend could not answer (its record has an ``error``: refused, timed out,
  not sent after a setup error) or one with no record at all. A failed call is not an answer: it is left out
  of every number below, and the report counts the failures of each mode.
* **accuracy** of a mode, per repeat r: the fraction of the videos answered in repeat r whose answer names the
  true outcome; an unparsed answer or a 50/50 answer counts as wrong. Reported as mean +- std over the
  repeats with at least one answer (population std, ddof=0, so R=1 gives 0).
* **Acc@k**: the accuracy of the majority vote over the first k repeats of each video, over the videos with
  at least one answer among those k. Only parsed answers that name an outcome vote; a tie in votes goes to
  the outcome with the higher mean confidence over the parsed answers among those k; a video with no vote
  (or a tie also in confidence) counts as wrong. Reported for k in (1, 3, 5) where k <= R.
* **situation reversal**: with each mode's majority vote over all R repeats, a video that text-only gets wrong
  and text+MG gets right (``mg_helped``), or the opposite (``mg_hurt``); each lists the MGs the text+MG answers
  cited, with how many of the R answers cited each. A video with no answer in one of the two modes is no
  reversal either way (``reversals["left_out"]`` lists it).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ..._files import write_text_atomic
from ..timeline import Timeline
from .backend import ChatBackend
from .parse import ParseError, parse_prediction
from .prompts import MODES, ChatRequest, inference_request
from .transcript import Transcript

__all__ = ["ACC_AT", "REPORT_FORMAT", "AnswerLog", "majority_vote", "pair_inputs", "read_records", "report_markdown",
           "run_inference", "score_record", "summarise", "write_records", "write_report"]

ACC_AT = (1, 3, 5)
REPORT_FORMAT = "mgclr-llm-report"


def pair_inputs(transcripts: Mapping[str, Transcript], timelines: Union[Mapping[str, Timeline], Iterable[Timeline]]
                ) -> Tuple[List[Tuple[Transcript, Timeline]], Dict[str, str]]:
    """(pairs, skipped): the videos that have a transcript, a timeline and a known outcome, sorted by name;
    ``skipped`` says for every other video why it is left out."""
    if not isinstance(timelines, Mapping):
        timelines = {t.video: t for t in timelines}
    pairs, skipped = [], {}
    for video in sorted(set(transcripts) | set(timelines)):
        if video not in timelines:
            skipped[video] = "no timeline"
        elif video not in transcripts:
            skipped[video] = "no transcript"
        elif timelines[video].outcome is None:
            skipped[video] = "the timeline has no outcome to score against"
        elif not transcripts[video].utterances:
            skipped[video] = "the transcript is empty"
        else:
            pairs.append((transcripts[video], timelines[video]))
    return pairs, skipped


def score_record(record: Dict[str, Any]) -> Dict[str, Any]:
    """(Re)parse ``record["raw"]`` and set ``prediction``, ``parse_error`` and ``correct`` in place."""
    record["prediction"], record["parse_error"] = None, None
    if record.get("error") is None:
        try:
            names = record.get("mg_names") or None
            record["prediction"] = parse_prediction(record.get("raw"), names if record["mode"] == "text+mg" else None
                                                    ).as_dict()
        except ParseError as exc:
            record["parse_error"] = str(exc)
    pred = record["prediction"]
    record["correct"] = bool(pred and pred["outcome"] is not None and pred["outcome"] == record["truth"])
    return record


def run_inference(backend: ChatBackend, transcripts: Mapping[str, Transcript],
                  timelines: Union[Mapping[str, Timeline], Iterable[Timeline]], modes: Sequence[str] = MODES,
                  repeats: int = 1, *, temperature: Optional[float] = None, seed: Optional[int] = None,
                  max_tokens: Optional[int] = None, params: Optional[Mapping[str, Any]] = None,
                  concurrency: Optional[int] = None, fail_fast: Union[bool, str] = "setup",
                  on_record: Optional[Callable[[Dict[str, Any]], None]] = None
                  ) -> Tuple[List[Dict[str, Any]], Dict[str, str]]:
    """(records, skipped): one record per (video, mode, repeat), in that order; see the module docstring.
    ``on_record(record)`` is called as each answer arrives (in the order they arrive), e.g. to append it to
    ``answers.jsonl`` (:class:`AnswerLog`) so that an interrupted run keeps what was answered. ``fail_fast``
    (:meth:`~mgclr.emotion.llm.backend.ChatBackend.chat_many`): by default a failed request is recorded and
    the others are still sent, unless the failure says the key, URL or model is wrong (``"setup"``)."""
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"modes: expected some of {MODES}, got {mode!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: expected an int >= 1, got {repeats!r}")
    pairs, skipped = pair_inputs(transcripts, timelines)
    requests: List[ChatRequest] = []
    for transcript, timeline in pairs:
        for mode in modes:
            base = inference_request(transcript, timeline.without_outcome(), mode, video=timeline.video,
                                     temperature=temperature, seed=seed, max_tokens=max_tokens, params=params)
            requests.extend(base.with_repeat(r) for r in range(repeats))
    truth = {t.video: t.outcome for _, t in pairs}
    model = backend.identity().get("model")

    def record_of(request: ChatRequest, done) -> Dict[str, Any]:
        return score_record({"video": request.meta["video"], "mode": request.meta["mode"], "repeat": request.repeat,
                             "truth": truth[request.meta["video"]], "mg_names": request.meta.get("mg_names", []),
                             "model": model, "key": done.key, "cached": done.cached, "attempts": done.attempts,
                             "finish_reason": done.finish_reason, "raw": done.text, "error": done.error})

    on_done = None if on_record is None else (lambda i, done: on_record(record_of(requests[i], done)))
    completions = backend.chat_many(requests, concurrency, fail_fast=fail_fast, on_done=on_done)
    return [record_of(request, done) for request, done in zip(requests, completions)], skipped


class AnswerLog:
    """``answers.jsonl`` as it grows: one line per answer, flushed as it arrives, so that ``kill -9`` or Ctrl-C
    keeps every answer received (with or without a cache). :func:`write_records` replaces it with the
    ordered file at the end."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")

    def __call__(self, record: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AnswerLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def majority_vote(predictions: Sequence[Optional[Mapping[str, Any]]]) -> Optional[str]:
    """The Acc@k vote (module docstring) over parsed predictions (dicts of :meth:`Prediction.as_dict`; None for
    an unparsed answer): the outcome with more votes, a tie going to the higher mean confidence; None without a
    vote or on a tie in both."""
    parsed = [p for p in predictions if p]
    votes = Counter(p["outcome"] for p in parsed if p["outcome"] in ("win", "lose"))
    if not votes:
        return None
    if votes["win"] != votes["lose"]:
        return "win" if votes["win"] > votes["lose"] else "lose"
    mean_win = sum(p["win"] for p in parsed) / len(parsed)
    mean_lose = sum(p["lose"] for p in parsed) / len(parsed)
    if mean_win == mean_lose:
        return None
    return "win" if mean_win > mean_lose else "lose"


def _mean_std(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def summarise(records: Sequence[Dict[str, Any]], ks: Sequence[int] = ACC_AT, reparse: bool = True,
              backend: Optional[Mapping[str, Any]] = None, skipped: Optional[Mapping[str, str]] = None
              ) -> Dict[str, Any]:
    """The report (a JSON-able dict) of :func:`run_inference`'s records; see the module docstring."""
    if reparse:
        records = [score_record(dict(r)) for r in records]
    grouped: Dict[Tuple[str, str], Dict[int, Dict[str, Any]]] = {}
    truth: Dict[str, str] = {}
    for r in records:
        slot = grouped.setdefault((r["video"], r["mode"]), {})
        if r["repeat"] in slot:
            raise ValueError(f"records: video {r['video']}, mode {r['mode']}, repeat {r['repeat']} appears twice")
        slot[r["repeat"]] = r
        truth[r["video"]] = r["truth"]
    videos = sorted(truth)
    modes = [m for m in MODES if any(mode == m for _, mode in grouped)]
    repeats = max((r["repeat"] for r in records), default=-1) + 1

    def answers_of(video: str, mode: str, upto: int = repeats) -> List[Dict[str, Any]]:
        """The answered calls (not failed, not missing) of the first ``upto`` repeats."""
        slot = grouped.get((video, mode), {})
        return [slot[rep] for rep in range(upto) if rep in slot and not slot[rep].get("error")]

    summary: Dict[str, Any] = {}
    votes: Dict[str, Dict[str, Optional[str]]] = {}  # mode -> {video: vote}, only videos with an answer
    for mode in modes:
        rows = [r for r in records if r["mode"] == mode]
        missing = [(v, rep) for v in videos for rep in range(repeats) if rep not in grouped.get((v, mode), {})]
        per_repeat: List[Optional[float]] = []
        for rep in range(repeats):
            got = [grouped.get((v, mode), {}).get(rep) for v in videos]
            got = [g for g in got if g is not None and not g.get("error")]
            per_repeat.append(sum(1 for g in got if g["correct"]) / len(got) if got else None)
        mean, std = _mean_std([a for a in per_repeat if a is not None])
        acc_at: Dict[str, Optional[float]] = {}
        for k in ks:
            if k > repeats:
                continue
            windows = [(v, answers_of(v, mode, k)) for v in videos]
            counted = [(v, w) for v, w in windows if w]
            right = sum(majority_vote([a["prediction"] for a in w]) == truth[v] for v, w in counted)
            acc_at[str(k)] = right / len(counted) if counted else None
        votes[mode] = {v: majority_vote([a["prediction"] for a in answers_of(v, mode)])
                       for v in videos if answers_of(v, mode)}
        failed = sum(1 for r in rows if r.get("error"))
        summary[mode] = {
            "answers": len(rows), "answered": len(rows) - failed, "parsed": sum(1 for r in rows if r["prediction"]),
            "call_errors": failed, "failed": failed + len(missing),
            "parse_errors": sum(1 for r in rows if r.get("parse_error")),
            "abstained": sum(1 for r in rows if r["prediction"] and r["prediction"]["outcome"] is None),
            "normalised": sum(1 for r in rows if r["prediction"] and r["prediction"]["normalised"]),
            "missing": len(missing), "videos_answered": len(votes[mode]), "accuracy_per_repeat": per_repeat,
            "accuracy_mean": mean, "accuracy_std": std, "acc_at": acc_at,
            "majority_accuracy": (sum(vote == truth[v] for v, vote in votes[mode].items()) / len(votes[mode])
                                  if votes[mode] else None)}
    reversals: Dict[str, Any] = {"mg_helped": [], "mg_hurt": [], "cited_in_mg_helped": {}, "cited_in_mg_hurt": {},
                                 "left_out": []}
    if "text" in votes and "text+mg" in votes:
        for v in videos:
            unanswered = [m for m in ("text", "text+mg") if v not in votes[m]]
            if unanswered:  # a failed call is no answer: neither a help nor a hurt
                reversals["left_out"].append({"video": v, "no_answer_in": unanswered})
                continue
            text_ok, mg_ok = votes["text"][v] == truth[v], votes["text+mg"][v] == truth[v]
            if text_ok == mg_ok:
                continue
            answers = answers_of(v, "text+mg")
            cited = Counter(name for r in answers if r["prediction"] for name in r["prediction"]["cited_mgs"])
            case = {"video": v, "truth": truth[v], "text_vote": votes["text"][v], "text+mg_vote": votes["text+mg"][v],
                    "text_mean_conf_truth": _mean_conf(answers_of(v, "text"), truth[v]),
                    "text+mg_mean_conf_truth": _mean_conf(answers, truth[v]),
                    "cited_mgs": dict(cited.most_common()),
                    "timeline_mgs": sorted({n for r in answers for n in r.get("mg_names", [])})}
            which = "mg_helped" if mg_ok else "mg_hurt"
            reversals[which].append(case)
            total = reversals[f"cited_in_{which}"]
            for name, count in cited.items():
                total[name] = total.get(name, 0) + count
        for which in ("mg_helped", "mg_hurt"):
            total = reversals[f"cited_in_{which}"]
            reversals[f"cited_in_{which}"] = dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))
    unparsed = [{"video": r["video"], "mode": r["mode"], "repeat": r["repeat"], "why": r.get("parse_error")}
                for r in records if not r["prediction"] and not r.get("error")]
    failed = [{"video": r["video"], "mode": r["mode"], "repeat": r["repeat"], "why": r["error"]}
              for r in records if r.get("error")]
    return {"format": REPORT_FORMAT, "version": 2, "backend": dict(backend) if backend else
            {"model": ", ".join(sorted({str(r.get("model")) for r in records}))},
            "videos": len(videos), "repeats": repeats, "modes": modes, "summary": summary, "reversals": reversals,
            "per_video": [{"video": v, "truth": truth[v], **{f"{m}_vote": votes[m].get(v) for m in modes},
                           **{f"{m}_answered": v in votes[m] for m in modes}} for v in videos],
            "unparsed": unparsed, "failed": failed, "skipped": dict(skipped or {}),
            "definitions": {"failed": "a call the backend could not answer (or with no record): not an answer, "
                                      "left out of every accuracy, Acc@k and reversal; counted per mode",
                            "accuracy": "per repeat, the fraction of the videos answered in that repeat that were "
                                        "answered correctly (unparsed or 50/50 answers count as wrong); mean and "
                                        "population std over the repeats with an answer",
                            "acc_at_k": "accuracy of the majority vote over the first k repeats, over the videos "
                                        "answered among them; only parsed answers naming an outcome vote; vote "
                                        "ties go to the higher mean confidence; no vote counts as wrong (our "
                                        "definition; the paper's exact one is not available)",
                            "reversal": "majority over all repeats: text-only wrong and text+MG right (mg_helped) "
                                        "or the opposite (mg_hurt); a video with no answer in a mode is left out"}}


def _mean_conf(records: Iterable[Mapping[str, Any]], outcome: str) -> Optional[float]:
    values = [r["prediction"][outcome] for r in records if r["prediction"]]
    return round(sum(values) / len(values), 2) if values else None


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def report_markdown(report: Mapping[str, Any], max_rows: int = 30) -> str:
    """The report as Markdown: the accuracy table, the reversals, what was unparsed or skipped."""
    backend = report.get("backend", {})
    ks = sorted({int(k) for s in report["summary"].values() for k in s["acc_at"]})
    lines = ["# Win/lose inference from masked interviews", "",
             f"Backend: {backend.get('model', '?')}" + (f" ({backend['backend']})" if "backend" in backend else "")
             + f"; {report['videos']} videos, "
             f"{report['repeats']} repeat(s) per video and mode.", "",
             "| mode | parsed / answered | accuracy % (mean ± std over repeats) | "
             + " | ".join(f"Acc@{k} %" for k in ks) + " | failed calls |",
             "|---|---|---|" + "---|" * len(ks) + "---|"]
    for mode in report["modes"]:
        s = report["summary"][mode]
        answered = s.get("answered", s["answers"] - s["call_errors"])
        failed = s.get("failed", s["call_errors"] + s["missing"])
        lines.append(f"| {mode} | {s['parsed']} / {answered} | {_pct(s['accuracy_mean'])} ± "
                     f"{_pct(s['accuracy_std'])} | " + " | ".join(_pct(s["acc_at"].get(str(k))) for k in ks)
                     + f" | {failed} of {answered + failed} |")
    lines += ["", "Acc@k: majority vote over the first k repeats (our definition; see the JSON report's "
              "'definitions'). A failed call is not an answer: it is left out of every accuracy, Acc@k and "
              "reversal.", ""]
    rev = report["reversals"]
    for which, title in (("mg_helped", "Situation reversals: text-only wrong, text+MG right"),
                         ("mg_hurt", "Opposite reversals: text-only right, text+MG wrong")):
        cases = rev.get(which, [])
        lines += [f"## {title} ({len(cases)})", ""]
        if cases:
            lines += ["| video | truth | text-only vote | text+MG vote | MGs cited (answers citing) |",
                      "|---|---|---|---|---|"]
            for c in cases[:max_rows]:
                cited = ", ".join(f"{n} ({k})" for n, k in c["cited_mgs"].items()) or "none"
                lines.append(f"| {c['video']} | {c['truth']} | {c['text_vote'] or 'none'} | "
                             f"{c['text+mg_vote'] or 'none'} | {cited} |")
            if len(cases) > max_rows:
                lines.append(f"| ... {len(cases) - max_rows} more in the JSON report | | | | |")
            total = rev.get(f"cited_in_{which}", {})
            lines += ["", "MGs cited across these cases: "
                      + (", ".join(f"{n} ({k})" for n, k in total.items()) or "none"), ""]
    left_out = rev.get("left_out", [])
    if left_out:
        lines += [f"Left out of the reversals ({len(left_out)}; every call of a mode failed): "
                  + ", ".join(f"{c['video']} (no {' / '.join(c['no_answer_in'])} answer)" for c in left_out[:max_rows])
                  + (f", ... {len(left_out) - max_rows} more" if len(left_out) > max_rows else ""), ""]
    if report.get("failed"):
        lines += [f"## Failed calls ({len(report['failed'])})", "", "| video | mode | repeat | why |",
                  "|---|---|---|---|"]
        for u in report["failed"][:max_rows]:
            why = " ".join(str(u["why"]).split()).replace("|", "\\|")[:160]
            lines.append(f"| {u['video']} | {u['mode']} | {u['repeat']} | {why} |")
        if len(report["failed"]) > max_rows:
            lines.append(f"| ... {len(report['failed']) - max_rows} more in the JSON report | | | |")
        lines.append("")
    if report["unparsed"]:
        lines += [f"## Unparsed answers ({len(report['unparsed'])})", "", "| video | mode | repeat | why |",
                  "|---|---|---|---|"]
        for u in report["unparsed"][:max_rows]:
            why = " ".join(str(u["why"]).split()).replace("|", "\\|")[:160]
            lines.append(f"| {u['video']} | {u['mode']} | {u['repeat']} | {why} |")
        lines.append("")
    if report.get("leakage"):
        lines += [f"## Transcripts that still name the outcome ({len(report['leakage'])})", ""]
        for video, hits in list(report["leakage"].items())[:max_rows]:
            rows = ", ".join(f"#{h['row']} ({'/'.join(h['words'])})" for h in hits)
            lines.append(f"- {video}: rows {rows}")
        lines.append("")
    if report["skipped"]:
        lines += [f"## Skipped videos ({len(report['skipped'])})", ""]
        lines += [f"- {v}: {why}" for v, why in list(report["skipped"].items())[:max_rows]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_records(path: Union[str, Path], records: Iterable[Mapping[str, Any]]) -> Path:
    """The records as JSON lines (atomically)."""
    return write_text_atomic(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))


_RECORD_FIELDS = ("video", "mode", "repeat", "truth", "raw", "error")


def read_records(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Records from :func:`write_records`; a line that is not such a record is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"records: {path} does not exist")
    out = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            absent = [k for k in _RECORD_FIELDS if k not in record]
            if absent:
                raise ValueError(f"{path}:{number}: expected an answer record, missing {absent}")
            if record["mode"] not in MODES:
                raise ValueError(f"{path}:{number}: mode: expected one of {MODES}, got {record['mode']!r}")
            out.append(record)
    if not out:
        raise ValueError(f"{path}: holds no records")
    return out


def write_report(directory: Union[str, Path], report: Mapping[str, Any], stem: str = "report") -> Dict[str, Path]:
    """``<stem>.json`` and ``<stem>.md`` in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / f"{stem}.json", "markdown": directory / f"{stem}.md"}
    for kind, text in (("json", json.dumps(report, indent=1, ensure_ascii=False)),
                       ("markdown", report_markdown(report))):
        write_text_atomic(paths[kind], text)
    return paths
