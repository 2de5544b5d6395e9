"""One skeleton sequence to look at, with what describes it: from an mgclr dataset folder, a ``.npy`` / ``.npz``
file, or the synthetic generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from ..data import generate
from ..data.axes import CANONICAL
from ..data.format import SkeletonDataset, read_pyskl
from ..data.info import DatasetInfo
from ..skeleton import layout_from_spec

__all__ = ["Sample", "load_sample"]


@dataclass
class Sample:
    """``x (C, T, V, M)`` float32 with ``length`` valid frames, the data's description, and a caption."""

    x: np.ndarray
    length: int
    info: DatasetInfo
    caption: str


def load_sample(source: Optional[Union[str, Path]] = None, *, sample: int = 0, split: Optional[str] = None,
                layout: Optional[str] = None, coord_channels: Optional[int] = None, frames: int = 48,
                seed: int = 0) -> Sample:
    """Sample ``sample`` of ``source``:

    * None: the synthetic generator (``layout`` ``imigue22`` or ``ntu25``, ``frames`` long, ``seed``);
    * an mgclr dataset folder (``split``: a part such as ``train`` or ``xsub/test``; None: every sample); its
      ``meta.json`` gives the layout, the coordinate channels, fps and class names;
    * a pyskl annotation pickle (``.pkl``; ``split``: a name in its ``split`` table, None: every clip), read
      by :func:`~mgclr.data.format.read_pyskl` (normalised like pyskl, image axes: drawn upright); ``layout``
      defaults to ``coco17`` for 17 2-D keypoints (pyskl's HRNet files);
    * a ``.npy`` of ``(C, T, V[, M])`` or ``(N, C, T, V, M)``, or a ``.npz`` with such an ``x`` (optional
      ``length`` / ``lengths``, ``fps``): ``layout`` is then required (the file does not say): a name, or a
      YAML file with a custom layout or an experiment config whose ``data.layout`` is one; ``coord_channels``
      defaults to min(C, 3).
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise ValueError(f"sample: expected an index >= 0, got {sample!r}")
    if source is None:
        data = generate(sample + 1, layout=layout or "imigue22", frames=frames, seed=seed)
        info = DatasetInfo(layout=layout_from_spec(layout or "imigue22"), channels=3, coord_channels=3, persons=1,
                           frames=frames, class_names=data.class_names, channel_names=("x", "y", "z"), fps=data.fps,
                           source="the synthetic generator", axes=CANONICAL)
        label = int(data.labels[sample])
        return Sample(np.asarray(data.x[sample]), int(data.lengths[sample]), info,
                      f"synthetic sample {sample} ({data.class_names[label]}, seed {seed})")
    path = Path(source)
    if path.is_dir():
        dataset = SkeletonDataset(path, split)
        if sample >= len(dataset):
            raise ValueError(f"sample: {path}{f' ({split})' if split else ''} holds {len(dataset)} samples, got "
                             f"index {sample}")
        x, length, label = dataset[sample]
        info = dataset.info
        return Sample(np.asarray(x, dtype=np.float32), int(length), info,
                      f"{path.name}{f' {split}' if split else ''} sample {sample} ({info.class_names[int(label)]})")
    if path.suffix == ".pkl":
        return _from_pyskl(path, sample, split, layout)
    return _from_file(path, sample, layout, coord_channels)


def _from_pyskl(path: Path, sample: int, split: Optional[str], layout: Optional[str]) -> Sample:
    if not path.is_file():
        raise FileNotFoundError(f"source: {path} does not exist")
    dataset = read_pyskl(path, split)
    if sample >= len(dataset):
        raise ValueError(f"sample: {path}{f' ({split})' if split else ''} holds {len(dataset)} clips, got index "
                         f"{sample}")
    _, C, T, V, M = dataset.shape
    if layout is None and not (V == 17 and dataset.coord_channels == 2):
        raise ValueError(f"--layout: {path} holds {V} {dataset.coord_channels}-D keypoints; give their layout "
                         f"(mgclr layouts)")
    spec = _layout(layout) if layout is not None else layout_from_spec("coco17")
    if V != spec.num_joints:
        raise ValueError(f"--layout: {spec.name} has {spec.num_joints} joints, {path} has V = {V}")
    info = DatasetInfo(layout=spec, channels=C, coord_channels=dataset.coord_channels, persons=M, frames=T,
                       class_names=tuple(str(i) for i in range(int(dataset.labels.max()) + 1)), source=str(path),
                       axes=dataset.axes)
    x, length, label = dataset[sample]
    return Sample(x.numpy(), int(length), info,
                  f"{path.name} clip {dataset.sample_field('id')[sample]} (label {label})")


def _layout(value):
    """A layout name, a layout mapping, or a YAML file holding a layout mapping or an experiment config (its
    ``data.layout``: the custom layout a config gives for an ``arrays`` dataset)."""
    if isinstance(value, str) and value.endswith((".yaml", ".yml")):
        import yaml

        path = Path(value)
        if not path.is_file():
            raise FileNotFoundError(f"--layout: {path} does not exist")
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "layout" in data["data"]:
            data = data["data"]["layout"]
        if data is None:
            raise ValueError(f"--layout: {path} holds no layout (a mapping name, joints, bones, center, or an "
                             f"experiment config with data.layout)")
        return layout_from_spec(data, f"--layout ({path})")
    return layout_from_spec(value, "--layout")


def _from_file(path: Path, sample: int, layout: Optional[str], coord_channels: Optional[int]) -> Sample:
    if not path.is_file():
        raise FileNotFoundError(f"source: {path} is neither a dataset folder nor a file")
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"source: expected an mgclr dataset folder, a .npy, a .npz or a pyskl .pkl file, got {path}")
    if layout is None:
        raise ValueError(f"--layout: {path} does not say which joints it holds; give a layout (mgclr layouts)")
    fps, lengths = None, None
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "x" not in f:
                    raise ValueError(f"source: {path}: expected an array 'x' in the .npz, found {sorted(f.files)}")
                arr = f["x"]
                key = "lengths" if "lengths" in f else "length" if "length" in f else None
                lengths = np.atleast_1d(f[key]) if key else None
                fps = float(f["fps"]) if "fps" in f else None
        else:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, EOFError) as exc:
        raise ValueError(f"source: {path} cannot be read as a NumPy array: {exc}") from None
    if arr.ndim == 5:
        if sample >= arr.shape[0]:
            raise ValueError(f"sample: {path} holds {arr.shape[0]} sequences, got index {sample}")
        x = np.asarray(arr[sample], dtype=np.float32)
        length = int(lengths[sample]) if lengths is not None and len(lengths) > sample else None
    elif arr.ndim in (3, 4):
        if sample != 0:
            raise ValueError(f"sample: {path} holds one sequence {arr.shape}, got index {sample}")
        x = np.asarray(arr, dtype=np.float32)
        x = x[..., None] if x.ndim == 3 else x
        length = int(lengths[0]) if lengths is not None else None
    else:
        raise ValueError(f"source: {path}: expected (C, T, V[, M]) or (N, C, T, V, M), got shape {arr.shape}")
    spec = _layout(layout)
    C, T, V, M = x.shape
    if V != spec.num_joints:
        raise ValueError(f"--layout: {spec.name} has {spec.num_joints} joints, {path} has V = {V} (shape {x.shape})")
    if not np.isfinite(x).all():
        raise ValueError(f"source: {path}: sample {sample} holds NaN or inf")
    if length is None:  # trailing all-zero frames are padding
        moving = np.abs(x).reshape(C, T, -1).sum(axis=(0, 2)) > 0
        length = int(moving.nonzero()[0].max()) + 1 if moving.any() else T
    if not 1 <= length <= T:
        raise ValueError(f"source: {path}: length {length} outside [1, T = {T}]")
    coord = coord_channels or min(C, 3)
    info = DatasetInfo(layout=spec, channels=C, coord_channels=coord, persons=M, frames=T, class_names=("?",),
                       fps=fps, source=str(path))
    return Sample(x, length, info, f"{path.name} sequence {sample}")
