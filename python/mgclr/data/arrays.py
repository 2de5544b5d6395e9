"""A dataset over skeleton arrays: DataLoader workers only slice (no per-sample augmentation there; the
fused augmentation runs on the training device, on the whole batch)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["ArrayDataset", "SubsetDataset", "class_fraction"]


def class_fraction(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``fraction`` of each class (at least one sample per class), seeded."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        keep.append(rng.choice(members, size=max(1, int(math.floor(fraction * len(members)))), replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


class ArrayDataset(Dataset):
    """``x`` (N, C, T, V, M), ``lengths`` (N,), ``labels`` (N,): NumPy arrays, possibly memory-mapped.
    Items are ``(x (C, T, V, M) float32 tensor, length, label)``; batches collate to tensors.
    ``coord_channels``: how many leading channels are coordinates, when the source says (None: unknown);
    ``axes``: which way they point (:mod:`mgclr.data.axes`), when the source says; ``samples``: per-sample
    columns the source carries (``{"id": [N], "img_shape": [N], ...}``, read with :meth:`sample_field`)."""

    def __init__(self, x: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
                 coord_channels: Optional[int] = None, axes: Optional[Mapping[str, Any]] = None,
                 samples: Optional[Mapping[str, Sequence[Any]]] = None) -> None:
        if x.ndim != 5:
            raise ValueError(f"x: expected an (N, C, T, V, M) array, got shape {x.shape}")
        if lengths.shape != (x.shape[0],) or labels.shape != (x.shape[0],):
            raise ValueError(f"lengths, labels: expected shape ({x.shape[0]},) each, got {lengths.shape} and "
                             f"{labels.shape}")
        for name, array in (("lengths", lengths), ("labels", labels)):
            if not np.issubdtype(array.dtype, np.integer):
                raise ValueError(f"{name}: expected integers, got {array.dtype}")
        if len(labels) and labels.min() < 0:
            raise ValueError(f"labels: expected values >= 0, got {labels.min()}")
        if len(lengths) and (lengths.min() < 1 or lengths.max() > x.shape[2]):
            raise ValueError(f"lengths: expected values in [1, T={x.shape[2]}], got min {lengths.min()}, "
                             f"max {lengths.max()}")
        self.x, self.lengths, self.labels = x, lengths, labels
        self.coord_channels = coord_channels
        self.axes = dict(axes) if axes is not None else None
        self.samples: Dict[str, List[Any]] = {k: list(v) for k, v in (samples or {}).items()}
        for name, column in self.samples.items():
            if len(column) != x.shape[0]:
                raise ValueError(f"samples[{name!r}]: expected {x.shape[0]} values (N), got {len(column)}")

    @property
    def shape(self) -> Tuple[int, int, int, int, int]:
        """(N, C, T, V, M)."""
        return tuple(self.x.shape)

    def __len__(self) -> int:
        return self.x.shape[0]

    def sample_field(self, name: str) -> List[Any]:
        """A per-sample column (``id``, ``img_shape``, ...)."""
        if name not in self.samples:
            raise KeyError(f"no per-sample field {name!r}; this dataset has {sorted(self.samples)}")
        return self.samples[name]

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int, int]:
        return torch.from_numpy(np.array(self.x[i], dtype=np.float32)), int(self.lengths[i]), \
            int(self.labels[i])


class SubsetDataset(Dataset):
    """The samples ``indices`` of ``dataset`` (one with ``labels`` and ``lengths``), with its ``labels``,
    ``lengths`` and ``shape`` (e.g. a seeded per-class fraction of a training split, ``data.train_fraction``)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(dataset.labels)[self.indices]
        self.lengths = np.asarray(dataset.lengths)[self.indices]
        self.coord_channels = getattr(dataset, "coord_channels", None)
        self.axes = getattr(dataset, "axes", None)

    @property
    def shape(self) -> Tuple[int, int, int, int, int]:
        return (len(self.indices), *tuple(self.dataset.shape)[1:])

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int, int]:
        return self.dataset[int(self.indices[i])]
