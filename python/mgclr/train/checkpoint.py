"""Checkpoints -- of pretraining runs, recognizers and emotion models alike: written atomically (a temporary
file in the same folder, then a rename, so a run killed while writing leaves the previous checkpoint intact)
and read with ``torch.load(weights_only=True)`` (no pickled code runs). The resolved config is saved as
``config.yaml`` beside a run's checkpoints, and inside them (:mod:`mgclr.train.run`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import torch
import yaml

from .._files import atomic_path, write_text_atomic

__all__ = ["CheckpointWriteError", "first_non_finite", "latest_checkpoint", "load_checkpoint", "save_checkpoint",
           "save_config"]

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
        state = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:  # truncated, not a checkpoint, or holding objects weights_only refuses
        raise ValueError(f"checkpoint: {path} cannot be read as an mgclr checkpoint: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {path} is not an mgclr checkpoint of format {FORMAT}")
    missing = [key for key in require if key not in state]
    if missing:
        raise ValueError(f"checkpoint: {path} has no {', '.join(missing)} (it has {', '.join(sorted(state))}): not "
                         f"a pretraining checkpoint, or an incomplete one")
    return state


def first_non_finite(tensors: Dict[str, Any]) -> Optional[str]:
    """The name of the first floating-point tensor of ``tensors`` (a state dict) holding NaN or inf, or None."""
    for name, value in tensors.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return name
    return None


def latest_checkpoint(folder: Union[str, Path]) -> Optional[Path]:
    path = Path(folder) / "checkpoint.pt"
    return path if path.is_file() else None


def save_config(folder: Union[str, Path], config: Dict[str, Any]) -> Path:
    return write_text_atomic(Path(folder) / "config.yaml", yaml.safe_dump(config, sort_keys=False))
