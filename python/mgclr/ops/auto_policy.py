"""The measured thresholds of ``impl="auto"``, read once at import from ``auto_policy.json`` beside this module.

Each entry of the file holds one threshold: its value, what it switches, the machine and benchmark run that
measured it, where RESULTS.md records that run, and the command that measures it again (which prints the
comparison with the value here and never rewrites the file). The code that switches reads the value from here
(``mgclr.ops.infonce.CPU_ATTENTION_MIN_NK_*``, ``mgclr.ops.queue_losses.AIMCLR_SINGLE_PASS_MAX_NK``); no
threshold is written in code.

    threshold("infonce_cpu_attention_min_nk_loss")   65536
    THRESHOLDS["aimclr_single_pass_max_nk"].benchmark   "python benchmarks/bench_train.py --method aimclr ..."
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

__all__ = ["POLICY_FILE", "THRESHOLDS", "Threshold", "threshold"]

POLICY_FILE = Path(__file__).with_name("auto_policy.json")


@dataclass(frozen=True)
class Threshold:
    """One entry of ``auto_policy.json``: ``value`` (an int), ``value_as`` (the value in the benchmark's terms),
    ``switches`` (what changes at it), ``code`` (the name that holds it), ``measured_on`` (the machine),
    ``measurement`` (the run and its numbers), ``results`` (the section of benchmarks/RESULTS.md) and
    ``benchmark`` (the command that measures it again)."""

    name: str
    value: int
    value_as: str
    switches: str
    code: str
    measured_on: str
    measurement: str
    results: str
    benchmark: str


def _load(path: Path) -> Dict[str, Threshold]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    fields = [f for f in Threshold.__dataclass_fields__ if f != "name"]
    out = {}
    for name, entry in raw["thresholds"].items():
        missing = [f for f in fields if f not in entry]
        if missing or not isinstance(entry["value"], int) or isinstance(entry["value"], bool):
            raise RuntimeError(f"{path}: threshold {name!r} needs an int value and {', '.join(fields[1:])}; "
                               f"missing {missing or ['an int value']}")
        out[name] = Threshold(name=name, **{f: entry[f] for f in fields})
    return out


THRESHOLDS: Dict[str, Threshold] = _load(POLICY_FILE)


def threshold(name: str) -> int:
    """The value of the threshold called ``name`` in ``auto_policy.json``."""
    if name not in THRESHOLDS:
        raise KeyError(f"{POLICY_FILE.name} has no threshold {name!r} (it has: {', '.join(sorted(THRESHOLDS))})")
    return THRESHOLDS[name].value
