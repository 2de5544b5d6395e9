"""The work behind ``mgclr llm mask | infer | probe | report``: plain functions of plain arguments.

Each reads its inputs, runs the backend, writes its outputs, prints a short summary and returns an exit code:
0 done, 1 done but some requests failed (or, for ``mask --strict``, something still leaks), 2 the inputs or
options are wrong (the message on stderr says which). The argparse layer in :mod:`mgclr.cli` only maps flags
onto these arguments.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from ..._files import write_json_atomic
from ..timeline import TimelineError, load_class_names, read_timelines
from .backend import ChatBackend
from .client import ClientConfig, OpenAIChatBackend
from .evaluate import AnswerLog, read_records, run_inference, summarise, write_records, write_report
from .masking import MaskParseError, check_leakage, parse_mask_answer
from .probes import ProbeTable, merge_probe_tables, read_probe_table, run_probes, write_probe_table
from .prompts import MODES, TemplateError, load_mask_template, mask_request
from .rule_based import RuleBasedBackend
from .transcript import TranscriptError, read_transcripts, write_transcript

__all__ = ["BACKENDS", "DEMO_CLASSES", "BackendOptions", "infer", "make_backends", "mask", "probe", "report"]

BACKENDS = ("rule", "openai")
# the synthetic demo's MG classes: what `probe` asks about when given no classes
DEMO_CLASSES = ("scratch_head", "touch_neck", "touch_jaw", "touch_nose", "touch_ear", "rub_hands", "cross_fingers",
                "fold_arms", "shrug", "nod", "tap_fingers", "lean_back")
PathLike = Union[str, Path]


@dataclass
class BackendOptions:
    """Which backend answers: ``backend="rule"`` (offline, :mod:`~mgclr.emotion.llm.rule_based`) or
    ``"openai"`` (an OpenAI-compatible server at ``base_url`` serving ``models``; see
    :class:`~mgclr.emotion.llm.client.ClientConfig` for the rest). ``backend=None`` means ``"openai"`` when a
    base URL is given."""

    backend: Optional[str] = None
    base_url: Optional[str] = None
    models: Sequence[str] = ()
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    concurrency: int = 4
    cache_dir: Optional[PathLike] = None


def make_backends(options: BackendOptions) -> Dict[str, ChatBackend]:
    """Column label -> backend: one per model for ``"openai"``, one ``rule-based`` for ``"rule"``."""
    kind = options.backend or ("openai" if options.base_url else None)
    if kind is None:
        raise ValueError("backend: give --backend rule (offline) or --base-url URL --model NAME (an OpenAI-compatible "
                         "server)")
    if kind not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {kind!r}")
    if kind == "rule":
        if options.base_url or options.models:
            raise ValueError("--base-url / --model: do not apply to --backend rule (it is offline)")
        backend = RuleBasedBackend(options.cache_dir, options.concurrency)
        return {backend.identity()["model"]: backend}
    if not options.base_url:
        raise ValueError("--base-url: the OpenAI-compatible backend needs the server's URL, e.g. http://127.0.0.1:8000/v1")
    if not options.models:
        raise ValueError("--model: the OpenAI-compatible backend needs the name of the served model")
    out: Dict[str, ChatBackend] = {}
    for model in options.models:
        config = ClientConfig(options.base_url, model, options.api_key_env, options.timeout, options.retries,
                              options.backoff_base, options.backoff_cap, concurrency=options.concurrency,
                              cache_dir=options.cache_dir)
        out[model] = OpenAIChatBackend(config)
    return out


def _single(options: BackendOptions) -> ChatBackend:
    backends = make_backends(options)
    if len(backends) != 1:
        raise ValueError(f"--model: this command uses one model, got {len(backends)} ({', '.join(backends)})")
    return next(iter(backends.values()))


def _fail(command: str, exc: Exception) -> int:
    print(f"mgclr llm {command}: {exc}", file=sys.stderr)
    return 2


_INPUT_ERRORS = (FileNotFoundError, ImportError, TemplateError, TimelineError, TranscriptError, ValueError)


def _cache_line(backend: ChatBackend) -> str:
    s = backend.stats
    return (f"{s.requests} requests: {s.cache_hits} from the cache, {s.calls} calls sent ({s.retries} retries), "
            f"{s.errors} failed" + (f", {s.not_sent} not sent after a failure" if s.not_sent else ""))


# ------------------------------------------------------------------------------------------------------- mask

def mask(inputs: Sequence[PathLike], output: PathLike, options: BackendOptions, *, template: Optional[PathLike] = None,
         hide_words: Sequence[str] = (), untimed: str = "error", strict: bool = False,
         temperature: Optional[float] = 0.0, seed: Optional[int] = None, max_tokens: Optional[int] = None) -> int:
    """Mask every transcript of ``inputs`` into ``output/<video>.txt``; ``output/_mask_report.json`` holds per
    video the raw answer, the rows whose timestamp the model changed and the leakage check's hits."""
    try:
        transcripts = read_transcripts(inputs, untimed)
        template_text = load_mask_template(template) if template is not None else None
        backend = _single(options)
        output = Path(output)
        # masked and original transcripts in one folder would be read together (or overwritten) later
        if any(Path(t.path).resolve().parent == output.resolve() for t in transcripts.values() if t.path):
            raise ValueError(f"--output: {output} holds input transcripts; write the masked ones to another folder")
        requests = [mask_request(t, template_text, hide_words, temperature=temperature, seed=seed,
                                 max_tokens=max_tokens) for t in transcripts.values()]
    except _INPUT_ERRORS as exc:
        return _fail("mask", exc)
    done = backend.chat_many(requests)
    entries: Dict[str, Dict[str, object]] = {}
    failed, leaking = [], []
    for transcript, completion in zip(transcripts.values(), done):
        entry: Dict[str, object] = {"source": transcript.path, "rows": len(transcript.utterances),
                                    "raw": completion.text, "cached": completion.cached}
        if completion.error is not None:
            entry.update(status="failed", error=completion.error)
            failed.append(transcript.video)
        else:
            try:
                result = parse_mask_answer(completion.text, transcript)
            except MaskParseError as exc:
                entry.update(status="failed", error=str(exc))
                failed.append(transcript.video)
            else:
                leaks = check_leakage(result.transcript, hide_words)
                entry.update(status="leaks" if leaks else "ok", leaks=[h.as_dict() for h in leaks],
                             changed_timestamps=result.changed_timestamps, matched_by=result.matched_by,
                             output=str(output / f"{transcript.video}.txt"))
                if leaks:
                    leaking.append(transcript.video)
                model = backend.identity().get("model")
                write_transcript(output / f"{transcript.video}.txt", result.transcript,
                                 header=f"masked transcript of {transcript.video} (by {model}); "
                                        f"leakage check: {len(leaks)} row(s) flagged")
        entries[transcript.video] = entry
    output.mkdir(parents=True, exist_ok=True)
    write_json_atomic(output / "_mask_report.json", {"backend": backend.describe(), "hide_words": list(hide_words),
                                                     "videos": entries}, indent=1, ensure_ascii=False)
    ok = len(transcripts) - len(failed)
    print(f"masked {ok} of {len(transcripts)} transcripts into {output}; {_cache_line(backend)}")
    for video in failed:
        print(f"  failed {video}: {str(entries[video]['error'])[:300]}")
    for video in leaking:
        rows = ", ".join(f"#{h['row']} ({'/'.join(h['words'])})" for h in entries[video]["leaks"][:8])
        print(f"  still leaks {video}: rows {rows}")
    print(f"  details: {output / '_mask_report.json'}")
    return 1 if failed or (strict and leaking) else 0


