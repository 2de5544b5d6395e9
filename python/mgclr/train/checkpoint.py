"""Checkpoints -- of pretraining runs, recognizers and emotion models alike: written atomically (a temporary
file in the same folder, then a rename, so a run killed while writing leaves the previous checkpoint intact)
and read with ``torch.load(weights_only=True)`` (no pickled code runs; a file that is not a checkpoint is one
line, ``<path>: not an mgclr checkpoint (<reason>)``). The resolved config is saved as
``config.yaml`` beside a run's checkpoints, and inside them (:mod:`mgclr.train.run`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from .._files import NotATorchFile, atomic_path, read_torch_file, write_text_atomic
from .config import config_to_yaml

__all__ = ["CheckpointWriteError", "first_non_finite", "latest_checkpoint", "load_checkpoint", "load_weights",
           "save_checkpoint", "save_config"]

FORMAT = 1


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (a full disk, a read-only folder); the previous one is intact."""


def save_checkpoint(path: Union[str, Path], state: Dict[str, Any]) -> Path:
    """``state`` (plain data and tensors only) to ``path``, atomically; :func:`load_checkpoint` reads it. A
    failed write (torch reports a full disk as ``RuntimeError: [enforce fail at inline_container.cc]``, with
    no path) is a :class:`CheckpointWriteError` naming the file and the free space left."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            torch.save({"format": FORMAT, **state}, tmp)
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "inline_container" not in str(exc) and "write" not in str(exc).lower():
            raise
        try:
            free = f"{shutil.disk_usage(path.parent).free / 2**20:,.0f} MiB free on {path.parent}"
        except OSError:
            free = f"{path.parent} cannot be examined"
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0][:200]
        raise CheckpointWriteError(f"checkpoint: cannot write {path} ({detail}; {free}); "
                                   f"{'the previous checkpoint is intact' if path.exists() else 'nothing was written'}"
                                   ) from None
    return path


def load_checkpoint(path: Union[str, Path], map_location: Optional[Union[str, torch.device]] = "cpu",
                    require: Sequence[str] = (), mmap: bool = False) -> Dict[str, Any]:
    """The checkpoint at ``path``; ``require``: keys it must hold (else an error naming them); ``mmap``: map
    the tensors instead of reading them (for a look at the config alone)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: {path} does not exist")
    try:
        state = read_torch_file(path, map_location=map_location, mmap=mmap)
    except NotATorchFile as exc:  # empty, truncated, foreign, or holding objects the safe loader refuses
        raise ValueError(f"{path}: not an mgclr checkpoint ({exc.reason})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not an mgclr checkpoint (a torch file holding a {type(state).__name__}, not "
                         f"mgclr's mapping)")
    if state.get("format") != FORMAT:
        why = (f"format {state['format']!r}; this mgclr reads format {FORMAT}" if "format" in state else
               "a torch file without mgclr's 'format' entry: published weights are read by "
               "mgclr.models.load_published")
        raise ValueError(f"{path}: not an mgclr checkpoint ({why})")
    missing = [key for key in require if key not in state]
    if missing:
        raise ValueError(f"checkpoint: {path} has no {', '.join(missing)} (it has {', '.join(sorted(state))}): not "
                         f"a pretraining checkpoint, or an incomplete one")
    return state


def _some(keys: List[str], shown: int = 3) -> str:
    return ", ".join(keys[:shown]) + (f", ... ({len(keys) - shown} more)" if len(keys) > shown else "")


def load_weights(module: nn.Module, state: Any, path: Union[str, Path], what: str = "model") -> nn.Module:
    """``module.load_state_dict(state)`` (strict) for the entry ``what`` of the checkpoint at ``path``; weights
    that do not fit the module (missing or unexpected names, other shapes: a damaged or edited file) are one
    ValueError naming the file, the entry and a few of the names of each kind with their counts."""
    if state is None:
        raise ValueError(f"{path}: has no {what} (an incomplete checkpoint)")
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: {what}: expected a state_dict (a mapping of names to tensors), got "
                         f"{type(state).__name__}")
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    other = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in expected.items()
             if isinstance(state.get(k), torch.Tensor) and isinstance(v, torch.Tensor) and state[k].shape != v.shape]
    not_tensors = [f"{k} ({type(state[k]).__name__})" for k, v in expected.items()
                   if k in state and isinstance(v, torch.Tensor) and not isinstance(state[k], torch.Tensor)]
    problems = [f"{len(keys)} {kind}: {_some(keys)}" for kind, keys in (
        ("missing", missing), ("unexpected", unexpected), ("of another shape", other),
        ("not tensors", not_tensors)) if keys]
    if not problems:
        try:
            module.load_state_dict(state)
            return module
        except RuntimeError as exc:  # whatever else load_state_dict finds: its first line of detail
            detail = [line.strip() for line in str(exc).splitlines() if line.strip()]
            problems = [(detail[1] if len(detail) > 1 else detail[0] if detail else type(exc).__name__)[:300]]
    raise ValueError(f"{path}: {what} does not fit the {type(module).__name__} its config describes ("
                     + "; ".join(problems) + f"; {len(expected)} entries expected): a damaged or edited checkpoint")


def first_non_finite(tensors: Dict[str, Any]) -> Optional[str]:
    """The name of the first floating-point tensor of ``tensors`` (a state dict) holding NaN or inf, or None
    (also for something that is not a mapping: :func:`load_weights` names that)."""
    if not isinstance(tensors, Mapping):
        return None
    for name, value in tensors.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return name
    return None


def latest_checkpoint(folder: Union[str, Path]) -> Optional[Path]:
    path = Path(folder) / "checkpoint.pt"
    return path if path.is_file() else None


def save_config(folder: Union[str, Path], config: Any, provenance: Mapping[str, str] = ()) -> Path:
    """``folder/config.yaml``: the run's resolved config, each value it did not give commented with its source
    (:func:`mgclr.train.config.config_to_yaml`)."""
    return write_text_atomic(Path(folder) / "config.yaml", config_to_yaml(config, provenance))
