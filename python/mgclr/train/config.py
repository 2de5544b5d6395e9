"""Experiment configs read from YAML with every key checked, and written back; the sections' dataclasses are
:mod:`mgclr.train.schema`'s (re-exported here).

Unknown keys and bad values are errors that name the key (``model.streams.joint.encoder.kind: expected one of
('agcn', 'stgcn', 'bigru', 'isc_bigru'), got 'gcn'``); a misplaced or misspelt key names the nearest one
(``pretrain.lr: unknown key; did you mean pretrain.optim.lr?``). Every number's range is declared on its field
(:func:`bounded`); encoder ``args`` are checked against the encoder's signature. ``overrides`` (the CLI's
``--set key=value``) patch the mapping before it is checked; values are YAML scalars (``--set pretrain.epochs=5
--set pretrain.amp=false``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import inspect
import math
import re
import typing
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from .._validation import did_you_mean
from ..augment.config import check_op, check_spec
from ..data.axes import check_axes
from ..models import ENCODERS, METHODS
from ..skeleton import layout_from_spec
from .schema import (
    _INF,
    LINEAR_PROTOCOLS,
    ConfigError,
    CrossStreamConfig,
    DataConfig,
    EncoderConfig,
    ExperimentConfig,
    FinetuneConfig,
    FuseConfig,
    KnnConfig,
    LinearConfig,
    MethodConfig,
    ModelConfig,
    OptimConfig,
    PretrainConfig,
    StreamConfig,
    SweepConfig,
    augment_spec,
    bounded,
)

__all__ = ["LINEAR_PROTOCOLS", "ConfigError", "CrossStreamConfig", "DataConfig", "EncoderConfig", "ExperimentConfig",
           "FinetuneConfig", "FuseConfig", "KnnConfig", "LinearConfig", "MethodConfig", "ModelConfig", "OptimConfig",
           "PretrainConfig", "StreamConfig", "SweepConfig", "apply_overrides", "augment_spec", "bounded",
           "config_to_dict", "config_to_yaml", "fusion_combinations", "load_config", "parse_config"]


# Off while reading a config a run stored (a checkpoint's, a run folder's config.yaml): written by an mgclr that
# did not check augmentation names when reading, it may name an op argument of a pipeline it never built.
_CHECK_AUGMENT_NAMES = contextvars.ContextVar("check_augment_names", default=True)


def _check_augment(key: str, spec: Any) -> None:
    if spec is None or not _CHECK_AUGMENT_NAMES.get():
        return
    try:
        check_spec(spec, where=key)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


# ------------------------------------------------------------------------------------------- checking

_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _check_range(key: str, value: Any, bounds: Optional[Tuple[float, float, bool, bool]]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    if bounds is None:
        return
    low, high, low_open, high_open = bounds
    if (value <= low if low_open else value < low) or (value >= high if high_open else value > high):
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        if high == _INF:
            wanted = f"a value {'>' if low_open else '>='} {low:g}"
        elif low == -_INF:
            wanted = f"a value {'<' if high_open else '<='} {high:g}"
        else:
            wanted = f"a value in {left}{low:g}, {high:g}{right}"
        raise ConfigError(f"{key}: expected {wanted}, got {value!r}")


def _describe(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _convert(path: str, value: Any, tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(path, value, inner[0])
    if dataclasses.is_dataclass(tp):
        return _from_mapping(path, value, tp)
    if origin in (list, List, Sequence):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        return [_convert(f"{path}[{i}]", v, args[0] if args else Any) for i, v in enumerate(value)]
    if origin in (dict, Dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        inner = args[1] if len(args) == 2 else Any
        if inner is Any:
            return dict(value)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not _IDENTIFIER.fullmatch(k):
                raise ConfigError(f"{path}: expected names made of letters, digits and _ (not starting with a "
                                  f"digit), got {k!r}")
            if v is None and dataclasses.is_dataclass(inner):
                continue  # a null entry leaves it out (--set model.streams.sequence=null)
            out[k] = _convert(f"{path}.{k}", v, inner)
        return out
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string; it is a number to anyone else
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {_describe(tp)}")


def schema_keys(cls: type = None, prefix: str = "") -> List[str]:
    """Every dotted key of the config schema (a stream's keys as ``model.streams.NAME.key``)."""
    cls = cls or ExperimentConfig
    hints = typing.get_type_hints(cls)
    keys = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        key = f"{prefix}{f.name}"
        keys.append(key)
        tp = hints[f.name]
        inner = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_origin(tp) is Union else [tp]
        tp = inner[0]
        if dataclasses.is_dataclass(tp):
            keys += schema_keys(tp, key + ".")
        elif typing.get_origin(tp) in (dict, Dict) and dataclasses.is_dataclass(typing.get_args(tp)[1]):
            keys += schema_keys(typing.get_args(tp)[1], key + ".NAME.")
        elif typing.get_origin(tp) in (list, List) and typing.get_args(tp) and \
                dataclasses.is_dataclass(typing.get_args(tp)[0]):
            keys += schema_keys(typing.get_args(tp)[0], key + "[i].")
    return keys


def _generic(path: str) -> str:
    """``model.streams.joint.head_dim`` -> ``model.streams.NAME.head_dim``, ``model.cross_stream[0].x`` ->
    ``model.cross_stream[i].x`` (the form of :func:`schema_keys`)."""
    path = re.sub(r"\[\d+\]", "[i]", path)
    return re.sub(r"^model\.streams\.([^.]+)", "model.streams.NAME", path)


def nearest_key(path: str, name: str, local: Sequence[str]) -> Optional[str]:
    """The key a user most likely meant by ``path.name``: a close spelling among the section's own keys, else
    the same name elsewhere in the schema (the nearest such path), else a close spelling anywhere."""
    close = difflib.get_close_matches(name, list(local), n=1, cutoff=0.75)
    if close:
        return f"{path}.{close[0]}" if path else close[0]
    given = _generic(f"{path}.{name}" if path else name)
    keys = schema_keys()
    same_name = [k for k in keys if k.rsplit(".", 1)[-1] == name and k != given]
    if same_name:
        base = _generic(path)
        inside = [k for k in same_name if base and k.startswith(base + ".")]
        pool = inside or same_name
        best = max(pool, key=lambda k: difflib.SequenceMatcher(None, given, k).ratio())
        return _specific(best, path)
    close = difflib.get_close_matches(given, keys, n=1, cutoff=0.8)
    return _specific(close[0], path) if close else None


def _specific(key: str, path: str) -> str:
    """Put the stream name of ``path`` back into a generic key."""
    m = re.match(r"^model\.streams\.([^.]+)", path)
    return key.replace("model.streams.NAME", f"model.streams.{m.group(1)}", 1) if m else key


def _from_mapping(path: str, data: Any, cls: type):
    if data is None:
        data = {}
    if cls is MethodConfig and isinstance(data, str):
        data = {"kind": data}  # method: aimclr
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or cls.__name__}: expected a mapping, got {data!r}")
    if cls is ModelConfig:
        _refuse_old_streams(path, data)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    names = list(fields)
    unknown = [k for k in data if k not in fields]
    if unknown:
        where = f"{path}." if path else ""
        guess = nearest_key(path, str(unknown[0]), names)
        hint = f"did you mean {guess}? " if guess else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key; {hint}{path or 'the config'} takes {', '.join(names)}")
    kwargs = {}
    for name in names:
        if name not in data:
            continue
        key = f"{path}.{name}" if path else name
        value = _convert(key, data[name], hints[name])
        choices = getattr(cls, "CHOICES", {}).get(name)
        if choices and value not in choices:
            raise ConfigError(f"{key}: expected one of {choices}, got {value!r}")
        bounds = fields[name].metadata.get("range")
        if isinstance(value, list):
            items = [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            items = [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            items = [(key, value)]
        for item_key, item in items:
            _check_range(item_key, item, bounds)
        if fields[name].metadata.get("augment"):
            _check_augment(key, value)
        kwargs[name] = value
    config = cls(**kwargs)
    _check_section(path, config)
    return config


def _refuse_old_streams(path: str, data: Mapping[str, Any]) -> None:
    """mgclr before streams were data had ``model.spatial`` / ``model.temporal`` / ``model.cross_stream_weight``:
    an error that shows the same model in the new form."""
    old = [k for k in ("spatial", "temporal", "cross_stream_weight") if k in data]
    if not old:
        return
    streams = {name: (dict(data[name], input="joint") if isinstance(data[name], Mapping) else data[name])
               for name in ("spatial", "temporal") if name in data and data[name] is not None}
    new: Dict[str, Any] = {"streams": streams}
    weight = data.get("cross_stream_weight")
    if weight and len(streams) == 2:
        new["cross_stream"] = [{"streams": list(streams), "weight": weight}]
    text = yaml.safe_dump({"model": new}, sort_keys=False, default_flow_style=None).rstrip()
    where = f"{path}." if path else ""
    raise ConfigError(f"{where}{old[0]}: the streams are named entries of model.streams now (any number, each with its "
                      f"input modality); the same model in the new form:\n" + "\n".join("  " + line for line in
                                                                                       text.splitlines()))


def _check_section(path: str, config) -> None:
    where = f"{path}." if path else ""
    if isinstance(config, OptimConfig):
        if sorted(config.milestones) != config.milestones:
            raise ConfigError(f"{where}milestones: expected increasing epochs, got {config.milestones}")
    if isinstance(config, PretrainConfig) and config.steps is not None and config.epochs is not None:
        raise ConfigError(f"{where}steps, {where}epochs: give one, got {config.steps} steps and {config.epochs} epochs")
    if isinstance(config, KnnConfig) and config.k is not None and not config.k:
        raise ConfigError(f"{where}k: expected a non-empty list of integers >= 1, got {config.k}")
    if isinstance(config, DataConfig) and config.layout is not None:
        try:
            layout_from_spec(config.layout, f"{where}layout")
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
    if isinstance(config, DataConfig) and config.axes is not None:
        coords = config.coord_channels or (2 if config.axes.get("handedness") is None else 3)
        try:
            check_axes(config.axes, coords, where.rstrip(".") or "data")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if isinstance(config, EncoderConfig):
        _check_encoder_args(f"{where}args", config)
    if isinstance(config, MethodConfig):
        _check_method(where, config)
    if isinstance(config, ModelConfig):
        if not config.streams:
            raise ConfigError(f"{where}streams: expected at least one stream, got none")
        for name, stream in config.streams.items():
            _check_partners(f"{where}streams.{name}.method.args.partners", name, stream, config.streams)
        for i, pair in enumerate(config.cross_stream):
            key = f"{where}cross_stream[{i}].streams"
            if len(pair.streams) != 2 or pair.streams[0] == pair.streams[1]:
                raise ConfigError(f"{key}: expected two different stream names, got {pair.streams}")
            for name in pair.streams:
                if name not in config.streams:
                    raise ConfigError(f"{key}: no stream {name!r} in {where}streams ({', '.join(config.streams)})")
    if isinstance(config, FuseConfig):
        _check_fuse(where, config)
    if isinstance(config, SweepConfig) and _CHECK_AUGMENT_NAMES.get():
        for i, entry in enumerate(config.fixed):
            try:
                check_op(f"{where}fixed[{i}]", entry)
            except (TypeError, ValueError) as exc:
                raise ConfigError(str(exc)) from None
    if isinstance(config, ExperimentConfig) and not config.fuse.runs:
        for name, members in fusion_combinations(config.fuse, list(config.model.streams)).items():
            for stream in members:
                if stream not in config.model.streams:
                    raise ConfigError(f"fuse.combinations.{name}: no stream {stream!r} in model.streams "
                                      f"({', '.join(config.model.streams)})")
        for stream in config.fuse.weights:
            if stream not in config.model.streams:
                raise ConfigError(f"fuse.weights.{stream}: no such stream in model.streams "
                                  f"({', '.join(config.model.streams)})")


# Arguments of an encoder that the data decides (mgclr.train.build.build_encoder passes them).
DATA_ARGS = ("layout", "in_channels", "num_persons", "num_joints")


def _check_encoder_args(key: str, config: EncoderConfig) -> None:
    cls = ENCODERS.get(config.kind)
    if cls is None:
        return
    params = [n for n, p in inspect.signature(cls.__init__).parameters.items()
              if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    own = [n for n in params if n not in DATA_ARGS]
    for arg in config.args:
        if arg in DATA_ARGS:
            raise ConfigError(f"{key}.{arg}: set by the data (its description: layout, C, M, V), not by the config; "
                              f"leave it out")
        if arg not in params:
            hint = did_you_mean(arg, own)
            raise ConfigError(f"{key}.{arg}: unknown argument of {cls.__name__} ({config.kind}); {hint}it takes "
                              f"{', '.join(own)}")


def _check_method(where: str, config: MethodConfig) -> None:
    cls = METHODS.get(config.kind)
    if cls is None:
        return
    own = cls.options()
    for arg in config.args:
        if arg not in own:
            hint = did_you_mean(arg, own)
            takes = f"it takes {', '.join(own)}" if own else "it takes no options"
            raise ConfigError(f"{where}args.{arg}: unknown option of {cls.__name__} ({config.kind}); {hint}{takes}")
    for view, spec in config.views.items():
        if view not in cls.extra_views:
            extra = ", ".join(cls.extra_views) or "none"
            raise ConfigError(f"{where}views.{view}: {cls.__name__} ({config.kind}) has no extra view {view!r} "
                              f"(its extra views: {extra})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}views.{view}: expected an augmentation (ops: [...] or preset: NAME), got "
                              f"{spec!r}")
        _check_augment(f"{where}views.{view}", spec)


def _check_partners(key: str, name: str, stream: StreamConfig, streams: Mapping[str, StreamConfig]) -> None:
    """CrosSCLR's partners: other streams of the model, named once, with the same queue size where both give one."""
    partners = stream.method.args.get("partners")
    if stream.method.kind != "crossclr" or partners is None:
        return
    if not isinstance(partners, list) or not all(isinstance(p, str) for p in partners):
        raise ConfigError(f"{key}: expected a list of stream names, got {partners!r}")
    for partner in partners:
        if partner == name:
            raise ConfigError(f"{key}: a stream cannot be its own partner ({name!r})")
        if partner not in streams:
            raise ConfigError(f"{key}: no stream {partner!r} in model.streams ({', '.join(streams)})")
        mine, theirs = stream.queue_size, streams[partner].queue_size
        if mine is not None and theirs is not None and mine != theirs:
            raise ConfigError(f"{key}: {partner!r} has queue_size {theirs}, {name!r} {mine}; cross-view mining needs "
                              f"one size (entry j of both queues is one sample's key)")
    if len(set(partners)) != len(partners):
        raise ConfigError(f"{key}: a stream is named twice in {partners}")


def _check_fuse(where: str, config: FuseConfig) -> None:
    for name, members in config.combinations.items():
        key = f"{where}combinations.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_+]+", name):
            raise ConfigError(f"{key}: expected a name of letters, digits, _ and +, got {name!r}")
        if isinstance(members, Mapping):
            if not members:
                raise ConfigError(f"{key}: expected at least one stream, got none")
            for stream, weight in members.items():
                _check_range(f"{key}.{stream}", _convert(f"{key}.{stream}", weight, float), (0, _INF, False, True))
            if sum(float(w) for w in members.values()) <= 0:
                raise ConfigError(f"{key}: expected weights that do not sum to 0, got {dict(members)}")
        elif isinstance(members, list):
            if not members or not all(isinstance(m, str) for m in members):
                raise ConfigError(f"{key}: expected a non-empty list of stream names, got {members!r}")
            if len(set(members)) != len(members):
                raise ConfigError(f"{key}: a stream is named twice in {members}")
        else:
            raise ConfigError(f"{key}: expected a list of streams or a mapping stream -> weight, got {members!r}")
    for name, run in config.runs.items():
        key = f"{where}runs.{name}"
        if isinstance(run, Mapping):
            unknown = sorted(set(run) - {"run", "stream"})
            if unknown or not isinstance(run.get("run"), str):
                raise ConfigError(f"{key}: expected a run folder or {{run: FOLDER, stream: NAME}}, got {dict(run)!r}")
            if "stream" in run and not isinstance(run["stream"], str):
                raise ConfigError(f"{key}.stream: expected a stream name, got {run['stream']!r}")
        elif not isinstance(run, str):
            raise ConfigError(f"{key}: expected a run folder or {{run: FOLDER, stream: NAME}}, got {run!r}")
    if config.runs:
        for name, members in config.combinations.items():
            for stream in members:
                if stream not in config.runs:
                    raise ConfigError(f"{where}combinations.{name}: no stream {stream!r} in {where}runs "
                                      f"({', '.join(config.runs)})")
        for stream in config.weights:
            if stream not in config.runs:
                raise ConfigError(f"{where}weights.{stream}: no such stream in {where}runs ({', '.join(config.runs)})")


def fusion_combinations(fuse: FuseConfig, streams: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """``{combination: {stream: weight}}`` of ``fuse`` over ``streams`` (the default: every stream, equal
    weights, named ``a+b+...``; none for a single stream)."""
    if not fuse.combinations:
        if len(streams) < 2:
            return {}
        return {"+".join(streams): {s: float(fuse.weights.get(s, 1.0)) for s in streams}}
    out = {}
    for name, members in fuse.combinations.items():
        if isinstance(members, Mapping):
            out[name] = {s: float(w) for s, w in members.items()}
        else:
            out[name] = {s: float(fuse.weights.get(s, 1.0)) for s in members}
    return out


def _merge(base: Mapping[str, Any], given: Mapping[str, Any]) -> Dict[str, Any]:
    merged = _deep_copy(base)
    for key, value in given.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, Mapping) and isinstance(merged.get(key),
                                                                                            Mapping) else value
    return merged


def parse_config(data: Any, *, stored: bool = False) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from a mapping (a parsed YAML file), every key checked. ``stored``: the
    config a run saved (its augmentation specs' names are then checked when a pipeline is built from them,
    not here: what that run never built must not stop its evaluation)."""
    token = _CHECK_AUGMENT_NAMES.set(not stored)
    try:
        return _parse(data)
    finally:
        _CHECK_AUGMENT_NAMES.reset(token)


def _parse(data: Any) -> ExperimentConfig:
    if isinstance(data, Mapping) and isinstance(data.get("linear"), Mapping) and data["linear"].get("protocol"):
        name = data["linear"]["protocol"]
        if name not in LINEAR_PROTOCOLS:
            raise ConfigError(f"linear.protocol: expected one of {tuple(LINEAR_PROTOCOLS)}, got {name!r}")
        data = {**data, "linear": _merge(LINEAR_PROTOCOLS[name], data["linear"])}
    return _from_mapping("", data, ExperimentConfig)


def apply_overrides(data: Dict[str, Any], overrides: Sequence[str]) -> Dict[str, Any]:
    """``["pretrain.epochs=5", "model.streams.sequence=null"]`` applied to a nested mapping (values are YAML).
    A ``model.streams.NAME...`` override of a mapping without ``model.streams`` patches the default streams."""
    data = _deep_copy(data)
    if any(item.strip().startswith("model.streams.") for item in overrides):
        model = data.get("model")
        if model is None or (isinstance(model, dict) and "streams" not in model and not
                             any(k in model for k in ("spatial", "temporal"))):
            data.setdefault("model", {})
            if isinstance(data["model"], dict):
                data["model"]["streams"] = config_to_dict(ModelConfig())["streams"]
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: the value {raw!r} is not YAML: {exc}") from None
        node = data
        parts = key.strip().split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def _deep_copy(data):
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def load_config(path: Union[str, Path, None], overrides: Sequence[str] = (), *, stored: bool = False
                ) -> ExperimentConfig:
    """Read a YAML experiment (None: all defaults), apply ``--set`` overrides, check every key (``stored``: a
    run folder's config.yaml, :func:`parse_config`)."""
    data: Dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config: {path} is not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise ConfigError(f"config: {path} must hold a mapping at its top level, got {type(data).__name__}")
    config = parse_config(apply_overrides(dict(data), overrides), stored=stored)
    return dataclasses.replace(config, overrides=tuple(overrides))


def config_to_dict(config) -> Dict[str, Any]:
    """The resolved config as plain data (for the YAML saved beside checkpoints; what :func:`parse_config`
    reads back)."""
    out = dataclasses.asdict(config)
    for f in dataclasses.fields(config):
        if f.metadata.get("internal"):
            out.pop(f.name, None)
    return out


def config_to_yaml(config: Union[ExperimentConfig, Dict[str, Any]], provenance: Mapping[str, str] = ()) -> str:
    """``config`` as YAML (what :func:`mgclr.train.config.load_config` reads back), each key of ``provenance``
    followed by a comment saying where its value came from (on the key's own line, where the value is a
    one-line scalar or a block below it; the YAML read back is checked to be the config's)."""
    data = config if isinstance(config, dict) else config_to_dict(config)
    text = yaml.safe_dump(data, sort_keys=False, width=math.inf)
    provenance = dict(provenance)
    if not provenance:
        return text
    notes: Dict[int, str] = {}
    stack = [("", yaml.compose(text))]
    while stack:  # the line of every mapping key, by its dotted path, from the parsed node tree
        path, node = stack.pop()
        if not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            dotted = f"{path}.{key.value}" if path else str(key.value)
            line = key.start_mark.line
            one_line = value.start_mark.line == value.end_mark.line == line
            below = isinstance(value, (yaml.MappingNode, yaml.SequenceNode)) and value.start_mark.line > line
            if dotted in provenance and (one_line or below):
                notes[line] = provenance[dotted]
            stack.append((dotted, value))
    lines = text.splitlines()
    for line, note in notes.items():
        lines[line] = f"{lines[line]}  # {note}"
    out = "\n".join(lines) + "\n"
    return out if yaml.safe_load(out) == yaml.safe_load(text) else text
