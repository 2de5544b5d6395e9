"""What every converter shares: errors that name the file and the line or field, counted skips, the
report, the progress bar, and the loop that streams sources into a :class:`~mgclr.data.format.DatasetWriter`.

A converter is a function ``convert_<dataset>(src, dst, *, skip_bad=False, overwrite=False, progress=True,
**options) -> ConversionReport``. It lists its source files (sorted, so the output order is the same on every
machine), parses each into zero or more :class:`Sample` s, and hands them to :func:`run_conversion`. On
corrupt input a parser raises :class:`ConversionError`; with ``skip_bad`` the source is skipped and the
reason counted, else the conversion stops with that error. Nothing is dropped without a counted reason.
Its own keywords become ``mgclr prepare`` flags by an :class:`Option` each in :func:`declare_options` above it.
"""

from __future__ import annotations

import inspect
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..format import MAX_ABS_VALUE, DatasetWriter, require_folder

__all__ = ["ConversionError", "ConversionReport", "Option", "Sample", "declare_options", "parse_floats",
           "run_conversion"]

CONVERTER_VERSION = "1"
# No coordinate, frame number or time of any supported format comes near this (float32 goes to 3.4e38): a
# value beyond it is corrupt input, a named and skippable error (the writer refuses it too).
PLAUSIBLE = MAX_ABS_VALUE
IMPLAUSIBLE = "implausible value"
DUPLICATE = "duplicate sample"
# Every file a converter writes into a dataset folder beside data.npy, labels.npy, lengths.npy and meta.json
# (iMiGUE's annotated timelines). ``overwrite`` removes all of them, whichever converter runs, so that no file
# outlives its dataset; a converter that writes another such file adds its name here. Files of other names
# (a user's own) are never touched.
TIMELINES = "timelines.json"
COMPANIONS = (TIMELINES,)


class ConversionError(ValueError):
    """Corrupt or unusable input: ``file``, where in it (``line 12``, ``field 'skeletons'``), what is wrong.
    ``reason`` is a short category for the skip counts (``truncated``, ``non-numeric``, ``empty``, ...)."""

    def __init__(self, file: Union[str, Path], where: str, message: str, reason: str) -> None:
        self.file, self.where, self.message, self.reason = str(file), where, message, reason
        location = f"{file}: {where}: " if where else f"{file}: "
        super().__init__(location + message)


@dataclass
class Sample:
    """One sequence: ``x`` (C, T, V, M) float32 of its valid frames, its label and per-sample fields."""

    x: np.ndarray
    label: int
    fields: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ConversionReport:
    dataset: str
    destination: str
    written: int = 0
    skipped: Counter = field(default_factory=Counter)   # reason -> count
    skipped_examples: Dict[str, List[str]] = field(default_factory=dict)  # reason -> first few messages
    class_counts: Dict[str, int] = field(default_factory=dict)
    splits: Dict[str, Dict[str, int]] = field(default_factory=dict)  # benchmark -> part -> count
    sources: int = 0

    def count_skip(self, reason: str, message: str) -> None:
        self.skipped[reason] += 1
        examples = self.skipped_examples.setdefault(reason, [])
        if len(examples) < 3:
            examples.append(message)

    def summary(self) -> str:
        lines = [f"{self.dataset}: {self.written} sequences written to {self.destination} from {self.sources} "
                 f"sources"]
        for benchmark, parts in self.splits.items():
            lines.append(f"  split {benchmark}: " + ", ".join(f"{p} {n}" for p, n in parts.items()))
        if self.skipped:
            lines.append(f"  skipped {sum(self.skipped.values())}:")
            for reason, count in sorted(self.skipped.items()):
                lines.append(f"    {count:>6}  {reason}")
                for example in self.skipped_examples.get(reason, []):
                    lines.append(f"            e.g. {example}")
        else:
            lines.append("  skipped 0")
        lines.append("  classes: " + ", ".join(f"{name} {n}" for name, n in self.class_counts.items()))
        return "\n".join(lines)

    def as_dict(self) -> Dict[str, Any]:
        return {"dataset": self.dataset, "destination": self.destination, "written": self.written,
                "sources": self.sources, "skipped": dict(self.skipped), "class_counts": self.class_counts,
                "splits": self.splits}


