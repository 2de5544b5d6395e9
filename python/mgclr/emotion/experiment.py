"""The video-level emotion experiment end to end: a balanced split, both models trained and evaluated, a
report (JSON, Markdown, confusion matrices, MG weight charts) -- on real timelines (``mgclr emotion
train``) or on synthetic ones (``mgclr emotion demo``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import torch

from .._files import write_json_atomic, write_text_atomic
from .classifier import EmotionConfig, EmotionModel, Split, choose_split, evaluate, train_emotion
from .synthetic import synthetic_timelines, synthetic_transcript
from .timeline import OUTCOMES, Timeline, write_timelines

__all__ = ["DEMO_MARGIN", "evaluate_checkpoint", "format_report", "run_demo", "run_emotion", "write_plots"]

# What the demo promises (and tests): each model beats the majority baseline by at least this much.
DEMO_MARGIN = 0.15


def write_plots(result: Dict[str, Any], out_dir: Path, tag: str) -> Dict[str, str]:
    """Confusion matrix and MG weight chart of one model's result (PNG; needs the [train] extra)."""
    from ..viz import plots

    if not plots.available():
        return {}
    truth = torch.tensor([OUTCOMES.index(p["outcome"]) for p in result["predictions"]])
    predicted = torch.tensor([int(p["p_lose"] >= 0.5) for p in result["predictions"]])
    out = {"confusion": str(plots.confusion_matrix(predicted, truth, list(OUTCOMES), out_dir / f"{tag}_confusion.png"))}
    ranked = result["toward_lose"] + list(reversed(result["toward_win"]))
    if ranked:
        out["mg_weights"] = str(plots.diverging_bar_chart(
            [n for n, _ in ranked], [w for _, w in ranked], out_dir / f"{tag}_mg_weights.png",
            xlabel="weight of the MG class in the model's evidence", negative="toward win", positive="toward lose",
            title=f"{tag}: which micro-gestures point to which outcome"))
    return out


def run_emotion(timelines: Sequence[Timeline], out_dir: Path, *, models: Sequence[str] = ("gru", "bag"),
                split: Union[Split, str, Path, None] = "auto", seed: int = 0, train_per_outcome: int = 51,
                test_per_outcome: int = 50, plots: bool = True, **config: Any) -> Dict[str, Any]:
    """Train and evaluate ``models`` on ``split`` (:func:`~mgclr.emotion.classifier.choose_split`: by default
    the iMiGUE protocol's when the timelines hold its videos, else a balanced one drawn from ``seed``); writes
    ``split.json``, ``emotion_<model>.pt``, ``report.json`` / ``report.md`` and the plots to ``out_dir``.
    ``config``: :class:`EmotionConfig` fields shared by the models (epochs, hidden, ...)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    split = choose_split(timelines, split, seed=seed, train_per_outcome=train_per_outcome,
                         test_per_outcome=test_per_outcome)
    split.save(out_dir / "split.json")
    train, test = split.select(timelines)
    report: Dict[str, Any] = {"train_videos": len(train), "test_videos": len(test),
                              "split": str(out_dir / "split.json"), "split_protocol": split.protocol, "models": {}}
    for name in models:
        model = train_emotion(train, EmotionConfig(model=name, seed=seed, **config))
        model.save(out_dir / f"emotion_{name}.pt")
        result = evaluate(model, test, train)
        if plots:
            result["plots"] = write_plots(result, out_dir, name)
        report["models"][name] = result
    report["seconds"] = time.perf_counter() - started
    write_json_atomic(out_dir / "report.json", report, indent=1)
    write_text_atomic(out_dir / "report.md", format_report(report) + "\n")
    return report


def evaluate_checkpoint(path: Path, timelines: Sequence[Timeline], split: Optional[Split] = None) -> Dict[str, Any]:
    """A saved model on the split's test videos (all videos with an outcome when ``split`` is None)."""
    model = EmotionModel.load(path)
    if split is not None:
        train, test = split.select(timelines)
    else:
        train, test = None, [t for t in timelines if t.outcome is not None]
    return {"models": {model.config.model: evaluate(model, test, train)}, "test_videos": len(test)}


_PROTOCOL_WORDS = {"official": "the iMiGUE protocol's videos", "random": "a balanced random draw"}


def format_report(report: Dict[str, Any]) -> str:
    lines = []
    if "train_videos" in report:
        lines += [f"split: {report['train_videos']} training / {report['test_videos']} test videos, "
                  f"{_PROTOCOL_WORDS.get(report.get('split_protocol'), 'as given')}", ""]
    lines += ["| model | accuracy | 95 % CI | majority baseline | test videos |", "|---|---|---|---|---|"]
    for name, r in report["models"].items():
        lo, hi = r["ci95"]
        lines.append(f"| {name} | {100 * r['accuracy']:.1f} | {100 * lo:.1f}-{100 * hi:.1f} | "
                     f"{100 * r['majority_baseline']:.1f} ({r['majority_outcome']}) | {r['videos']} |")
    for name, r in report["models"].items():
        win = ", ".join(f"{n} ({w:+.2f})" for n, w in r["toward_win"]) or "-"
        lose = ", ".join(f"{n} ({w:+.2f})" for n, w in r["toward_lose"]) or "-"
        (tw, tl), (lw, ll) = r["confusion"]
        lines += ["", f"{name}: toward win: {win}", f"{name}: toward lose: {lose}",
                  f"{name}: confusion (rows true win/lose, columns predicted): [[{tw}, {tl}], [{lw}, {ll}]]"]
        if r["unknown_mgs"]:
            lines.append(f"{name}: {r['unknown_mgs']} test MGs of classes unseen in training (read as 'unknown')")
    return "\n".join(lines)


def run_demo(out_dir: Path, *, videos: int = 202, separation: float = 0.5, seed: int = 0, plots: bool = True,
             **config: Any) -> Dict[str, Any]:
    """Synthetic timelines (and their interview transcripts, raw and masked, for ``mgclr llm``), then
    :func:`run_emotion` on the paper's 51+51 / 50+50 split (smaller when ``videos`` < 202)."""
    out_dir = Path(out_dir)
    timelines = synthetic_timelines(videos, separation=separation, seed=seed)
    write_timelines(out_dir / "timelines.json", timelines)
    for form in ("raw", "masked"):
        (out_dir / "transcripts" / form).mkdir(parents=True, exist_ok=True)
    for t in timelines:
        raw, masked = synthetic_transcript(t, seed=seed)
        write_json_atomic(out_dir / "transcripts" / "raw" / f"{t.video}.json", raw, indent=1)
        write_json_atomic(out_dir / "transcripts" / "masked" / f"{t.video}.json", masked, indent=1)
    per_outcome = min(videos // 2, 101)
    train_per = min(51, (per_outcome + 1) // 2)
    report = run_emotion(timelines, out_dir, split="random", seed=seed, train_per_outcome=train_per,
                         test_per_outcome=min(50, per_outcome - train_per), plots=plots, **config)
    report["timelines"] = str(out_dir / "timelines.json")
    report["transcripts"] = str(out_dir / "transcripts")
    return report

