"""Where numbers go: a JSON-lines file (always), TensorBoard scalars (when the tensorboard package is
installed: ``pip install mgclr[train]``), and a progress bar with throughput. Only rank 0 writes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Optional

from .._files import write_text_atomic

__all__ = ["MetricsLog", "truncate_metrics"]


class MetricsLog:
    def __init__(self, folder: Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.enabled = enabled
        self.file = None
        self.writer = None
        if not enabled:
            return
        folder.mkdir(parents=True, exist_ok=True)
        self.file = open(folder / "metrics.jsonl", "a")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(folder / "tensorboard"))
            except ImportError:  # an optional extra; the JSON-lines file has every number too
                self.writer = None

    def write(self, step: int, values: Dict[str, Any], kind: str = "train") -> None:
        if not self.enabled:
            return
        record = {"kind": kind, "step": step, "time": round(time.time(), 3), **values}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.writer is not None:
            self.writer.close()


def progress(total: int, description: str, enabled: bool, initial: int = 0, unit: str = "step") -> Optional[Any]:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, initial=initial, desc=description, unit=unit, dynamic_ncols=True, leave=False)


# The records of pretraining, whose steps are optimiser steps (evaluation records count their own epochs).
PRETRAIN_KINDS = ("train", "knn")


def truncate_metrics(folder: Path, step: int) -> None:
    """Drop the pretraining's ``metrics.jsonl`` records after ``step`` (a resumed run logs those steps again,
    so one run's log holds each step once); evaluation records and unreadable lines are kept as they are."""
    path = Path(folder) / "metrics.jsonl"
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
            late = record.get("kind", "train") in PRETRAIN_KINDS and int(record.get("step", 0)) > step
        except (ValueError, TypeError, AttributeError):
            late = False
        if not late:
            kept.append(line)
    write_text_atomic(path, "".join(f"{line}\n" for line in kept))
