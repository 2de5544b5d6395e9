"""Pipelines from plain configs (dicts, YAML): ``{"coord_channels": 3, "two_views": true, "ops": [...]}``.

Each op is ``{"name": "<op_name>", <op arguments>...}``; ``{"one_of": [op, op, ...]}`` makes a OneOf group;
``{"preset": "paper_best", <preset arguments>}`` at the top level uses a ready-made pipeline instead.
Errors name the offending entry (``ops[2]: unknown op 'shaer'; known ops: ...``).
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Mapping

from ..ops.transforms import TRANSFORMS
from .pipeline import OneOf, Pipeline
from .presets import PRESETS


def _build_op(where: str, entry: Any):
    if not isinstance(entry, Mapping):
        raise TypeError(f"{where}: expected a mapping with 'name' (or 'one_of'), got {type(entry).__name__}")
    if "one_of" in entry:
        members = entry["one_of"]
        if not isinstance(members, list) or set(entry) != {"one_of"}:
            raise ValueError(f"{where}: 'one_of' takes a list of ops and nothing else, got {dict(entry)!r}")
        return OneOf([_build_op(f"{where}.one_of[{i}]", m) for i, m in enumerate(members)])
    args = dict(entry)
    name = args.pop("name", None)
    if name not in TRANSFORMS:
        raise ValueError(f"{where}: unknown op {name!r}; known ops: {', '.join(sorted(TRANSFORMS))}")
    cls = TRANSFORMS[name]
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "kw"} | {"p", "same_on_batch"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise ValueError(f"{where} ({name}): unknown argument(s) {unknown}; expected some of {sorted(allowed)}")
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def pipeline_from_config(config: Mapping[str, Any]) -> Pipeline:
    """Build a :class:`Pipeline` from a mapping (e.g. a parsed YAML file)."""
    if not isinstance(config, Mapping):
        raise TypeError(f"augment config: expected a mapping, got {type(config).__name__}")
    cfg: Dict[str, Any] = dict(config)
    if "preset" in cfg:
        name = cfg.pop("preset")
        if name not in PRESETS:
            raise ValueError(f"augment config: unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
        try:
            return PRESETS[name](**cfg)
        except TypeError as exc:
            raise TypeError(f"augment config: preset {name!r}: {exc}") from None
    unknown = sorted(set(cfg) - {"ops", "coord_channels", "two_views"})
    if unknown:
        raise ValueError(f"augment config: unknown key(s) {unknown}; expected ops, coord_channels, two_views")
    ops = cfg.get("ops")
    if not isinstance(ops, list) or not ops:
        raise ValueError(f"augment config: 'ops' must be a non-empty list, got {ops!r}")
    return Pipeline([_build_op(f"ops[{i}]", e) for i, e in enumerate(ops)],
                    coord_channels=cfg.get("coord_channels", 3), two_views=cfg.get("two_views", False))
