"""Prior-knowledge probes: what does each model think an MG class suggests -- positive, negative or neutral?

:func:`run_probes` asks every model (a label -> backend mapping) about every class, ``repeats`` times, and
parses the answers (:func:`~mgclr.emotion.llm.parse.parse_probe_answer`). The :class:`ProbeTable` has a row
per MG class and a column per model; a cell is the majority valence of that model's parsed answers,
``"mixed"`` on a tie, ``"unparsed"`` when none could be read (the raw answers are kept in the JSON form).
Tables from separate runs (other servers, other days) merge with :func:`merge_probe_tables`.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..._files import write_text_atomic
from .backend import ChatBackend
from .parse import parse_probe_answer
from .prompts import probe_request

__all__ = ["PROBE_FORMAT", "ProbeTable", "merge_probe_tables", "read_probe_table", "run_probes", "write_probe_table"]

PROBE_FORMAT = "mgclr-llm-probes"
TABLE_SUFFIXES = (".md", ".csv", ".json")


@dataclass
class ProbeTable:
    """Probe answers: ``answers[model][mg]`` is a list of ``{"repeat", "raw", "error", "valence", "emotion",
    "reason", "matched"}``; :meth:`cell` and the writers derive the table from it."""

    classes: List[str]
    models: List[str]
    answers: Dict[str, Dict[str, List[Dict[str, Any]]]] = field(default_factory=dict)
    backends: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def cell(self, model: str, mg: str) -> str:
        rows = self.answers.get(model, {}).get(mg)
        if not rows:
            return "-"
        counts = Counter(r["valence"] for r in rows if r.get("valence"))
        if not counts:
            return "unparsed"
        top = counts.most_common()
        if len(top) > 1 and top[0][1] == top[1][1]:
            return "mixed"
        return top[0][0]

    def counts(self, model: str, mg: str) -> Dict[str, int]:
        rows = self.answers.get(model, {}).get(mg, [])
        out = Counter(r["valence"] or "unparsed" for r in rows)
        return dict(sorted(out.items()))

    def unparsed(self) -> int:
        return sum(1 for m in self.answers.values() for rows in m.values() for r in rows if not r.get("valence"))

    def to_dict(self) -> Dict[str, Any]:
        return {"format": PROBE_FORMAT, "version": 1, "classes": self.classes, "models": self.models,
                "table": {mg: {m: self.cell(m, mg) for m in self.models} for mg in self.classes},
                "counts": {mg: {m: self.counts(m, mg) for m in self.models} for mg in self.classes},
                "backends": self.backends, "answers": self.answers}

    def to_markdown(self) -> str:
        lines = ["| MG class | " + " | ".join(self.models) + " |", "|---|" + "---|" * len(self.models)]
        for mg in self.classes:
            cells = []
            for m in self.models:
                value, counts = self.cell(m, mg), self.counts(m, mg)
                total = sum(counts.values())
                cells.append(value if total <= 1 else f"{value} ({counts.get(value, 0)}/{total})")
            lines.append(f"| {mg} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["mg_class", *self.models])
        for mg in self.classes:
            writer.writerow([mg, *(self.cell(m, mg) for m in self.models)])
        return buffer.getvalue()


def run_probes(backends: Mapping[str, ChatBackend], classes: Sequence[str], repeats: int = 1, *,
               temperature: Optional[float] = None, seed: Optional[int] = None, max_tokens: Optional[int] = None,
               concurrency: Optional[int] = None) -> ProbeTable:
    """Ask every backend (column label -> backend) about every MG class, ``repeats`` times each."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: expected an int >= 1, got {repeats!r}")
    classes = list(dict.fromkeys(c.strip() for c in classes if c and c.strip()))
    if not classes:
        raise ValueError("classes: expected at least one MG class name, got none")
    if not backends:
        raise ValueError("backends: expected at least one model to probe, got none")
    table = ProbeTable(classes, list(backends))
    for label, backend in backends.items():
        requests = [probe_request(mg, temperature=temperature, seed=seed, max_tokens=max_tokens).with_repeat(r)
                    for mg in classes for r in range(repeats)]
        done = backend.chat_many(requests, concurrency)
        per_mg: Dict[str, List[Dict[str, Any]]] = {mg: [] for mg in classes}
        for request, completion in zip(requests, done):
            parsed = parse_probe_answer(completion.text) if completion.ok else None
            fields = parsed.as_dict() if parsed else {"valence": None, "emotion": None, "reason": None, "matched": ""}
            row = {"repeat": request.repeat, "raw": completion.text, "error": completion.error, **fields}
            per_mg[request.meta["mg"]].append(row)
        table.answers[label] = per_mg
        table.backends[label] = backend.describe()
    return table


def merge_probe_tables(tables: Sequence[ProbeTable]) -> ProbeTable:
    """One table with every class and model of ``tables``; a model label in two tables is an error."""
    classes: List[str] = []
    out = ProbeTable([], [])
    for t in tables:
        for mg in t.classes:
            if mg not in classes:
                classes.append(mg)
        for m in t.models:
            if m in out.answers:
                raise ValueError(f"probe tables: model {m!r} appears in two tables; give the runs different labels")
            out.models.append(m)
            out.answers[m] = t.answers.get(m, {})
            out.backends[m] = t.backends.get(m, {})
    out.classes = classes
    return out


def read_probe_table(path: Union[str, Path]) -> ProbeTable:
    """A table written as JSON by :func:`write_probe_table`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"probe table: {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != PROBE_FORMAT:
        form = data.get("format") if isinstance(data, dict) else None
        raise ValueError(f"{path}: expected a probe table written as JSON by 'mgclr llm probe' (format "
                         f"{PROBE_FORMAT!r}), got {type(data).__name__} with format {form!r}")
    for key in ("classes", "models", "answers"):
        if key not in data:
            raise ValueError(f"{path}: {key}: missing")
    return ProbeTable(list(data["classes"]), list(data["models"]), dict(data["answers"]),
                      dict(data.get("backends", {})))


def write_probe_table(path: Union[str, Path], table: ProbeTable) -> Path:
    """The table as Markdown (``.md``), CSV (``.csv``) or JSON (``.json``, with every raw answer), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"probe table: {path}: expected a name ending in {', '.join(TABLE_SUFFIXES)}, got "
                         f"{suffix or 'no suffix'!r}")
    text = (table.to_markdown() if suffix == ".md" else table.to_csv() if suffix == ".csv"
            else json.dumps(table.to_dict(), indent=1, ensure_ascii=False))
    return write_text_atomic(path, text)
