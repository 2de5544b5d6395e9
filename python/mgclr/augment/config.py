"""Pipelines from plain configs (dicts, YAML): ``{"coord_channels": 3, "two_views": true, "ops": [...]}``.

Each op is ``{"name": "<op_name>", <op arguments>...}``; ``{"one_of": [op, op, ...]}`` makes a OneOf group;
``{"preset": "paper_best", <preset arguments>}`` at the top level uses a ready-made pipeline instead.
Errors name the offending entry (``ops[2]: unknown op 'shaer'; known ops: ...``).
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Iterable, Mapping, Sequence

from .._validation import did_you_mean
from ..ops.transforms import TRANSFORMS
from .pipeline import OneOf, Pipeline
from .presets import PRESETS

TOP_LEVEL_KEYS = ("ops", "coord_channels", "two_views")


def op_arguments(name: str) -> list:
    """The arguments op ``name`` takes in a spec: its transform's constructor's, plus ``p`` and ``same_on_batch``."""
    parameters = inspect.signature(TRANSFORMS[name].__init__).parameters
    return sorted(set(parameters) - {"self", "kw"} | {"p", "same_on_batch"})


def preset_arguments(name: str) -> list:
    return list(inspect.signature(PRESETS[name]).parameters)


def check_op(where: str, entry: Any) -> None:
    """Checks one op entry of a spec by name (:func:`check_spec`), ``where`` naming it in errors."""
    if not isinstance(entry, Mapping):
        raise TypeError(f"{where}: expected a mapping with 'name' (or 'one_of'), got {type(entry).__name__}")
    if "one_of" in entry:
        members = entry["one_of"]
        if not isinstance(members, list) or set(entry) != {"one_of"}:
            raise ValueError(f"{where}: 'one_of' takes a list of ops and nothing else, got {dict(entry)!r}")
        for i, member in enumerate(members):
            check_op(f"{where}.one_of[{i}]", member)
        return
    name = entry.get("name")
    if name not in TRANSFORMS:
        hint = did_you_mean(name, TRANSFORMS).rstrip()
        raise ValueError(f"{where}: unknown op {name!r}; known ops: {', '.join(sorted(TRANSFORMS))}"
                         f"{'; ' + hint if hint else ''}")
    _refuse_unknown(f"{where} ({name})", set(entry) - {"name"}, op_arguments(name), "argument(s)")


def _refuse_unknown(label: str, given: Iterable[Any], allowed: Sequence[str], what: str) -> None:
    unknown = sorted(set(given) - set(allowed), key=str)
    if unknown:
        raise ValueError(f"{label}: unknown {what} {unknown}; {did_you_mean(unknown[0], allowed)}"
                         f"expected some of {list(allowed)}")


def check_spec(spec: Any, where: str = "") -> None:
    """Checks every name in a spec without building it: the preset and its arguments, or the top-level keys,
    each op and each op's arguments (ValueError / TypeError naming the entry, with a did-you-mean). Values
    are checked when the pipeline is built, as some come from the data; a config is checked with this when
    it is read, before any data loads. ``where``: the spec's key in a larger config, prefixed to every entry."""
    top = where or "augment config"
    if not isinstance(spec, Mapping):
        raise TypeError(f"{top}: expected a mapping, got {type(spec).__name__}")
    if "preset" in spec:
        name = spec["preset"]
        if name not in PRESETS:
            raise ValueError(f"{top}: unknown preset {name!r}; {did_you_mean(name, PRESETS)}"
                             f"known presets: {', '.join(PRESETS)}")
        _refuse_unknown(f"{top}: preset {name!r}", set(spec) - {"preset"}, preset_arguments(name), "argument(s)")
        return
    _refuse_unknown(top, spec, TOP_LEVEL_KEYS, "key(s)")
    ops = spec.get("ops")
    if not isinstance(ops, list) or not ops:
        raise ValueError(f"{top}: 'ops' must be a non-empty list, got {ops!r}")
    for i, entry in enumerate(ops):
        check_op(f"{where}.ops[{i}]" if where else f"ops[{i}]", entry)


def _build_op(where: str, entry: Mapping[str, Any]):
    if "one_of" in entry:
        return OneOf([_build_op(f"{where}.one_of[{i}]", m) for i, m in enumerate(entry["one_of"])])
    args = dict(entry)
    cls = TRANSFORMS[args.pop("name")]
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def pipeline_from_config(config: Mapping[str, Any]) -> Pipeline:
    """Build a :class:`Pipeline` from a mapping (e.g. a parsed YAML file); names are checked first
    (:func:`check_spec`)."""
    check_spec(config)
    cfg: Dict[str, Any] = dict(config)
    if "preset" in cfg:
        name = cfg.pop("preset")
        try:
            return PRESETS[name](**cfg)
        except TypeError as exc:
            raise TypeError(f"augment config: preset {name!r}: {exc}") from None
    return Pipeline([_build_op(f"ops[{i}]", e) for i, e in enumerate(cfg["ops"])],
                    coord_channels=cfg.get("coord_channels", 3), two_views=cfg.get("two_views", False))
