"""A run folder and what it promises: one run per folder, and a checkpoint that knows what it is.

* :func:`prepare_run_folder`: pretraining into a folder that already holds a run is an error unless the run is
  continued (``--resume``) or started over (``--overwrite``: the old run's files are removed first), so that
  metrics, checkpoints and results of two runs never mix.
* Every checkpoint carries the resolved config it was trained with and the description of its data
  (:class:`~mgclr.data.info.DatasetInfo`). :func:`config_for_checkpoint` rebuilds the model's shapes from
  it for ``--resume`` and for every evaluation command: a ``--set`` that would change a shape is an error
  naming the key and both values (instead of a size-mismatch traceback from ``load_state_dict``); a config
  *file* that differs is overruled by the checkpoint, with a warning naming the keys.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..data.info import DatasetInfo
from .config import ConfigError, ExperimentConfig, StreamConfig, config_to_dict, parse_config

__all__ = ["RUN_MARKERS", "check_same_data", "config_for_checkpoint", "prepare_run_folder", "shape_keys"]

# Files whose presence means "a run is here" (written by mgclr pretrain).
RUN_MARKERS = ("checkpoint.pt", "config.yaml", "metrics.jsonl")
# A stream's keys a trained model is bound to: its tensors' shapes, and the input modality its weights expect.
_STREAM_SHAPE = ("input", "encoder", "head_dim", "head_hidden", "queue_size")


def holds_run(folder: Union[str, Path]) -> bool:
    folder = Path(folder)
    return any((folder / name).exists() for name in RUN_MARKERS)


def prepare_run_folder(folder: Union[str, Path], *, resume: bool, overwrite: bool) -> None:
    """Refuse to mix runs: a folder holding a run needs ``resume`` (continue it) or ``overwrite`` (remove it
    first). ``overwrite`` removes only a folder that holds a run, never one with other content alone."""
    folder = Path(folder)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite: give one (continue the run in the folder, or start over)")
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"output: {folder} is a file, not a folder; choose another output")
    if resume:
        return
    if holds_run(folder):
        if not overwrite:
            found = ", ".join(n for n in RUN_MARKERS if (folder / n).exists())
            raise FileExistsError(f"output: {folder} already holds a run ({found}); pass --resume to continue it or "
                                  f"--overwrite to remove it and start over (or choose another output)")
        shutil.rmtree(folder)
    elif overwrite and folder.is_dir() and any(folder.iterdir()):
        raise FileExistsError(f"--overwrite: {folder} holds files but no mgclr run ({', '.join(RUN_MARKERS)}); "
                              f"refusing to delete it")


def shape_keys(config: ExperimentConfig) -> Dict[str, Any]:
    """The config values a trained model is bound to, by dotted key: which streams exist (in which order), each
    stream's input modality, encoder (kind and every argument), head and queue size."""
    out: Dict[str, Any] = {"model.streams": list(config.model.streams)}
    for name, stream in config.model.streams.items():
        key = f"model.streams.{name}"
        out[f"{key}.input"] = stream.input
        out[f"{key}.encoder.kind"] = stream.encoder.kind
        for arg, value in sorted(stream.encoder.args.items()):
            out[f"{key}.encoder.args.{arg}"] = value
        for field_name in _STREAM_SHAPE[2:]:
            out[f"{key}.{field_name}"] = getattr(stream, field_name)
    return out


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> List[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k, _MISSING) != b.get(k, _MISSING))


_MISSING = object()


def _set_keys(overrides: Sequence[str]) -> List[str]:
    return [item.split("=", 1)[0].strip() for item in overrides if "=" in item]


def _covers(set_key: str, key: str) -> bool:
    return key == set_key or key.startswith(set_key + ".") or set_key.startswith(key + ".")


def config_for_checkpoint(config: ExperimentConfig, state: Mapping[str, Any], path: Union[str, Path],
                          overrides: Optional[Sequence[str]] = None) -> ExperimentConfig:
    """``config`` with the model shapes of the checkpoint ``state`` (read from ``path``).

    ``overrides``: the ``--set`` items given (default ``config.overrides``). A differing shape key that one of
    them names is a :class:`ConfigError` naming the key, the checkpoint's value and the given one; one that
    only the config file differs in takes the checkpoint's value, with a warning. Everything that does not
    decide a shape (epochs, learning rates, temperatures, evaluation settings) stays the config's."""
    if "config" not in state:  # a checkpoint of an earlier mgclr: nothing to compare with
        return config
    try:
        trained = parse_config(state["config"], stored=True)
    except ConfigError as exc:
        raise ConfigError(f"checkpoint: {path}: its config no longer parses: {exc}") from None
    overrides = config.overrides if overrides is None else tuple(overrides)
    mine, theirs = shape_keys(config), shape_keys(trained)
    differing = _differences(mine, theirs)
    if not differing:
        return config
    given = _set_keys(overrides)
    for key in differing:
        for set_key in given:
            if _covers(set_key, key):
                raise ConfigError(f"{key}: the checkpoint {path} was trained with {_show(theirs.get(key, _MISSING))}, "
                                  f"--set {set_key} gives {_show(mine.get(key, _MISSING))}: a trained model's shapes "
                                  f"cannot change; leave the --set out, or train a new run for another shape")
    warnings.warn(f"the checkpoint {path} was trained with other model shapes than the config gives; its values "
                  f"are used: " + "; ".join(f"{k} = {_show(theirs.get(k, _MISSING))} (config: "
                                             f"{_show(mine.get(k, _MISSING))})" for k in differing), stacklevel=2)
    return dataclasses.replace(config, model=_with_shapes(config, trained))


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else repr(value)


def _with_shapes(config: ExperimentConfig, trained: ExperimentConfig):
    """The config's model section with the trained streams (their order) and each one's shape keys from
    ``trained``; what does not decide a shape (momentum, temperature, own augment) stays the config's where the
    config has that stream."""
    streams: Dict[str, StreamConfig] = {}
    for name, theirs in trained.model.streams.items():
        base = config.model.streams.get(name, theirs)
        streams[name] = dataclasses.replace(base, **{k: getattr(theirs, k) for k in _STREAM_SHAPE})
    cross = [pair for pair in config.model.cross_stream if all(n in streams for n in pair.streams)]
    return dataclasses.replace(config.model, streams=streams, cross_stream=cross)


def check_same_data(state: Mapping[str, Any], info: DatasetInfo, path: Union[str, Path]) -> None:
    """The data a checkpoint was trained on and the data at hand must have one shape (C, V, M), one layout and
    the same coordinate channels; else a :class:`ConfigError` naming both."""
    if "data" not in state:
        return
    trained = DatasetInfo.from_dict(state["data"], f"checkpoint {path}: data")
    for what, a, b in (("layout", trained.layout.name, info.layout.name), ("C (channels)", trained.channels,
                                                                          info.channels),
                       ("coord_channels", trained.coord_channels, info.coord_channels),
                       ("M (persons)", trained.persons, info.persons)):
        if a != b:
            raise ConfigError(f"data: the checkpoint {path} was trained on data with {what} {a!r} ({trained.source}); "
                              f"the dataset of data.path has {b!r} ({info.source})")
    if trained.layout != info.layout:
        raise ConfigError(f"data: the checkpoint {path} was trained on layout {trained.layout.name!r} with other "
                          f"joints or bones than the dataset's layout of that name ({info.source})")


def checkpoint_record(config: ExperimentConfig, info: DatasetInfo) -> Dict[str, Any]:
    """What every checkpoint carries besides weights: the resolved config and the data's description."""
    return {"config": config_to_dict(config), "data": info.to_dict()}

