"""The mgclr dataset format: one folder per dataset, memory-mapped, self-describing.

::

    data.npy      (N, C, T, V, M) float32, read memory-mapped (frames past a sample's length are zero)
    labels.npy    (N,) int64, indices into meta["class_names"]
    lengths.npy   (N,) int64, valid frames per sample, in [1, T]
    meta.json     {"format": 1, "layout", "coord_channels", "channel_names", "fps", "class_names",
                   "normalisation" (what was done to the coordinates, in words),
                   "normalise" (the same as a spec that can be applied again, mgclr.data.normalise, or null),
                   "axes" ({"up", "left", "handedness"}: which way the coordinate axes point, mgclr.data.axes),
                   "samples": {"id": [N], "subject": [N], "view": [N], "video": [N], ...: columns},
                   "splits": {benchmark: {"train": [indices], "test": [indices]}},
                   "provenance": {"converter", "version", "source", "files", "skipped": {reason: count}, ...},
                   "custom_layout": {"name", "joints", "bones", "center", "left_right"} when the layout is not
                   a built-in one}

**Frames.** Every frame number mgclr writes or reads -- the per-sample ``start_frame`` / ``end_frame`` of every
converter, timelines, recognizer output -- is **0-based with both ends inclusive**: a clip of
``start_frame=10, end_frame=12`` has 3 frames. Sources with another convention are converted at the boundary
(SMG's ``_finelabels.csv`` ends are exclusive: its ``end_frame`` is the file's end minus 1). UTKinect keeps
its own numbering (video frame ids, inclusive), as its per-sample ``frame_ids`` say.

**The dataset describes itself**: :attr:`SkeletonDataset.info` (:class:`~mgclr.data.info.DatasetInfo`) is
what training obeys -- layout, C, V, M, ``coord_channels``, channel names, fps, classes, normalisation.

:class:`DatasetWriter` streams samples into that folder (``data.npy`` grows on disk, so a converter's memory
does not grow with the dataset; the ``.npy`` header is written last), :class:`SkeletonDataset` reads it
without loading ``data.npy`` into memory (DataLoader workers slice the memory map), and
:func:`read_skeletonclr` / :func:`read_pyskl` bring the files of ISC / SkeletonCLR / AimCLR and pyskl.
Those readers live in :mod:`mgclr.data.readers` and the errors in :mod:`mgclr.data.errors`; this module
re-exports them, so ``from mgclr.data.format import read_pyskl, DatasetError`` keeps working.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from .._files import atomic_path, write_json_atomic
from .._validation import check_int
from ..skeleton import Layout, is_builtin, layout_from_spec
from .axes import check_axes
from .errors import DatasetError, DatasetWarning, _load_npy
from .info import DatasetInfo
from .normalise import check_normalise_spec
from .readers import PYSKL_IMAGE_SHAPE as PYSKL_IMAGE_SHAPE  # public, outside __all__ as before
from .readers import read_pyskl, read_skeletonclr

__all__ = ["FORMAT_VERSION", "MAX_ABS_VALUE", "DatasetError", "DatasetWarning", "DatasetWriter", "SkeletonDataset",
           "read_pyskl", "read_skeletonclr"]

FORMAT_VERSION = 1
_HEADER_BYTES = 256  # room for the .npy header written when the number of samples is known
# No skeleton format has coordinates (pixels, millimetres, metres, normalised units) of this magnitude: a
# value beyond it is corrupt input (3e38 is float32's edge), refused by the writer and by the reader.
MAX_ABS_VALUE = 1e6
_SCAN_BYTES = 64 << 20  # data.npy checked for NaN / huge values this many bytes at a time


# -------------------------------------------------------------------------------------------------- writer


def require_folder(path: Union[str, Path], key: str = "folder") -> None:
    """``path`` must be a folder or not exist yet, and so must be each folder above it: a file there is named
    (``KEY: PATH is a file, not a folder``), never an ``[Errno 17] File exists`` from creating the folder."""
    path = Path(path)
    for place in (path, *path.parents):
        if os.path.lexists(place):
            if not place.is_dir():
                what = ("a file, not a folder" if place.is_file() else
                        "a broken link, not a folder" if place.is_symlink() else "not a folder")
                inside = "" if place == path else f" (it would hold {path})"
                raise FileExistsError(f"{key}: {place} is {what}{inside}; choose another destination folder")
            return


class DatasetWriter:
    """Write samples one at a time into an mgclr dataset folder.

    Args:
        folder: the dataset folder (created; an existing dataset there is an error unless ``overwrite``).
        channels, frames, joints, persons: C, T, V, M of ``data.npy``; shorter samples are zero-padded.
        layout: a layout name or :class:`~mgclr.skeleton.Layout` (a custom one is stored in meta.json).
        class_names: the label names, in label order.
        coord_channels: how many leading channels are coordinates; ``channel_names`` name all C.
        fps: frames per second of the source, when known.
        normalise: the normalisation the converter applied, as a spec (:mod:`mgclr.data.normalise`), or None.
        axes: which way the written coordinates point (:mod:`mgclr.data.axes`); every converter says.
    """

    def __init__(self, folder: Union[str, Path], *, channels: int, frames: int, joints: int, persons: int,
                 layout: Union[str, Layout], class_names: Sequence[str], coord_channels: int = 3,
                 channel_names: Optional[Sequence[str]] = None, fps: Optional[float] = None,
                 normalise: Optional[Dict[str, Any]] = None, axes: Optional[Dict[str, Any]] = None,
                 overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.shape = tuple(check_int(n, v, low=1) for n, v in (("channels", channels), ("frames", frames),
                                                                 ("joints", joints), ("persons", persons)))
        self.layout = layout_from_spec(layout, "layout")
        if self.layout.num_joints != joints:
            raise ValueError(f"joints: layout {self.layout.name!r} has {self.layout.num_joints} joints, got {joints}")
        require_folder(self.folder)
        if (self.folder / "meta.json").exists() and not overwrite:
            raise FileExistsError(f"{self.folder}: a dataset is already there; pass overwrite=True (--overwrite)")
        self._created_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        # Overwriting: the old meta.json goes first. It is what makes a folder a dataset (written last), so a
        # run killed at any later point leaves no dataset that loads, never new arrays under old metadata.
        if (self.folder / "meta.json").exists():
            (self.folder / "meta.json").unlink()
        self.class_names = list(class_names)
        self.coord_channels = check_int("coord_channels", coord_channels, low=1, high=channels)
        self.channel_names = list(channel_names) if channel_names is not None else \
            ["x", "y", "z", "confidence"][:channels] if channels <= 4 else [f"c{i}" for i in range(channels)]
        self.fps = fps
        self.normalise = check_normalise_spec(normalise)
        self.axes = check_axes(axes, self.coord_channels, "axes")
        self._partial = self.folder / ".data.npy.partial"
        self._file = open(self._partial, "wb")
        self._file.write(b"\0" * _HEADER_BYTES)
        self.labels: List[int] = []
        self.lengths: List[int] = []
        self.samples: Dict[str, List[Any]] = {}
        self.max_abs = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    def check(self, x: np.ndarray, length: int, label: int) -> np.ndarray:
        """``x`` as float32 if :meth:`add` would take it, else the ``ValueError`` it would raise (a converter
        checks every sample of a source before writing any, so that a source is written whole or not at all)."""
        return self._checked(x, length, label)[0]

    def _checked(self, x: np.ndarray, length: int, label: int) -> Tuple[np.ndarray, float]:
        """(x as float32, its largest magnitude over the valid frames), or the ``ValueError``."""
        C, T, V, M = self.shape
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4 or x.shape[0] != C or x.shape[2] != V or x.shape[1] > T or x.shape[3] > M:
            raise ValueError(f"x: expected (C={C}, T<={T}, V={V}, M<={M}), got {x.shape}")
        if not 1 <= length <= x.shape[1]:
            raise ValueError(f"length: expected 1..{x.shape[1]}, got {length}")
        if not 0 <= label < len(self.class_names):
            raise ValueError(f"label: expected 0..{len(self.class_names) - 1}, got {label}")
        if not np.isfinite(x).all():
            raise ValueError("x: expected finite values (a value beyond float32's range, 3.4e38, becomes inf)")
        peak = float(np.abs(x[:, :length]).max(initial=0.0))
        if peak > MAX_ABS_VALUE:
            raise ValueError(f"x: a value of magnitude {peak:.3g}, beyond {MAX_ABS_VALUE:g} (no skeleton format has "
                             f"such coordinates: corrupt input?)")
        return x, peak

    def add(self, x: np.ndarray, length: int, label: int, **fields: Any) -> int:
        """Append one sample ``x`` (C, T', V, M') with T' <= T, M' <= M (zero-padded); ``fields`` (id, subject,
        view, video, ...) become per-sample columns of meta["samples"]. Returns its index."""
        x, peak = self._checked(x, length, label)
        self.max_abs = max(self.max_abs, peak)
        padded = np.zeros(self.shape, dtype=np.float32)
        padded[:, :length, :, :x.shape[3]] = x[:, :length]
        self._file.write(padded.tobytes())
        index = len(self.labels)
        for key in fields.keys() - self.samples.keys():
            self.samples[key] = [None] * index
        for key, column in self.samples.items():
            column.append(fields.get(key))
        self.labels.append(int(label))
        self.lengths.append(int(length))
        return index

    def finish(self, *, splits: Dict[str, Dict[str, Sequence[int]]], provenance: Dict[str, Any],
               normalisation: str) -> Path:
        """Write the .npy header, labels, lengths and meta.json; the folder is then a complete dataset."""
        N = len(self.labels)
        if N == 0:
            self.abort()
            raise DatasetError(f"{self.folder}: no sample was written (every input was skipped or empty)")
        header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {(N,) + self.shape!r}, }}".encode("latin1")
        room = _HEADER_BYTES - 10 - 1
        if len(header) > room:
            raise DatasetError(f"{self.folder}: shape {(N,) + self.shape} does not fit the reserved .npy header")
        header = header + b" " * (room - len(header)) + b"\n"
        self._file.seek(0)
        self._file.write(b"\x93NUMPY\x01\x00" + np.uint16(len(header)).tobytes() + header)
        self._file.close()
        os.replace(self._partial, self.folder / "data.npy")
        for name, values in (("labels.npy", self.labels), ("lengths.npy", self.lengths)):
            with atomic_path(self.folder / name) as tmp:
                np.save(tmp, np.asarray(values, dtype=np.int64))
        for benchmark, parts in splits.items():
            for part, indices in parts.items():
                bad = [i for i in indices if not 0 <= i < N]
                if bad:
                    raise ValueError(f"splits[{benchmark!r}][{part!r}]: indices {bad[:5]} outside [0, {N})")
        meta = {"format": FORMAT_VERSION, "num_samples": N, "layout": self.layout.name,
                "coord_channels": self.coord_channels,
                "channel_names": self.channel_names, "fps": self.fps, "class_names": self.class_names,
                "normalisation": normalisation, "normalise": self.normalise, "axes": self.axes,
                "samples": self.samples,
                "splits": {b: {p: [int(i) for i in idx] for p, idx in parts.items()} for b, parts in splits.items()},
                "provenance": provenance,
                # checked on every add: SkeletonDataset trusts it while data.npy is this file (size and time)
                "values": {"finite": True, "max_abs": self.max_abs, **_file_stamp(self.folder / "data.npy")}}
        if not is_builtin(self.layout):
            meta["custom_layout"] = self.layout.to_dict()
        write_json_atomic(self.folder / "meta.json", meta, indent=None)  # last: its presence means "complete"
        return self.folder

    def abort(self) -> None:
        """Remove what was written (a folder this writer created and left empty goes too)."""
        if not self._file.closed:
            self._file.close()
        if self._partial.exists():
            self._partial.unlink()
        if self._created_folder and self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()


# -------------------------------------------------------------------------------------------------- reader


def _file_stamp(path: Path) -> Dict[str, int]:
    """What identifies one write of a file: its size and modification time (an edit in place changes both or
    the time)."""
    stat = path.stat()
    return {"data_bytes": stat.st_size, "data_mtime_ns": stat.st_mtime_ns}


def _check_exact_size(path: Path, array: np.ndarray) -> None:
    """A .npy file holds its header and exactly its array: trailing bytes mean a file of another write."""
    with open(path, "rb") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        read_header(fh)  # moves to the data
        offset = fh.tell()
    expected = offset + array.size * array.dtype.itemsize
    actual = path.stat().st_size
    if actual != expected:
        raise DatasetError(f"{path}: {actual} bytes, its header describes {expected} ({actual - expected:+d}): "
                           f"truncated, or trailing bytes of another write")


class SkeletonDataset(Dataset):
    """An mgclr dataset folder, or one split of it, read memory-mapped.

    Args:
        folder: the dataset folder.
        split: ``None`` (every sample), a part (``"train"``) when the dataset has one benchmark, or
            ``"benchmark/part"`` (``"xview/test"``).

    Items are ``(x (C, T, V, M) float32 tensor, length, label)``. Attributes: ``info`` (the dataset's
    description, :class:`~mgclr.data.info.DatasetInfo`), ``layout``, ``class_names``, ``meta``, ``indices``
    (positions in the folder), ``labels`` and ``lengths`` of this split.
    """

    def __init__(self, folder: Union[str, Path], split: Optional[str] = None, *, strict: bool = False) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        if not meta_path.is_file():
            raise DatasetError(f"{meta_path}: missing; is {self.folder} an mgclr dataset (mgclr prepare ...)?")
        try:
            self.meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{meta_path}: not valid JSON: {exc}") from None
        if not isinstance(self.meta, dict):
            raise DatasetError(f"{meta_path}: expected a JSON object, got {type(self.meta).__name__}")
        if self.meta.get("format") != FORMAT_VERSION:
            raise DatasetError(f"{meta_path}: format {self.meta.get('format')!r}, this mgclr reads {FORMAT_VERSION}")
        self.data = _load_npy(self.folder / "data.npy", mmap=True)
        all_labels = _load_npy(self.folder / "labels.npy", mmap=False)
        all_lengths = _load_npy(self.folder / "lengths.npy", mmap=False)
        if self.data.ndim != 5 or self.data.dtype != np.float32:
            raise DatasetError(f"{self.folder / 'data.npy'}: expected (N, C, T, V, M) float32, got "
                               f"{self.data.shape} {self.data.dtype}")
        _check_exact_size(self.folder / "data.npy", self.data)
        N, T = self.data.shape[0], self.data.shape[2]
        if "num_samples" in self.meta and self.meta["num_samples"] != N:
            raise DatasetError(f"{meta_path}: num_samples {self.meta['num_samples']!r}, but data.npy holds {N} (files "
                               f"of two writes mixed?)")
        for name, array in (("labels.npy", all_labels), ("lengths.npy", all_lengths)):
            if array.shape != (N,):
                raise DatasetError(f"{self.folder / name}: expected shape ({N},) like data.npy, got {array.shape}")
            if not np.issubdtype(array.dtype, np.integer):
                raise DatasetError(f"{self.folder / name}: expected integers, got {array.dtype}")
        if N and (all_lengths.min() < 1 or all_lengths.max() > T):
            raise DatasetError(f"{self.folder / 'lengths.npy'}: values outside [1, T={T}] (min {all_lengths.min()}, "
                               f"max {all_lengths.max()})")
        self.info = self._read_info(meta_path)
        if N and (all_labels.min() < 0 or all_labels.max() >= self.info.num_classes):
            raise DatasetError(f"{self.folder / 'labels.npy'}: labels {all_labels.min()}..{all_labels.max()} outside "
                               f"the {self.info.num_classes} classes of meta.json's class_names (0.."
                               f"{self.info.num_classes - 1})")
        self._check_samples(meta_path, N)
        self._check_splits(meta_path, N, strict)
        self._check_values(meta_path)
        self.layout = self.info.layout
        self.class_names = self.info.class_names
        self.indices = self._split_indices(split, N)
        self.labels = all_labels[self.indices]
        self.lengths = all_lengths[self.indices]
        self.split = split

    def _check_samples(self, meta_path: Path, N: int) -> None:
        samples = self.meta.get("samples", {})
        if not isinstance(samples, dict):
            raise DatasetError(f"{meta_path}: samples: expected an object of per-sample columns")
        for name, column in samples.items():
            if not isinstance(column, list) or len(column) != N:
                size = len(column) if isinstance(column, list) else type(column).__name__
                raise DatasetError(f"{meta_path}: samples.{name}: expected a list of {N} values (one per sample), "
                                   f"got {size}")

    def _check_splits(self, meta_path: Path, N: int, strict: bool) -> None:
        splits = self.meta.get("splits", {})
        if not isinstance(splits, dict):
            raise DatasetError(f"{meta_path}: splits: expected an object {{benchmark: {{part: [indices]}}}}")
        for benchmark, parts in splits.items():
            if not isinstance(parts, dict):
                raise DatasetError(f"{meta_path}: splits.{benchmark}: expected an object {{part: [indices]}}")
            members = {}
            for part, indices in parts.items():
                where = f"{meta_path}: splits.{benchmark}.{part}"
                if not isinstance(indices, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                            for i in indices):
                    raise DatasetError(f"{where}: expected a list of integer sample indices")
                bad = [i for i in indices if not 0 <= i < N]
                if bad:
                    raise DatasetError(f"{where}: indices {bad[:5]} outside the {N} samples (0..{N - 1})")
                if len(set(indices)) != len(indices):
                    raise DatasetError(f"{where}: a sample index appears twice")
                members[part] = set(indices)
            names = sorted(members)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    both = members[a] & members[b]
                    if both:
                        text = (f"{meta_path}: splits.{benchmark}: {len(both)} samples are in both {a} and {b} "
                                f"(e.g. {sorted(both)[:5]}): a test on training samples")
                        if strict:
                            raise DatasetError(text)
                        warnings.warn(text + " (strict=True makes this an error)", DatasetWarning, stacklevel=3)

    def _check_values(self, meta_path: Path) -> None:
        """No NaN, inf or absurd magnitude in data.npy: the writer's summary when it still describes the file
        (same size), else a scan in chunks (once, when the dataset is opened)."""
        summary = self.meta.get("values")
        path = self.folder / "data.npy"
        if isinstance(summary, dict) and summary.get("finite") is True and \
                all(summary.get(k) == v for k, v in _file_stamp(path).items()) and \
                isinstance(summary.get("max_abs"), (int, float)) and summary["max_abs"] <= MAX_ABS_VALUE:
            return
        flat = self.data.reshape(-1)
        step = max(1, _SCAN_BYTES // 4)
        for start in range(0, flat.shape[0], step):
            chunk = np.asarray(flat[start:start + step])
            finite = np.isfinite(chunk)
            if not finite.all():
                at = np.unravel_index(start + int(np.flatnonzero(~finite)[0]), self.data.shape)
                raise DatasetError(f"{path}: a non-finite value ({chunk[~finite][0]}) at sample {at[0]}, (C, T, V, M) "
                                   f"= {tuple(int(i) for i in at[1:])}")
            peak = float(np.abs(chunk).max(initial=0.0))
            if peak > MAX_ABS_VALUE:
                where = int(np.argmax(np.abs(chunk) > MAX_ABS_VALUE))
                at = np.unravel_index(start + where, self.data.shape)
                raise DatasetError(f"{path}: a value of magnitude {peak:.3g} at sample {at[0]}, beyond "
                                   f"{MAX_ABS_VALUE:g} (no skeleton format has such coordinates: corrupt data?)")

    def _read_info(self, meta_path: Path) -> DatasetInfo:
        """The description in meta.json, checked against data.npy (a custom layout is read whole from the
        file, never registered: opening a dataset changes no global state)."""
        meta = self.meta
        try:
            custom = meta.get("custom_layout")
            layout = layout_from_spec(custom if custom else meta["layout"], "layout")
            if custom and layout.name != meta["layout"]:
                raise ValueError(f"layout: {meta['layout']!r}, but custom_layout is named {layout.name!r}")
            _, C, T, V, M = self.data.shape
            if layout.num_joints != V:
                raise ValueError(f"layout {layout.name!r} has {layout.num_joints} joints, data.npy has V={V}")
            return DatasetInfo(layout=layout, channels=C, coord_channels=meta.get("coord_channels", min(C, 3)),
                               persons=M, frames=T, class_names=tuple(meta["class_names"]),
                               channel_names=tuple(meta.get("channel_names") or ()), fps=meta.get("fps"),
                               normalise=meta.get("normalise"), source=str(meta_path), axes=meta.get("axes"))
        except KeyError as exc:
            raise DatasetError(f"{meta_path}: {exc.args[0]}: missing") from None
        except ValueError as exc:
            raise DatasetError(f"{meta_path}: {exc}") from None

    def _split_indices(self, split: Optional[str], N: int) -> np.ndarray:
        if split is None:
            return np.arange(N)
        splits = self.meta.get("splits", {})
        if "/" in split:
            benchmark, part = split.split("/", 1)
        elif len(splits) == 1:
            benchmark, part = next(iter(splits)), split
        else:
            raise ValueError(f"split: {self.folder} has benchmarks {sorted(splits)}; name one, e.g. "
                             f"'{next(iter(splits), 'benchmark')}/{split}'")
        if benchmark not in splits or part not in splits[benchmark]:
            known = [f"{b}/{p}" for b, parts in splits.items() for p in parts]
            raise ValueError(f"split: {split!r} is not in {self.folder}; it has {known}")
        return np.asarray(splits[benchmark][part], dtype=np.int64)

    def sample_field(self, name: str) -> List[Any]:
        """A per-sample column of meta["samples"] (id, subject, view, ...) for this split."""
        column = self.meta.get("samples", {}).get(name)
        if column is None:
            known = sorted(self.meta.get("samples", {}))
            raise KeyError(f"{self.folder}: no per-sample field {name!r}; it has {known}")
        return [column[i] for i in self.indices]

    @property
    def shape(self) -> Tuple[int, int, int, int, int]:
        """(N of this split, C, T, V, M)."""
        return (len(self.indices),) + tuple(self.data.shape[1:])

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int, int]:
        j = int(self.indices[i])
        return torch.from_numpy(np.array(self.data[j], dtype=np.float32)), int(self.lengths[i]), int(self.labels[i])