# ------------------------------------------------------------------------------------------------------ infer

def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _print_report(report: Dict[str, object]) -> None:
    for mode in report["modes"]:
        s = report["summary"][mode]
        accs = "  ".join(f"Acc@{k} {_pct(v)}" for k, v in s["acc_at"].items())
        print(f"  {mode:<8} accuracy {_pct(s['accuracy_mean'])} ± {_pct(s['accuracy_std'])} %  {accs}  "
              f"(parsed {s['parsed']}/{s['answered']} answered, failed calls {s['failed']} (left out), "
              f"normalised {s['normalised']})")
    rev = report["reversals"]
    if rev["mg_helped"] or rev["mg_hurt"]:
        cited = ", ".join(f"{n} ({k})" for n, k in list(rev["cited_in_mg_helped"].items())[:6]) or "none"
        print(f"  reversals: MG helped {len(rev['mg_helped'])}, MG hurt {len(rev['mg_hurt'])}; "
              f"MGs cited where MG helped: {cited}")
    if rev.get("left_out"):
        print(f"  {len(rev['left_out'])} video(s) left out of the reversals (every call of a mode failed)")
    if report["skipped"]:
        print(f"  skipped {len(report['skipped'])} videos (reasons in the report)")


def infer(transcripts: Sequence[PathLike], timelines: PathLike, output: PathLike, options: BackendOptions, *,
          modes: Sequence[str] = MODES, repeats: int = 1, temperature: Optional[float] = None,
          seed: Optional[int] = None, max_tokens: Optional[int] = None, untimed: str = "error",
          class_names: Optional[PathLike] = None) -> int:
    """Ask win/lose for every video with a (masked) transcript and a timeline, in every mode, ``repeats`` times;
    write ``output/answers.jsonl`` (every raw answer) and ``output/report.json`` / ``report.md``.
    ``class_names``: a file of descriptive MG names for the iMiGUE converter's timelines (``MG1``...)."""
    modes = list(modes) or list(MODES)
    output = Path(output)
    try:
        found = read_transcripts(transcripts, untimed)
        lines = read_timelines(timelines, load_class_names(class_names) if class_names else None)
        backend = _single(options)
        # every answer goes to answers.jsonl as it arrives: a run killed or interrupted keeps what it received
        with AnswerLog(output / "answers.jsonl") as log:
            records, skipped = run_inference(backend, found, lines, modes, repeats, temperature=temperature,
                                             seed=seed, max_tokens=max_tokens, on_record=log)
        if not records:
            reasons = "; ".join(f"{v}: {why}" for v, why in list(skipped.items())[:5])
            raise ValueError(f"no video has both a transcript and a timeline with an outcome ({reasons})")
    except _INPUT_ERRORS as exc:
        return _fail("infer", exc)
    write_records(output / "answers.jsonl", records)  # the same records, in (video, mode, repeat) order
    report_ = summarise(records, backend=backend.describe(), skipped=skipped, reparse=False)
    # the inputs should be masked already; say so when they are not, since it would make the task trivial
    used = {r["video"] for r in records}
    leaks = {v: check_leakage(found[v]) for v in sorted(used)}
    report_["leakage"] = {v: [h.as_dict() for h in hits] for v, hits in leaks.items() if hits}
    paths = write_report(output, report_)
    print(f"{report_['videos']} videos x {len(report_['modes'])} modes x {repeats} repeats; {_cache_line(backend)}")
    _print_report(report_)
    if report_["leakage"]:
        names = ", ".join(list(report_["leakage"])[:5])
        print(f"  warning: {len(report_['leakage'])} transcript(s) still name the outcome ({names}); mask them first "
              f"(mgclr llm mask) -- rows listed in the report's 'leakage'")
    first = next((r["error"] for r in records if r.get("error") and not r["error"].startswith("not sent")), None)
    if first:
        print(f"  first failure: {first[:400]}")
    print(f"  answers: {output / 'answers.jsonl'}; report: {paths['markdown']}, {paths['json']}")
    return 1 if backend.stats.errors or backend.stats.not_sent else 0


