"""The dataset errors, :class:`DatasetError` and :class:`DatasetWarning`, and the checked ``.npy`` load that raises
the first: shared by the mgclr format (:mod:`mgclr.data.format`, which re-exports both) and the other codebases'
readers (:mod:`mgclr.data.readers`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DatasetError", "DatasetWarning"]


class DatasetError(ValueError):
    """A dataset file is missing, truncated or inconsistent; the message names the file."""


class DatasetWarning(UserWarning):
    """Something about a dataset that may be intended but usually is not (a sample in both parts of a
    benchmark); ``strict=True`` makes it an error."""


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: missing")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot be read as a .npy array ({exc}); truncated or not a dataset file") from None
