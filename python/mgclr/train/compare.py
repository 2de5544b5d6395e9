"""What pretraining buys, from one run: pretrain ``config``, then linear evaluation (every stream and fused
combination, top-1 / top-5) of the pretrained encoders and of randomly initialised ones, and optionally the supervised
reference (the same encoders trained end to end on every training label, ``finetune`` settings with
``from_scratch``). ``mgclr compare`` and ``mgclr demo`` print this table; RESULTS.md records it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Dict

from .config import ExperimentConfig, fusion_combinations
from .evaluate import finetune_eval, fuse_eval, fuse_scores
from .pretrain import pretrain
from .report import fusion_table

__all__ = ["run_comparison"]


def run_comparison(config: ExperimentConfig, *, supervised: bool = False, show_progress: bool = True,
                   log: Callable[[str], None] = print, tag: str = "compare", overwrite: bool = False
                   ) -> Dict[str, Any]:
    """Pretrain, evaluate pretrained and random-init encoders (and the supervised reference), log the table.
    ``overwrite``: ``config.output`` holds a run: remove it first (else that is an error, as for pretrain).

    Returns ``{"pretrained", "random_init"[, "supervised"]: {stream: {top1, top5}}, "chance", "knn",
    "plots", "seconds": {...}, "output"}``; ``{tag}.json`` / ``{tag}_random_init.json`` and the plots are
    written to ``config.output``.
    """
    started = time.perf_counter()
    result = pretrain(config, show_progress=show_progress, overwrite=overwrite)
    seconds = {"pretrain": time.perf_counter() - started}
    log(f"pretrained {config.pretrain.epochs} epochs in {seconds['pretrain']:.0f} s "
        f"({result.samples_per_second:,.0f} samples/s); kNN monitor (top-1): "
        + ", ".join(f"epoch {e}: " + " ".join(f"{s} {100 * v:.1f}" for s, v in scores.items())
                    for e, scores in result.knn.items()))
    device = next(result.model.parameters()).device
    out = Path(config.output)
    mark = time.perf_counter()
    pretrained = fuse_eval(config, device, out_dir=out, tag=tag)
    random = fuse_eval(config, device, random_init=True, out_dir=out, tag=f"{tag}_random_init")
    seconds["linear"] = time.perf_counter() - mark
    columns = {"random init": random["table"], "pretrained": pretrained["table"]}
    report: Dict[str, Any] = {"pretrained": pretrained["table"], "random_init": random["table"]}
    if supervised:
        mark = time.perf_counter()
        reference = dataclasses.replace(config, finetune=dataclasses.replace(config.finetune, from_scratch=True,
                                                                             label_fraction=1.0))
        results = finetune_eval(reference, device)
        report["supervised"] = columns["supervised"] = fuse_scores(
            results, fusion_combinations(config.fuse, list(results)))
        seconds["supervised"] = time.perf_counter() - mark
    first = next(iter(pretrained["results"].values()))
    chance = 1.0 / first["scores"].shape[1]
    log("\nlinear evaluation on the test split (top-1 / top-5, %)"
        + (", supervised: the encoders trained end to end" if supervised else "") + ":\n"
        + fusion_table(columns, chance, pretrained["combinations"]))
    if pretrained["plots"]:
        log("\nplots: " + ", ".join(pretrained["plots"].values()))
    seconds["total"] = time.perf_counter() - started
    log(f"total {seconds['total']:.0f} s")
    report.update({"chance": chance, "knn": result.knn, "plots": pretrained["plots"], "seconds": seconds,
                   "output": str(out)})
    return report