@dataclass(frozen=True)
class Option:
    """One of a converter's own keywords as the ``mgclr prepare`` flag that feeds it, declared beside the
    converter (:func:`declare_options`); the command builds its flags from these, so a converter brings its
    flags with it.

    ``keyword``: the converter keyword it feeds. ``help``: what it is for this dataset; the flag's help shows
    it after the dataset's name, with ``when`` (the source form it applies to) in parentheses, and then
    ``default_text``, the converter's default in words. ``flag``: ``--keyword`` (hyphens for underscores)
    unless given. ``type`` and ``choices`` as in argparse; the flag's value is None when not given, so the
    converter's default applies. ``switch``: a flag without a value that sets the keyword to ``const``
    (``--keep-missing``: ``missing=()``). Converters that declare one flag share it (the same type, choices
    and switch; their helps joined)."""

    keyword: str
    help: str
    flag: str = ""
    type: Callable[[str], Any] = str
    choices: Optional[Tuple[str, ...]] = None
    default_text: Optional[str] = None
    when: Optional[str] = None
    switch: bool = False
    const: Any = None

    def __post_init__(self) -> None:
        if not self.flag:
            object.__setattr__(self, "flag", "--" + self.keyword.replace("_", "-"))

    @property
    def dest(self) -> str:
        """The flag's attribute name on the parsed arguments."""
        return self.flag[2:].replace("-", "_")


def declare_options(*declared: Option) -> Callable[[Callable], Callable]:
    """Decorator: the :class:`Option` s ``mgclr prepare`` offers for this converter, as its ``cli_options``
    (read by :func:`mgclr.data.convert.declared_options`). Each must name a keyword the converter takes."""

    def mark(converter: Callable) -> Callable:
        accepted = inspect.signature(converter).parameters
        for option in declared:
            if option.keyword not in accepted:
                raise TypeError(f"{option.flag}: {converter.__name__} takes no keyword {option.keyword!r}")
        converter.cli_options = tuple(declared)
        return converter

    return mark


def parse_floats(tokens: Sequence[str], file: Union[str, Path], where: str, expected: Optional[int] = None,
                 limit: Optional[float] = None) -> List[float]:
    """Tokens as floats, with errors naming the file, the place and the token: wrong count, non-numeric, NaN,
    and (``limit``) a magnitude no value of the format can have."""
    if expected is not None and len(tokens) != expected:
        raise ConversionError(file, where, f"expected {expected} values, got {len(tokens)}",
                              "wrong number of values")
    values = []
    for i, token in enumerate(tokens):
        try:
            value = float(token)
        except ValueError:
            raise ConversionError(file, where, f"value {i + 1} is not a number: {token!r}", "non-numeric") from None
        if not math.isfinite(value):
            raise ConversionError(file, where, f"value {i + 1} is {token!r}", "NaN or infinite value")
        if limit is not None and abs(value) > limit:
            raise ConversionError(file, where, f"value {i + 1} is {token!r}: beyond {limit:g}, implausible for this "
                                               f"format", IMPLAUSIBLE)
        values.append(value)
    return values


