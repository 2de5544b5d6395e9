"""Tables for the terminal: the layout of the paper's Tables 2 and 3 (one row per stream, then one per fused
combination; top-1 / top-5 per column)."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

__all__ = ["fusion_table", "protocol_table"]


def _pct(value: Optional[float]) -> str:
    return "    -" if value is None else f"{100 * value:5.1f}"


def _weights_text(weights: Mapping[str, float]) -> str:
    if len(set(weights.values())) <= 1:
        return " + ".join(weights)
    return " + ".join(f"{w:g} {s}" for s, w in weights.items())


def fusion_table(columns: Mapping[str, Mapping[str, Mapping[str, float]]], chance: Optional[float] = None,
                 weights: Optional[Mapping[str, Mapping[str, float]]] = None) -> str:
    """``columns``: {"pretrained": {row: {"top1", "top5"}}, "random init": ...}; rows (streams, then fused
    combinations) in the order they first appear, each column top-1 / top-5 in percent. ``weights``: the
    combinations' {stream: weight}, listed under the table."""
    names = list(columns)
    rows = list(dict.fromkeys(r for c in columns.values() for r in c))
    first = max(10, *(len(r) + 2 for r in rows)) if rows else 10
    width = max(14, *(len(n) + 2 for n in names))
    lines = [f"{'stream':<{first}}" + "".join(f"{n:>{width}}" for n in names),
             f"{'':<{first}}" + "".join(f"{'top-1 / top-5':>{width}}" for _ in names)]
    for row in rows:
        cells = []
        for n in names:
            acc = columns[n].get(row)
            cell = f"{_pct(acc['top1'])} / {_pct(acc['top5'])}" if acc else "-"
            cells.append(f"{cell:>{width}}")
        lines.append(f"{row:<{first}}" + "".join(cells))
    for name, members in (weights or {}).items():
        lines.append(f"  {name} = {_weights_text(members)} (softmax scores)")
    if chance is not None:
        lines.append(f"(chance: top-1 {100 * chance:.1f} %)")
    return "\n".join(lines)


def protocol_table(results: Dict[str, Dict[str, float]], keys: Mapping[str, str]) -> str:
    """One row per stream, one column per ``keys`` entry (label -> result key), values in percent."""
    first = max(10, *(len(s) + 2 for s in results)) if results else 10
    lines = [f"{'stream':<{first}}" + "".join(f"{label:>12}" for label in keys)]
    for stream, r in results.items():
        lines.append(f"{stream:<{first}}" + "".join(f"{_pct(r.get(k)):>12}" for k in keys.values()))
    return "\n".join(lines)
