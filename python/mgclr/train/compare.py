"""What pretraining buys, from one run: pretrain ``config``, then linear evaluation (every stream and fused
combination, top-1 / top-5) of the pretrained encoders and of randomly initialised ones under two probes -- the
papers' plain linear layer and one behind a BatchNorm without affine parameters (MAE's probe: it does not
depend on the features' scale, which differs widely between pretrained and random encoders) -- beside the floor
of a ridge classifier on the resampled joints (no encoder) and optionally the supervised reference (the same
encoders trained end to end on every training label, ``finetune`` settings with ``from_scratch``).
``mgclr compare`` and ``mgclr demo`` print this table; RESULTS.md records it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Dict

from .config import ExperimentConfig, fusion_combinations
from .evaluate import finetune_eval, fuse_eval, fusion_accuracy, ridge_floor
from .experiment import resolve
from .pretrain import pretrain
from .report import fusion_table
from .run import prepare_run_folder

__all__ = ["SHOWS_GAIN", "run_comparison", "what_pretraining_bought"]

PROBES = {"plain": False, "BN": True}  # column label -> linear.batchnorm
SHOWS_GAIN = 0.05  # top-1 over random init, under each probe, for a run to show that pretraining helps


def what_pretraining_bought(report: Dict[str, Any]) -> Dict[str, Any]:
    """The last row of the table (the fused combination of every stream, or the one stream) under each probe:
    pretrained and random-init top-1, the gain, the ridge floor, and ``helps``: the gain is at least
    ``SHOWS_GAIN`` under both probes and the pretrained top-1 beats the ridge floor under both (a run without
    the floor is judged by the gains). The papers' protocol is the plain probe on that row."""
    row = list(report["probes"]["plain"]["pretrained"])[-1]
    out: Dict[str, Any] = {"row": row, "ridge": report["ridge"]["top1"] if report.get("ridge") else None}
    helps = True
    for label, columns in report["probes"].items():
        pretrained, random = columns["pretrained"][row]["top1"], columns["random_init"][row]["top1"]
        out[label] = {"pretrained": pretrained, "random_init": random, "gain": pretrained - random}
        helps &= pretrained - random >= SHOWS_GAIN and (out["ridge"] is None or pretrained > out["ridge"])
    out["helps"] = helps
    return out


def _bought_line(bought: Dict[str, Any]) -> str:
    gains = ", ".join(f"{100 * bought[p]['gain']:+.1f} points {p} ({100 * bought[p]['random_init']:.1f} -> "
                      f"{100 * bought[p]['pretrained']:.1f} %)" for p in PROBES)
    text = f"what pretraining bought, {bought['row']} (the papers' protocol: the plain probe): {gains}"
    if bought["ridge"] is not None:
        above = [p for p in PROBES if bought[p]["pretrained"] > bought["ridge"]]
        text += (f"; the ridge floor {100 * bought['ridge']:.1f} %: pretrained is above it under "
                 + (" and ".join(above) if above else "neither probe"))
    return text