def run_conversion(dataset: str, dst: Union[str, Path], sources: Sequence[Any],
                   parse: Callable[[Any], Iterable[Sample]], *, writer_args: Dict[str, Any],
                   split_of: Callable[[Sample], Dict[str, str]], provenance: Dict[str, Any], normalisation: str,
                   skip_bad: bool, overwrite: bool, progress: bool, describe: Callable[[Any], str] = str,
                   skipped_before: Iterable[Tuple[str, str]] = (), splits: Optional[Sequence[str]] = None
                   ) -> ConversionReport:
    """Parse every source, write its samples, assign splits, and finish the dataset.

    ``split_of(sample)`` -> ``{benchmark: part}`` (e.g. ``{"xview": "train"}``; a part of None leaves the
    sample out of that benchmark). ``skipped_before``: ``(reason, message)`` of what the converter left out
    before this loop for a documented reason (a published missing-skeleton list, an unlabelled segment); they
    are counted like ``--skip-bad`` skips, in the report and in ``meta["provenance"]["skipped"]``. Returns the
    report; nothing is lost without a counted reason. ``splits``: the benchmarks to record (default: every one
    ``split_of`` gives); one that no sample belongs to is an error and nothing is written. When ``overwrite``
    replaces a dataset, its :data:`COMPANIONS` (the files any converter writes beside it) go first, then its
    ``meta.json``, so no file outlives its dataset.
    """
    check_dst_folder(dst)
    if provenance.get("source"):
        check_destination(provenance["source"], dst)
    report = ConversionReport(dataset, str(dst), sources=len(sources))
    for reason, message in skipped_before:
        report.count_skip(reason, message)
    if overwrite and (Path(dst) / "meta.json").is_file():  # while meta.json still says this folder is a dataset
        for name in COMPANIONS:
            if (Path(dst) / name).is_file():
                (Path(dst) / name).unlink()
    writer = DatasetWriter(dst, overwrite=overwrite, **writer_args)  # an old dataset's meta.json is gone now
    recorded: Dict[str, Dict[str, List[int]]] = {}
    seen_benchmarks: set = set()
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(sources), desc=f"prepare {dataset}", unit="file", dynamic_ncols=True)
        except ImportError:  # pragma: no cover
            bar = None
    try:
        for source in sources:
            try:
                try:
                    samples = list(parse(source))
                except OSError as exc:
                    raise ConversionError(exc.filename or describe(source), "", f"cannot be read "
                                                                                f"({exc.strerror or exc})",
                                          "unreadable") from None
                if not samples:
                    raise ConversionError(describe(source), "", "no sequence in it", "empty")
                for sample in samples:  # all checked first: a source is written whole or not at all
                    try:
                        writer.check(sample.x, sample.x.shape[1], sample.label)
                    except ValueError as exc:  # a sample the format refuses: named, and skippable
                        name = sample.fields.get("id", "a sample")
                        raise ConversionError(describe(source), f"sample {name}", str(exc), "bad sample") from None
                for sample in samples:
                    index = writer.add(sample.x, sample.x.shape[1], sample.label, **sample.fields)
                    for benchmark, part in split_of(sample).items():
                        seen_benchmarks.add(benchmark)
                        if part is not None and (splits is None or benchmark in splits):
                            recorded.setdefault(benchmark, {}).setdefault(part, []).append(index)
            except ConversionError as exc:
                if not skip_bad:
                    raise
                report.count_skip(exc.reason, str(exc))
            if bar is not None:
                bar.update(1)
        absent = [b for b in splits or () if b not in recorded]
        if absent:
            raise ValueError(f"splits: {dataset} has no benchmark {', '.join(map(repr, absent))} here; it has "
                             f"{sorted(seen_benchmarks) or 'none'}")
        counts = Counter(writer.labels)
        report.class_counts = {name: counts.get(i, 0) for i, name in enumerate(writer.class_names)}
        report.written = len(writer)
        report.splits = {b: {p: len(idx) for p, idx in parts.items()} for b, parts in recorded.items()}
        # The source as an absolute path: the dataset may be read from another working folder.
        where = {"source": str(Path(provenance["source"]).resolve())} if provenance.get("source") else {}
        writer.finish(splits=recorded, normalisation=normalisation,
                      provenance={"converter": f"mgclr.data.convert.{dataset}", "version": CONVERTER_VERSION,
                                  "skipped": dict(report.skipped), **provenance, **where})
    except BaseException:
        writer.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
    return report


class FirstSeen:
    """Where each sample (or recording) of a conversion was first read from. A second source of the same name
    under ``src`` (a copied folder) is refused: :meth:`check` raises a :class:`ConversionError` "``what`` NAME
    already read from FIRST" (reason ``duplicate sample``, skippable with ``skip_bad``). A source is recorded
    (:meth:`add`) only once it has parsed, so when a corrupt first copy is skipped the next one is read."""

    def __init__(self, what: str = "sample") -> None:
        self.what = what
        self._first: Dict[str, Path] = {}

    def check(self, name: str, path: Union[str, Path], where: str = "file name") -> None:
        if name in self._first:
            raise ConversionError(path, where, f"{self.what} {name} already read from {self._first[name]}", DUPLICATE)

    def add(self, name: str, path: Union[str, Path]) -> None:
        self._first.setdefault(name, Path(path))


UNREADABLE_FOLDER = "unreadable folder"


def check_dst_folder(dst: Union[str, Path]) -> None:
    """``dst`` must be a folder or not exist yet, and so must be each folder above it (checked before anything
    is read: :func:`~mgclr.data.format.require_folder`)."""
    require_folder(dst, "dst")


