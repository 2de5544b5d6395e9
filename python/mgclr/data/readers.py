"""Other codebases' dataset files, read into an :class:`~mgclr.data.ArrayDataset`: ISC / SkeletonCLR / AimCLR /
2s-AGCN's ``.npy`` + ``.pkl`` (:func:`read_skeletonclr`) and pyskl's annotation pickles (:func:`read_pyskl`),
through a pickle reader that loads data and nothing that runs code. Re-exported by :mod:`mgclr.data.format`."""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from .errors import DatasetError, _load_npy

__all__ = ["PYSKL_IMAGE_SHAPE", "read_pyskl", "read_skeletonclr"]


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles plain containers, numbers, strings, bytes and NumPy arrays, and nothing that runs code; an
    array asks for no more memory than ``max_bytes`` (an honest pickle carries its arrays' bytes, so a file
    cannot hold an array larger than itself: ``_reconstruct(ndarray, (10**13,), 'b')`` is refused, not
    allocated).

    Every protocol is read. Protocols 0-2 (``mmcv.dump``'s default, so every pyskl ``tools/data`` file) store
    bytes -- an array's data among them -- as ``_codecs.encode(text, "latin1")``: that one call is allowed,
    with exactly those argument types and that codec (a text codec cannot reach anything else). Protocol 5
    stores arrays through NumPy's ``_frombuffer`` on bytes the file holds."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("builtins", "set"), ("builtins", "frozenset"),
               ("collections", "OrderedDict"), ("_codecs", "encode"), ("numpy.core.numeric", "_frombuffer"),
               ("numpy._core.numeric", "_frombuffer")}

    def __init__(self, file, max_bytes: int) -> None:
        super().__init__(file)
        self.max_bytes = max_bytes

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name} (only data is read from these files)")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        found = super().find_class(module, name)
        if name == "_frombuffer":
            return _frombuffer_of_bytes(found)
        if name != "_reconstruct":
            return found
        limit = self.max_bytes

        def bounded_reconstruct(subtype, shape, dtype):
            try:
                count = int(np.prod([int(n) for n in shape], dtype=object)) if np.ndim(shape) else int(shape)
                nbytes = count * np.dtype(dtype).itemsize
            except (TypeError, ValueError) as exc:
                raise pickle.UnpicklingError(f"an array of shape {shape!r}, dtype {dtype!r}: {exc}") from None
            if count < 0 or nbytes > limit:
                raise pickle.UnpicklingError(f"an array of shape {tuple(shape) if np.ndim(shape) else shape} and dtype "
                                             f"{dtype!r} ({nbytes} bytes) is larger than the file ({limit} bytes)")
            return found(subtype, shape, dtype)

        return bounded_reconstruct


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """``_codecs.encode`` as protocols 0-2 use it for bytes: a str and the latin-1 codec, nothing else."""
    if not isinstance(text, str) or not isinstance(encoding, str) or \
            encoding.lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}) (protocol 0-2 "
                                     f"bytes are encode(str, 'latin1'))")
    return text.encode("latin1")


def _frombuffer_of_bytes(frombuffer):
    def checked(buffer, dtype, shape, order):
        if not isinstance(buffer, (bytes, bytearray, memoryview, pickle.PickleBuffer)):
            raise pickle.UnpicklingError(f"refusing _frombuffer over a {type(buffer).__name__}")
        return frombuffer(buffer, dtype, shape, order)

    return checked


def _safe_pickle(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(f"{path}: missing")
    try:
        with open(path, "rb") as fh:
            return _SafeUnpickler(io.BufferedReader(fh), max_bytes=path.stat().st_size).load()
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError, TypeError, MemoryError,
            RecursionError) as exc:
        raise DatasetError(f"{path}: cannot be read: {type(exc).__name__}: {exc}") from None


