"""Tables for the terminal: the paper's Table 3 layout (spatial / temporal / fused, top-1 / top-5)."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

__all__ = ["fusion_table", "protocol_table"]


def _pct(value: Optional[float]) -> str:
    return "    -" if value is None else f"{100 * value:5.1f}"


def fusion_table(columns: Mapping[str, Mapping[str, Mapping[str, float]]], chance: Optional[float] = None) -> str:
    """``columns``: {"pretrained": {"spatial": {"top1", "top5"}, "temporal": ..., "fused": ...}, "random init":
    ...}; rows are the streams, each column shows top-1 / top-5 in percent."""
    names = list(columns)
    rows = [r for r in ("spatial", "temporal", "fused") if any(r in c for c in columns.values())]
    width = max(14, *(len(n) + 2 for n in names))
    lines = [f"{'stream':<10}" + "".join(f"{n:>{width}}" for n in names),
             f"{'':<10}" + "".join(f"{'top-1 / top-5':>{width}}" for _ in names)]
    for row in rows:
        cells = []
        for n in names:
            acc = columns[n].get(row)
            cell = f"{_pct(acc['top1'])} / {_pct(acc['top5'])}" if acc else "-"
            cells.append(f"{cell:>{width}}")
        lines.append(f"{row:<10}" + "".join(cells))
    if chance is not None:
        lines.append(f"(chance: top-1 {100 * chance:.1f} %)")
    return "\n".join(lines)


def protocol_table(results: Dict[str, Dict[str, float]], keys: Mapping[str, str]) -> str:
    """One row per stream, one column per ``keys`` entry (label -> result key), values in percent."""
    lines = [f"{'stream':<10}" + "".join(f"{label:>12}" for label in keys)]
    for stream, r in results.items():
        lines.append(f"{stream:<10}" + "".join(f"{_pct(r.get(k)):>12}" for k in keys.values()))
    return "\n".join(lines)
