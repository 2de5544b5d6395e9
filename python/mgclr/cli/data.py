"""``mgclr prepare``: a dataset's published files -> an mgclr dataset folder (:mod:`mgclr.data.convert`).

The flags every converter takes are written here; each converter's own are built from what it declares
(:func:`mgclr.data.convert.declared_options`), so a new converter needs no edit here. A flag several converters
declare is one flag, its help naming each dataset (those with the same help together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .._files import write_json_atomic
from .common import _config_error

if TYPE_CHECKING:
    from ..data.convert import Option


def add_parser(sub) -> None:
    from ..data.convert import CONVERTERS

    prep = sub.add_parser("prepare", help="convert a dataset's published files into the mgclr format",
                          description="Convert a dataset's published files into an mgclr dataset folder (data.npy, "
                                      "labels.npy, lengths.npy, meta.json), streaming, with a summary of what was "
                                      "written and skipped. See mgclr.data.convert.<dataset> for each format.")
    prep.add_argument("dataset", choices=list(CONVERTERS), help="which dataset's files SRC holds")
    prep.add_argument("src", help="the published files (a folder)")
    prep.add_argument("dst", help="the dataset folder to write")
    prep.add_argument("--split", action="append", default=[], metavar="BENCHMARK",
                      help="record only this benchmark's split (repeatable or comma-separated; default all)")
    prep.add_argument("--skip-bad", action="store_true", help="skip corrupt input and count it instead of stopping")
    prep.add_argument("--overwrite", action="store_true", help="replace a dataset already at DST")
    prep.add_argument("--no-progress", action="store_true", help="no progress bar")
    prep.add_argument("--json", default=None, help="also write the summary as JSON")
    for flag, users in _dataset_flags().items():
        option = users[0][1]
        if option.switch:
            prep.add_argument(flag, action="store_true", help=_flag_help(users))
        else:
            prep.add_argument(flag, type=option.type, choices=option.choices, default=None, help=_flag_help(users))
    prep.set_defaults(func=_cmd_prepare)


def _dataset_flags() -> Dict[str, List[Tuple[str, Option]]]:
    """flag -> [(dataset, its Option)] over every converter: datasets in registry order, each one's flags in
    the order it declares them. A flag declared with another type, choices or switch is a TypeError."""
    from ..data.convert import CONVERTERS, declared_options

    flags: Dict[str, List[Tuple[str, Option]]] = {}
    for dataset in CONVERTERS:
        for option in declared_options(dataset):
            flags.setdefault(option.flag, []).append((dataset, option))
    for flag, users in flags.items():
        if len({(o.type, tuple(o.choices or ()), o.switch) for _, o in users}) > 1:
            raise TypeError(f"{flag}: {', '.join(d for d, _ in users)} declare it with different types, choices "
                            f"or switch")
    return flags


def _flag_help(users: List[Tuple[str, Option]]) -> str:
    """``ntu, nw_ucla, utkinect: T of data.npy (ntu: 300; others: the longest sequence)``: the datasets that
    declare one help (and source form) together, then their defaults; groups of other helps after a ``;``."""
    groups: Dict[Tuple[str, Optional[str]], List[Tuple[str, Optional[str]]]] = {}
    for dataset, option in users:
        groups.setdefault((option.help, option.when), []).append((dataset, option.default_text))
    parts = []
    for (text, when), members in groups.items():
        names = ", ".join(d for d, _ in members) + (f" ({when})" if when else "")
        parts.append(f"{names}: {text}{_defaults(members)}")
    return "; ".join(parts)


def _defaults(members: List[Tuple[str, Optional[str]]]) -> str:
    by_text: Dict[Optional[str], List[str]] = {}
    for dataset, text in members:
        by_text.setdefault(text, []).append(dataset)
    named = [[", ".join(datasets), text] for text, datasets in by_text.items() if text is not None]
    if not named:
        return ""
    if len(by_text) == 1:
        return f" (default: {named[0][1]})"
    if None not in by_text:  # every dataset has a default: the last of them are the others
        named[-1][0] = "others"
    return " (" + "; ".join(f"{names}: {text}" for names, text in named) + ")"


def _dataset_options(args) -> Dict[str, Any]:
    """The converter keywords that the given dataset flags set. A flag of another converter, or two flags for
    one keyword, is a ValueError naming them (value flags checked first, then switches)."""
    from ..data.convert import converter_options, declared_options

    declared = declared_options(args.dataset)
    own = {o.flag: o for o in declared}
    takes = ", ".join(o.flag for keyword in converter_options(args.dataset) for o in declared
                      if o.keyword == keyword and not o.switch) or "no option of its own"
    flags = _dataset_flags()
    options: Dict[str, Any] = {}
    set_by: Dict[str, str] = {}
    for switches in (False, True):
        for flag, users in flags.items():
            if users[0][1].switch != switches:
                continue
            value = getattr(args, users[0][1].dest)
            if value is None or value is False:
                continue
            if flag not in own:
                raise ValueError(f"{flag}: does not apply to {args.dataset}"
                                 + ("" if switches else f" (it takes {takes})"))
            option = own[flag]
            if option.keyword in set_by:
                raise ValueError(f"{flag} and {set_by[option.keyword]}: give one")
            options[option.keyword] = option.const if switches else value
            set_by[option.keyword] = flag
    return options


def _cmd_prepare(args) -> int:
    from ..data.convert import ConversionError, prepare
    from ..data.format import DatasetError

    try:
        options = _dataset_options(args)
    except ValueError as exc:
        return _config_error("prepare", exc)
    splits = [s for item in args.split for s in item.split(",") if s] or None
    try:
        report = prepare(args.dataset, args.src, args.dst, skip_bad=args.skip_bad, overwrite=args.overwrite,
                         progress=not args.no_progress, splits=splits, **options)
    except ConversionError as exc:
        return _config_error("prepare", f"{exc}\n(--skip-bad skips corrupt input and counts it in the summary)")
    except (DatasetError, FileExistsError, FileNotFoundError, ValueError) as exc:
        return _config_error("prepare", exc)
    print(report.summary())
    if args.json:
        write_json_atomic(args.json, report.as_dict())
    return 0