def run_comparison(config: ExperimentConfig, *, supervised: bool = False, show_progress: bool = True,
                   log: Callable[[str], None] = print, tag: str = "compare", overwrite: bool = False
                   ) -> Dict[str, Any]:
    """Pretrain, evaluate pretrained and random-init encoders under both probes (and the supervised reference),
    log the table. ``overwrite``: ``config.output`` holds a run: remove it first (else that is an error, as for
    pretrain).

    Returns ``{"pretrained", "random_init": {row: {top1, top5}}`` (the config's own probe, ``linear.batchnorm``),
    ``"probes": {"plain" | "BN": {"pretrained", "random_init"}}``, ``"ridge"``, ``["supervised"]``, ``"chance"``,
    ``"knn"``, ``"knn_random"``, ``"bought"`` (:func:`what_pretraining_bought`), ``"warnings"``, ``"plots"``,
    ``"seconds"``, ``"output"}``; ``{tag}[_random_init]
    [_bn|_plain].json`` and the plots (of the config's own probe, pretrained) are written to ``config.output``.
    """
    started = time.perf_counter()
    if not overwrite:  # a folder that holds a run is refused before the data is read (pretrain removes it else)
        prepare_run_folder(config.output, resume=False, overwrite=False)
    experiment = resolve(config)  # the data, read once for every run below
    config = experiment.config
    result = pretrain(experiment, show_progress=show_progress, overwrite=overwrite)
    seconds = {"pretrain": time.perf_counter() - started}
    for note in result.recipe:
        log(f"recipe: {note}")
    log(f"pretrained {result.epochs_done} epochs in {seconds['pretrain']:.0f} s "
        f"({result.samples_per_second:,.0f} samples/s); kNN monitor (top-1): "
        + ", ".join(f"epoch {e}: " + " ".join(f"{s} {100 * v:.1f}" for s, v in scores.items())
                    for e, scores in result.knn.items())
        + (" (random init: " + " ".join(f"{s} {100 * v:.1f}" for s, v in result.knn_random.items()) + ")"
           if result.knn_random else ""))
    device = next(result.model.parameters()).device
    out = Path(config.output)
    mark = time.perf_counter()
    own = "BN" if config.linear.batchnorm else "plain"
    probes: Dict[str, Dict[str, Any]] = {}
    columns: Dict[str, Any] = {}
    plots: Dict[str, str] = {}
    first = None
    for label, batchnorm in PROBES.items():
        probe = experiment.with_config(linear=dataclasses.replace(config.linear, batchnorm=batchnorm))
        quiet = probe.with_config(fuse=dataclasses.replace(config.fuse, tsne=False, confusion=False))
        suffix = "" if label == own else f"_{label.lower()}"
        pretrained = fuse_eval(probe if label == own else quiet, device, out_dir=out, tag=f"{tag}{suffix}")
        random = fuse_eval(quiet, device, random_init=True, out_dir=out, tag=f"{tag}_random_init{suffix}")
        probes[label] = {"pretrained": pretrained["table"], "random_init": random["table"]}
        columns[f"random, {label}"] = random["table"]
        columns[f"pretrained, {label}"] = pretrained["table"]
        if label == own:
            plots, first = pretrained["plots"], pretrained
    seconds["linear"] = time.perf_counter() - mark
    report: Dict[str, Any] = {"pretrained": probes[own]["pretrained"], "random_init": probes[own]["random_init"],
                              "probes": probes}
    if supervised:
        mark = time.perf_counter()
        reference = experiment.with_config(finetune=dataclasses.replace(config.finetune, from_scratch=True,
                                                                        label_fraction=1.0))
        results = finetune_eval(reference, device)
        report["supervised"] = columns["supervised"] = fusion_accuracy(
            results, fusion_combinations(config.fuse, list(results)))
        seconds["supervised"] = time.perf_counter() - mark
    try:
        report["ridge"] = ridge_floor(experiment.train_set, experiment.test_set)
    except ImportError:  # scikit-learn: the [train] extra
        report["ridge"] = None
    results = first["results"]
    chance = 1.0 / next(iter(results.values()))["scores"].shape[1]
    log("\nlinear evaluation on the test split (top-1 / top-5, %; plain: the papers' linear probe, BN: behind a "
        "BatchNorm without affine parameters)" + (", supervised: the encoders trained end to end" if supervised
                                                    else "") + ":\n"
        + fusion_table(columns, chance, first["combinations"]))
    ridge = report["ridge"]
    log(f"(floor: a ridge classifier on the joints resampled to {ridge['frames']} frames, no encoder: top-1 "
        f"{100 * ridge['top1']:.1f} %, top-5 {100 * ridge['top5']:.1f} %)" if ridge else
        "(floor: not computed, scikit-learn is not installed: pip install \"mgclr[train]\")")
    report["bought"] = what_pretraining_bought({"probes": probes, "ridge": ridge})
    log(_bought_line(report["bought"]))
    for text in result.warnings:
        log(f"warning: {text}")
    if plots:
        log("\nplots: " + ", ".join(plots.values()))
    seconds["total"] = time.perf_counter() - started
    log(f"total {seconds['total']:.0f} s")
    report.update({"chance": chance, "knn": result.knn, "knn_random": result.knn_random,
                   "warnings": result.warnings, "plots": plots, "seconds": seconds, "output": str(out)})
    return report