def check_destination(src: Union[str, Path], dst: Union[str, Path]) -> None:
    """``dst`` must not be ``src`` or inside it: the converter lists ``src``'s files recursively and would read
    its own output on the next run (or delete the sources with ``--overwrite``)."""
    src_path, dst_path = Path(src).resolve(), Path(dst).resolve()
    if dst_path == src_path or src_path in dst_path.parents:
        raise ValueError(f"dst: {dst} is inside src {src}; write the dataset elsewhere")


def sorted_files(src: Path, pattern: str, skipped: Optional[List[Tuple[str, str]]] = None) -> List[Path]:
    """The files under ``src`` whose name matches ``pattern``, sorted. A folder that cannot be listed is never
    passed over in silence (``Path.rglob`` would): it is a :class:`ConversionError`, or, when ``skipped`` is
    a list (``--skip-bad``), a ``(reason, message)`` appended to it, to be counted in the report."""
    import fnmatch

    found: List[Path] = []
    problems: List[OSError] = []
    for folder, _, names in os.walk(src, onerror=problems.append, followlinks=False):
        found.extend(Path(folder) / n for n in names if fnmatch.fnmatchcase(n, pattern))
    for exc in problems:
        error = ConversionError(exc.filename or src, "", f"cannot be read ({exc.strerror or exc}): its files would "
                                                         f"be missed", UNREADABLE_FOLDER)
        if skipped is None:
            raise error
        skipped.append((error.reason, str(error)))
    return sorted(p for p in found if p.is_file())


def read_text(path: Union[str, Path]) -> str:
    """A whole UTF-8 text file; a file that cannot be read is a :class:`ConversionError` (reason
    ``"unreadable"``, skippable), never a traceback."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise
    except OSError as exc:
        raise ConversionError(path, "", f"cannot be read ({exc.strerror or exc})", "unreadable") from None


def iter_lines(path: Path) -> Iterator[tuple]:
    """(line number, stripped text) of the non-empty lines of a text file; an unreadable file is a
    :class:`ConversionError` (reason ``"unreadable"``)."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConversionError(path, "", f"cannot be read ({exc.strerror or exc})", "unreadable") from None
    with fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip()
            if text:
                yield number, text


def parse_float_row(tokens: Sequence[str], file: Union[str, Path], where: str, expected: int,
                    limit: Optional[float] = PLAUSIBLE) -> np.ndarray:
    """``tokens`` as float64 values, exactly ``expected`` of them, all finite and at most ``limit`` in magnitude:
    NumPy parses the whole row at once, and only a row it rejects goes through :func:`parse_floats`, whose error
    names the bad token."""
    if len(tokens) == expected:
        try:
            values = np.asarray(tokens, dtype=np.float64)
            if np.isfinite(values).all() and (limit is None or np.abs(values).max(initial=0.0) <= limit):
                return values
        except ValueError:
            pass
    return np.asarray(parse_floats(tokens, file, where, expected, limit), dtype=np.float64)


def parse_integer(token: str, file: Union[str, Path], where: str, what: str) -> int:
    """``token`` as an int (a float token must be integral, at most :data:`PLAUSIBLE`); errors name ``what``."""
    value = parse_floats([token.strip()], file, where, limit=PLAUSIBLE)[0]
    if value != int(value):
        raise ConversionError(file, where, f"{what} is not an integer: {token!r}", "non-numeric")
    return int(value)


def is_number(token: str) -> bool:
    try:
        return math.isfinite(float(token))
    except ValueError:
        return False


def iter_label_rows(file: Path) -> Iterator[Tuple[str, int, int, int]]:
    """(where, label, start, end) of each row of a ``label,start,end`` CSV (SMG's ``_finelabels.csv``,
    iMiGUE's ``<id>_label.csv``); a first row without any number is a header and skipped."""
    first = True
    for number, text in iter_lines(file):
        tokens = text.split(",")
        if first:
            first = False
            if not any(is_number(t) for t in tokens):
                continue
        where = f"line {number}"
        if len(tokens) != 3:
            raise ConversionError(file, where, f"expected 3 values (label, start, end), got {len(tokens)}",
                                  "wrong number of values")
        yield (where, parse_integer(tokens[0], file, where, "label"),
               parse_integer(tokens[1], file, where, "start frame"), parse_integer(tokens[2], file, where, "end frame"))