def read_skeletonclr(folder: Union[str, Path], part: str = "train"):
    """ISC / SkeletonCLR / AimCLR / 2s-AGCN files: ``{part}_data_joint.npy`` (N, C, T, V, M) (memory-mapped),
    ``{part}_label.pkl`` ((sample names, labels)), ``{part}_num_frame.npy`` (N,) when present (else each
    sample's length is its last frame with a non-zero value). Returns an :class:`~mgclr.data.ArrayDataset`."""
    from .arrays import ArrayDataset

    folder = Path(folder)
    data = _load_npy(folder / f"{part}_data_joint.npy", mmap=True)
    if data.ndim != 5:
        raise DatasetError(f"{folder / f'{part}_data_joint.npy'}: expected (N, C, T, V, M), got {data.shape}")
    labels_file = folder / f"{part}_label.pkl"
    content = _safe_pickle(labels_file)
    if not (isinstance(content, (tuple, list)) and len(content) == 2):
        raise DatasetError(f"{labels_file}: expected a (sample names, labels) pair, got {type(content).__name__}")
    labels = _integer_labels(content[1], labels_file)
    if labels.shape != (data.shape[0],):
        raise DatasetError(f"{labels_file}: {labels.shape[0]} labels for {data.shape[0]} samples in the data file")
    frames_file = folder / f"{part}_num_frame.npy"
    if frames_file.is_file():
        lengths = _load_npy(frames_file, mmap=False)
        if lengths.shape != (data.shape[0],) or not np.issubdtype(lengths.dtype, np.integer):
            raise DatasetError(f"{frames_file}: expected {data.shape[0]} integer frame counts, got {lengths.shape} "
                               f"{lengths.dtype}")
        bad = np.flatnonzero((lengths < 1) | (lengths > data.shape[2]))
        if len(bad):
            raise DatasetError(f"{frames_file}: sample {bad[0]} has {lengths[bad[0]]} frames, outside 1..T="
                               f"{data.shape[2]} of the data file ({len(bad)} such samples)")
        lengths = lengths.astype(np.int64)
    else:
        lengths = np.empty(data.shape[0], dtype=np.int64)
        for n in range(data.shape[0]):
            moving = np.flatnonzero(np.abs(np.asarray(data[n])).sum(axis=(0, 2, 3)) > 0)
            lengths[n] = moving[-1] + 1 if len(moving) else 1
    return ArrayDataset(data, lengths, labels)


