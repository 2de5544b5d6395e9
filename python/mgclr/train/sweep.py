"""``mgclr sweep``: which augmentations carry the pretraining (the paper's Figures 9 and 10).

One run per augmentation of ``sweep.augment`` (and per pair with ``sweep.pairs``) plus the no-augmentation
run, each a full pretraining with the experiment's settings followed by linear evaluation of every stream
and fused combination. Every run's pipeline is ``sweep.fixed`` + the tested op(s); an op takes its arguments from
the entry of that name in the experiment's ``augment.ops`` (else its defaults), so the sweep measures the
ops as the experiment uses them. Runs live in ``OUTPUT/sweep/<label>/`` and are reused when their result is
there (a sweep interrupted and restarted continues). Writes ``sweep.json``, ``sweep.csv`` and
``sweep.png`` (the top-1 of the first fused combination -- of the only stream without one --, sorted, the
no-augmentation line drawn across) to ``OUTPUT/sweep/``.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from .._files import write_json_atomic, write_text_atomic
from .._validation import did_you_mean
from ..augment import TRANSFORMS
from .build import build_pretrain_pipelines
from .config import ConfigError, ExperimentConfig
from .evaluate import fuse_eval
from .experiment import resolve
from .pretrain import pretrain

__all__ = ["NO_AUGMENTATION", "run_sweep", "sweep_runs", "sweep_table"]

NO_AUGMENTATION = "none"
_RESULT = "sweep_result.json"


def _op_entries(config: ExperimentConfig) -> Dict[str, Dict[str, Any]]:
    ops = config.augment.get("ops") if isinstance(config.augment, Mapping) else None
    entries: Dict[str, Dict[str, Any]] = {}
    for entry in ops or ():
        if isinstance(entry, Mapping) and "name" in entry:
            entries.setdefault(entry["name"], dict(entry))
    return entries


def sweep_runs(config: ExperimentConfig) -> List[Tuple[str, Dict[str, Any]]]:
    """``[(label, augment config)]`` of the sweep: the no-augmentation run, one per op, then the pairs."""
    sweep = config.sweep
    names = list(sweep.augment)
    if not names:
        raise ConfigError("sweep.augment: expected the op names to compare (--augment A,B,...), got none")
    for i, name in enumerate(names):
        if name not in TRANSFORMS:
            hint = did_you_mean(name, TRANSFORMS).rstrip()
            raise ConfigError(f"sweep.augment[{i}]: unknown op {name!r}; known ops: {', '.join(sorted(TRANSFORMS))}"
                              f"{'; ' + hint if hint else ''}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"sweep.augment: {', '.join(repeated)} given twice")
    fixed = [dict(e) for e in sweep.fixed]
    fixed_names = {e.get("name") for e in fixed}
    both = sorted(fixed_names & set(names))
    if both:
        raise ConfigError(f"sweep.augment: {', '.join(both)} is also in sweep.fixed (applied in every run)")
    given = _op_entries(config)
    entry = {name: given.get(name, {"name": name}) for name in names}
    combos: List[Tuple[str, ...]] = [()] + [(n,) for n in names]
    if sweep.pairs:
        combos += list(itertools.combinations(names, 2))
    runs = []
    for combo in combos:
        ops = fixed + [copy.deepcopy(entry[n]) for n in combo]
        if not ops:
            raise ConfigError("sweep.fixed: the no-augmentation run needs at least one op (e.g. a deterministic "
                              "resize: {name: crop_resize, eval_ratio: 1.0, out_frames: 64})")
        runs.append(("+".join(combo) or NO_AUGMENTATION, {"ops": ops}))
    return runs


def run_sweep(config: ExperimentConfig, *, show_progress: bool = True, log: Callable[[str], None] = print
              ) -> Dict[str, Any]:
    """Pretrain and evaluate every run of :func:`sweep_runs`; returns ``{"runs": [{"augment", "rows": [row
    names], <row>: top-1, <row>_top5: top-5, ...}] sorted by the first combination's top-1, "baseline": the
    no-augmentation row, "sorted_by", "files": {...}}``."""
    runs = sweep_runs(config)
    data = resolve(config)  # the splits, read once for every run
    root = Path(config.output) / "sweep"
    root.mkdir(parents=True, exist_ok=True)
    epochs = config.sweep.epochs or config.pretrain.epochs
    rows: List[Dict[str, Any]] = []
    for k, (label, augment) in enumerate(runs):
        out = root / label
        run_config = dataclasses.replace(config, augment=augment, output=str(out),
                                         pretrain=dataclasses.replace(config.pretrain, epochs=epochs),
                                         fuse=dataclasses.replace(config.fuse, tsne=False, confusion=False))
        experiment = resolve(run_config, data=data)
        try:
            build_pretrain_pipelines(experiment.config, experiment.info)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"sweep run {label!r}: augment: {exc}") from None
        done = out / _RESULT
        previous = json.loads(done.read_text()) if done.is_file() else {}
        if previous.get("augment_config") == augment and "rows" in previous:
            row = json.loads(done.read_text())
            log(f"[{k + 1}/{len(runs)}] {label}: reusing {done}")
        else:
            log(f"[{k + 1}/{len(runs)}] {label}: pretraining {epochs} epochs")
            # A run without its result was interrupted: it starts over (the sweep's own folder).
            result = pretrain(experiment, show_progress=show_progress, overwrite=True)
            device = next(result.model.parameters()).device
            table = fuse_eval(experiment, device, out_dir=out, tag="linear")["table"]
            row = {"augment": label, "augment_config": augment, "rows": list(table),
                   **{stream: acc["top1"] for stream, acc in table.items()},
                   **{f"{stream}_top5": acc["top5"] for stream, acc in table.items()}}
            write_json_atomic(done, row)
        rows.append(row)
        log("    " + ", ".join(f"{s} {100 * row[s]:.1f}" for s in row["rows"]))
    combined = [r for r in rows[0]["rows"] if r not in config.model.streams]
    key = combined[0] if combined else rows[0]["rows"][0]
    rows.sort(key=lambda r: -r[key])
    baseline = next(r for r in rows if r["augment"] == NO_AUGMENTATION)
    files = _write(root, rows, baseline, key)
    log("\n" + sweep_table(rows, baseline, key))
    log("\n" + ", ".join(f"{name}: {path}" for name, path in files.items()))
    return {"runs": rows, "baseline": baseline, "sorted_by": key, "files": files}


def sweep_table(rows: Sequence[Mapping[str, Any]], baseline: Mapping[str, Any], key: str) -> str:
    streams = list(rows[0]["rows"])
    width = max(12, *(len(r["augment"]) + 2 for r in rows))
    cell = max(10, *(len(s) + 2 for s in streams))
    lines = [f"{'augmentation':<{width}}" + "".join(f"{s:>{cell}}" for s in streams) + f"{'vs none':>10}"]
    for r in rows:
        lines.append(f"{r['augment']:<{width}}" + "".join(f"{100 * r[s]:>{cell}.1f}" for s in streams)
                     + f"{100 * (r[key] - baseline[key]):>+10.1f}")
    lines.append(f"(linear top-1, %, sorted by {key}; 'vs none' is the difference from the no-augmentation run)")
    return "\n".join(lines)


def _write(root: Path, rows: List[Dict[str, Any]], baseline: Mapping[str, Any], key: str) -> Dict[str, str]:
    streams = list(rows[0]["rows"])
    write_json_atomic(root / "sweep.json", {"sorted_by": key, "runs": rows})
    csv = ["augment," + ",".join(f"{s}_top1" for s in streams) + f",{key}_vs_none"]
    csv += [f"{r['augment']}," + ",".join(f"{r[s]:.4f}" for s in streams) + f",{r[key] - baseline[key]:+.4f}"
            for r in rows]
    write_text_atomic(root / "sweep.csv", "\n".join(csv) + "\n")
    files = {"json": str(root / "sweep.json"), "csv": str(root / "sweep.csv")}
    from ..viz import plots

    if plots.available():
        files["plot"] = str(plots.bar_chart([r["augment"] for r in rows], [100 * r[key] for r in rows],
                                            100 * baseline[key], root / "sweep.png",
                                            xlabel=f"linear top-1 ({key}), %", baseline_label=NO_AUGMENTATION))
    return files