# ------------------------------------------------------------------------------------------------------ probe

def probe(output: PathLike, options: BackendOptions, *, classes: Sequence[str] = (),
          timelines: Optional[PathLike] = None, add: Sequence[PathLike] = (), repeats: int = 1,
          temperature: Optional[float] = None, seed: Optional[int] = None, max_tokens: Optional[int] = None,
          class_names: Optional[PathLike] = None) -> int:
    """Probe every model about every MG class (``classes``, else those of ``timelines`` -- named by the file
    ``class_names`` when given --, else the demo's) and write
    the table to ``output`` (``.md`` / ``.csv`` / ``.json``; a JSON copy with the raw answers is always written
    beside a Markdown or CSV table). ``add``: JSON tables of earlier runs to merge in as further columns."""
    try:
        names: List[str] = [c.strip() for c in classes if c.strip()]
        if not names and timelines is not None:
            named = load_class_names(class_names) if class_names else None
            names = sorted({n for t in read_timelines(timelines, named) for n in t.names()})
            if not names:
                raise ValueError(f"--timelines: {timelines} has no MG to take the classes from")
        names = names or list(DEMO_CLASSES)
        output = Path(output)
        if output.suffix.lower() not in (".md", ".csv", ".json"):
            raise ValueError(f"--output: expected a name ending in .md, .csv or .json, got {output.name!r}")
        earlier = [read_probe_table(p) for p in add]
        backends = make_backends(options)
        table = run_probes(backends, names, repeats, temperature=temperature, seed=seed, max_tokens=max_tokens)
        merged: ProbeTable = merge_probe_tables(earlier + [table]) if earlier else table
    except _INPUT_ERRORS as exc:
        return _fail("probe", exc)
    write_probe_table(output, merged)
    written = [output]
    if output.suffix.lower() != ".json":
        written.append(write_probe_table(output.with_suffix(".json"), merged))
    print(merged.to_markdown().rstrip())
    errors = sum(b.stats.errors + b.stats.not_sent for b in backends.values())
    print(f"{len(names)} MG classes x {len(backends)} model(s) x {repeats} repeat(s); unparsed answers "
          f"{table.unparsed()}; failed requests {errors}; written: {', '.join(map(str, written))}")
    return 1 if errors else 0


# ----------------------------------------------------------------------------------------------------- report

def report(records: PathLike, output: Optional[PathLike] = None, stem: str = "report") -> int:
    """Re-make the report from an ``answers.jsonl`` (re-parsing every raw answer), into ``output`` (default: the
    JSONL's folder)."""
    try:
        rows = read_records(records)
        report_ = summarise(rows)
    except _INPUT_ERRORS as exc:
        return _fail("report", exc)
    folder = Path(output) if output is not None else Path(records).parent
    paths = write_report(folder, report_, stem)
    print(f"{report_['videos']} videos, {report_['repeats']} repeats, {len(rows)} answers from {records}")
    _print_report(report_)
    print(f"  report: {paths['markdown']}, {paths['json']}")
    return 0