def _integer_labels(values: Any, file: Path) -> np.ndarray:
    """Labels as int64, refusing what a cast would change (1.5, -1, True)."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{file}: labels: {exc}") from None
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DatasetError(f"{file}: expected integer labels, got {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise DatasetError(f"{file}: expected integer labels, got non-integral values such as "
                           f"{array[~(np.isfinite(array) & (array == np.round(array)))][0]}")
    if array.size and array.min() < 0:
        raise DatasetError(f"{file}: labels must be >= 0, got {array.min()}")
    return array.astype(np.int64)


PYSKL_IMAGE_SHAPE = (1080, 1920)  # pyskl's PreNormalize2D default (h, w) for an annotation without img_shape
_PYSKL_NORMALISE = ("pyskl", None)


def read_pyskl(path: Union[str, Path], split: Optional[str], frames: Optional[int] = None,
               normalise: Optional[str] = "pyskl"):
    """A pyskl annotation pickle -> :class:`~mgclr.data.ArrayDataset` of the samples of ``split`` (None: all),
    zero-padded to ``frames`` (default: the longest).

    The file (as pyskl's ``tools/data`` write it, through ``mmcv.dump``: pickle protocol 2, or any later one):
    ``{"split": {name: [frame_dir, ...]}, "annotations": [{"frame_dir", "label", "img_shape" (h, w),
    "original_shape", "total_frames", "keypoint" (M, T, V, C), "keypoint_score" (M, T, V)}]}``. 2-D keypoints
    get the score as a third channel (``coord_channels`` 2).

    ``normalise="pyskl"`` (default) does what pyskl's ``PreNormalize2D`` feeds its models: 2-D pixels become
    ``x' = (x - w/2) / (w/2)``, ``y' = (y - h/2) / (h/2)`` with each clip's own ``img_shape`` (pyskl's default
    1080 x 1920 when absent), so every clip spans [-1, 1] whatever its image size; y still grows downward
    (the dataset's ``axes`` say so: up is -y). One departure: a point at exactly (0, 0) with score 0 (nobody
    detected, or a padded person) stays 0, mgclr's mark of a missing point, where pyskl would move it to
    (-1, -1). ``normalise=None`` keeps the pixels. 3-D keypoints (pyskl's NTU ``3danno`` files: Kinect camera
    space, metres) are kept as they are. Per-sample fields: ``id`` (``frame_dir``) and ``img_shape``."""
    from .arrays import ArrayDataset
    from .axes import IMAGE, KINECT

    path = Path(path)
    if normalise not in _PYSKL_NORMALISE:
        raise ValueError(f"normalise: expected 'pyskl' or None, got {normalise!r}")
    content = _safe_pickle(path)
    if not isinstance(content, dict) or "annotations" not in content:
        raise DatasetError(f"{path}: expected a dict with 'annotations' (a pyskl annotation file)")
    names = None
    if split is not None:
        splits = content.get("split", {})
        if split not in splits:
            raise ValueError(f"split: {split!r} is not in {path}; it has {sorted(splits)}")
        names = set(splits[split])
    items = [a for a in content["annotations"] if names is None or a.get("frame_dir") in names]
    if not items:
        raise DatasetError(f"{path}: no annotation in split {split!r}")
    arrays, lengths, labels, ids, shapes = [], [], [], [], []
    coord_channels = None
    for i, a in enumerate(items):
        try:
            kp, shape = _pyskl_keypoints(a, normalise)
            if coord_channels is not None and kp.shape[0] != arrays[0].shape[0]:
                raise ValueError(f"keypoint: C={kp.shape[0]} (with scores), the first annotation has "
                                 f"{arrays[0].shape[0]}")
            coord_channels = coord_channels or (2 if "keypoint_score" in a or kp.shape[0] == 2 else 3)
            arrays.append(kp)
            total = a.get("total_frames", kp.shape[1])
            if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or not 1 <= total <= kp.shape[1]:
                raise ValueError(f"total_frames: expected an integer in 1..{kp.shape[1]} (the keypoint frames), got "
                                 f"{total!r}")
            lengths.append(int(total))
            labels.append(a["label"])
            ids.append(str(a.get("frame_dir", i)))
            shapes.append(shape)
        except (KeyError, ValueError, TypeError) as exc:
            what = f"{exc.args[0]}: missing" if isinstance(exc, KeyError) else str(exc)
            raise DatasetError(f"{path}: annotation {i} ({a.get('frame_dir', '?') if isinstance(a, dict) else '?'}): "
                               f"{what}") from None
    C, V = arrays[0].shape[0], arrays[0].shape[2]
    T = frames or max(x.shape[1] for x in arrays)
    M = max(x.shape[3] for x in arrays)
    x = np.zeros((len(arrays), C, T, V, M), dtype=np.float32)
    for n, a in enumerate(arrays):
        if a.shape[2] != V:
            raise DatasetError(f"{path}: annotation {n} ({ids[n]}) has V={a.shape[2]} keypoints, the first has {V}")
        t = min(a.shape[1], T)
        x[n, :, :t, :, :a.shape[3]] = a[:, :t]
        lengths[n] = min(lengths[n], t)  # frames= cut the sample
    return ArrayDataset(x, np.asarray(lengths, dtype=np.int64), _integer_labels(labels, path), coord_channels,
                        axes=IMAGE if coord_channels == 2 else KINECT, samples={"id": ids, "img_shape": shapes})


def _pyskl_keypoints(a: Any, normalise: Optional[str]) -> Tuple[np.ndarray, List[float]]:
    """One annotation's keypoints as (C, T, V, M) float32 (scores as the last channel), normalised, and the
    (h, w) it was normalised by."""
    if not isinstance(a, dict):
        raise TypeError(f"expected a dict, got {type(a).__name__}")
    kp = np.asarray(a["keypoint"], dtype=np.float32)
    if kp.ndim != 4 or kp.shape[-1] not in (2, 3):
        raise ValueError(f"keypoint: expected (M, T, V, C) with C 2 or 3, got shape {kp.shape}")
    shape = a.get("img_shape", PYSKL_IMAGE_SHAPE)
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2 and
            all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and
                math.isfinite(v) and v > 0 for v in shape)):
        raise ValueError(f"img_shape: expected (height, width) in pixels, got {shape!r}")
    h, w = float(shape[0]), float(shape[1])
    if kp.shape[-1] == 2:
        score = None
        if "keypoint_score" in a:
            score = np.asarray(a["keypoint_score"], dtype=np.float32)
            if score.shape != kp.shape[:3]:
                raise ValueError(f"keypoint_score: expected shape {kp.shape[:3]} (M, T, V of keypoint), got "
                                 f"{score.shape}")
        missing = (kp == 0).all(axis=-1) & (score == 0 if score is not None else True)
        if normalise == "pyskl":
            kp = np.stack([(kp[..., 0] - w / 2) / (w / 2), (kp[..., 1] - h / 2) / (h / 2)], axis=-1)
            kp[missing] = 0.0
        if score is not None:
            kp = np.concatenate([kp, score[..., None]], axis=-1)
    elif "keypoint_score" in a:
        raise ValueError(f"keypoint_score: given with 3-D keypoints {kp.shape}; pyskl pairs scores with 2-D ones")
    if not np.isfinite(kp).all():
        raise ValueError("keypoint: holds NaN or inf")
    return np.ascontiguousarray(kp.transpose(3, 1, 2, 0)), [h, w]  # (M, T, V, C) -> (C, T, V, M)
