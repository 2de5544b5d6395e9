"""Predicted MG timelines: a trained recognizer slid over a long skeleton sequence.

The recognizer (:class:`mgclr.train.recognizer.Recognizer`, or any module with ``class_names`` whose
``forward(x (N, C, T, V, M), lengths (N,))`` returns class probabilities) scores windows of ``window``
frames every ``stride`` frames (the last window ends at the sequence's end, so every frame is seen).
Overlapping detections are merged per frame: a frame's scores are the mean of the windows covering it, its
class the argmax; runs of one class at least ``min_frames`` long whose mean top probability is at least
``threshold`` become MGs, and MGs of one class separated by at most ``join_gap`` frames (once shorter runs
are gone) are joined. A class named ``non_mg`` (iMiGUE's non-MG class, label 99) is background
(:data:`~mgclr.emotion.timeline.BACKGROUND_NAMES`).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..data.normalise import NormalisationError, apply_normalisation, check_normalise_spec, is_normalised
from .timeline import BACKGROUND_NAMES, MGEvent, Timeline

__all__ = ["INPUT_MODES", "frame_scores", "load_sequence", "merge_frames", "normalise_video", "predict_timeline",
           "resolve_fps", "window_starts"]

INPUT_MODES = ("auto", "raw", "normalised")


def window_starts(length: int, window: int, stride: int) -> List[int]:
    """Start frames of the windows over ``length`` frames: 0, stride, ... and one ending at the last frame."""
    if length < 1 or window < 1 or stride < 1:
        raise ValueError(f"length, window, stride: expected >= 1, got {length}, {window}, {stride}")
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


@torch.no_grad()
def frame_scores(recognizer, x: torch.Tensor, length: int, window: int, stride: int, batch_size: int = 64,
                 device: Union[str, torch.device] = "cpu", window_normalise: Optional[dict] = None) -> torch.Tensor:
    """Per-frame class scores ``(length, K)``: the mean of the probabilities of the windows covering each
    frame. ``x``: one sequence ``(C, T, V, M)`` with ``T >= length``; ``window_normalise``: a per-sample
    normalisation spec applied to each window first (see :func:`normalise_video`)."""
    starts = window_starts(length, window, stride)
    K = len(recognizer.class_names)
    total = torch.zeros(length, K, dtype=torch.float64)
    count = torch.zeros(length, 1, dtype=torch.float64)
    for i in range(0, len(starts), batch_size):
        chunk = starts[i:i + batch_size]
        span = min(window, length)
        windows = [x[:, s:s + span] for s in chunk]
        if window_normalise is not None:
            windows = [torch.from_numpy(apply_normalisation(w.numpy(), window_normalise).astype(np.float32))
                       for w in windows]
        batch = torch.stack(windows).to(device)
        lengths = torch.full((len(chunk),), span, dtype=torch.int64, device=device)
        probs = recognizer(batch, lengths).double().cpu()
        if probs.shape != (len(chunk), K):
            raise ValueError(f"recognizer: expected probabilities of shape {(len(chunk), K)}, got {tuple(probs.shape)}")
        for s, p in zip(chunk, probs):
            total[s:s + span] += p
            count[s:s + span] += 1
    return (total / count).float()


def merge_frames(scores: torch.Tensor, class_names: Sequence[str], threshold: float = 0.5, min_frames: int = 8,
                 join_gap: int = 0, background: Optional[Sequence[int]] = None) -> List[MGEvent]:
    """MG events from per-frame scores ``(T, K)`` (see the module docstring); ``background``: class indices
    that are never events (default: those named in :data:`~mgclr.emotion.timeline.BACKGROUND_NAMES`)."""
    if scores.ndim != 2 or scores.shape[1] != len(class_names):
        raise ValueError(f"scores: expected (T, {len(class_names)}), got {tuple(scores.shape)}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: expected a probability in [0, 1], got {threshold}")
    if background is None:
        background = [k for k, n in enumerate(class_names) if n in BACKGROUND_NAMES]
    top, cls = scores.max(dim=1)
    cls = cls.tolist()
    top = top.tolist()
    runs: List[Tuple[int, int, int]] = []  # (class, start, end inclusive)
    start = 0
    for t in range(1, len(cls) + 1):
        if t == len(cls) or cls[t] != cls[start]:
            runs.append((cls[start], start, t - 1))
            start = t
    # Short runs go before joining, so that a brief flicker of another class between two detections of one
    # MG does not keep them apart.
    kept = [(c, s, e) for c, s, e in runs
            if c not in background and e - s + 1 >= min_frames and float(np.mean(top[s:e + 1])) >= threshold]
    joined: List[Tuple[int, int, int]] = []
    for c, s, e in kept:
        if joined and joined[-1][0] == c and s - joined[-1][2] - 1 <= join_gap:
            joined[-1] = (c, joined[-1][1], e)
        else:
            joined.append((c, s, e))
    return [MGEvent(c, class_names[c], s, e, float(np.mean(top[s:e + 1]))) for c, s, e in joined]


def predict_timeline(recognizer, x: torch.Tensor, *, video: str, fps: float, length: Optional[int] = None,
                     window: int = 64, stride: int = 16, threshold: float = 0.5, min_frames: int = 8,
                     join_gap: int = 0, batch_size: int = 64, device: Union[str, torch.device] = "cpu",
                     window_normalise: Optional[dict] = None) -> Timeline:
    """The predicted timeline of one long sequence ``x (C, T, V, M)`` (``length`` valid frames, default T);
    ``window_normalise`` as :func:`frame_scores`."""
    if x.ndim != 4:
        raise ValueError(f"x: expected one sequence (C, T, V, M), got shape {tuple(x.shape)}")
    T = x.shape[1]
    length = T if length is None else int(length)
    if not 1 <= length <= T:
        raise ValueError(f"length: expected 1..{T} (the sequence's frames), got {length}")
    scores = frame_scores(recognizer, x, length, window, stride, batch_size, device, window_normalise)
    events = merge_frames(scores, recognizer.class_names, threshold, min_frames, join_gap)
    return Timeline(video, fps, events, num_frames=length, source="predicted")


def normalise_video(x: torch.Tensor, length: int, spec: Optional[dict], mode: str = "auto"
                    ) -> Tuple[torch.Tensor, Optional[dict], str]:
    """Bring a whole video ``x (C, T, V, M)`` into the coordinates of the recognizer's training samples, as
    its dataset's normalisation ``spec`` (:mod:`mgclr.data.normalise`) says. ``mode``: ``"raw"`` (normalise),
    ``"normalised"`` (the input already is), or ``"auto"`` (normalise unless the ``length`` valid frames
    already show the normalisation's signature, :func:`~mgclr.data.normalise.is_normalised`). A per-video
    spec (iMiGUE's) is applied here, to the valid frames; a per-sample one (centring on a joint, 2s-AGCN) is
    returned, to be applied to every window as training applied it to every clip (``predict_timeline``'s
    ``window_normalise``). Returns (x, the per-window spec or None, what was done in words)."""
    if mode not in INPUT_MODES:
        raise ValueError(f"input: expected one of {', '.join(INPUT_MODES)}, got {mode!r}")
    spec = check_normalise_spec(spec)
    if spec is None:
        if mode == "raw":
            raise ValueError("--input raw: the recognizer's training data records no normalisation to apply (its "
                             "dataset has no meta['normalise']); give the skeletons as they were in that dataset")
        return x, None, "used as given (the training data records no normalisation)"
    valid = x[:, :length].numpy()
    if mode == "normalised" or (mode == "auto" and is_normalised(valid, spec)):
        reason = "--input normalised" if mode == "normalised" else "already normalised"
        return x, None, f"used as given ({reason}: {spec['kind']})"
    if spec["scope"] == "sample":
        return x, spec, f"each window normalised as the training clips were ({spec['kind']})"
    try:
        out = x.clone()
        out[:, :length] = torch.from_numpy(apply_normalisation(valid, spec).astype(np.float32))
    except NormalisationError as exc:
        raise ValueError(f"skeletons: cannot apply the training data's normalisation ({spec['kind']}): {exc}") from None
    return out, None, f"normalised as the training videos were ({spec['kind']}, per video)"


def load_sequence(path: Union[str, Path], num_joints: Optional[int] = None, channels: int = 3
                  ) -> Tuple[torch.Tensor, int, Optional[float]]:
    """One long skeleton sequence from ``.npy`` (``(C, T, V, M)`` or ``(C, T, V)``) or ``.npz`` (array ``x``
    of that shape, optional ``length`` and ``fps``). Returns (x float32 (C, T, V, M), valid length, fps or
    None); without ``length``, trailing all-zero frames are padding. Checks C = ``channels`` and V =
    ``num_joints`` (the recognizer's data), finite values; an array that looks like ``(T, V, C)`` or ``(T, V,
    C, M)`` -- frames first, as pose estimators write them -- is refused with the transpose that fixes it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"skeletons: {path} does not exist")
    fps = None
    length = None
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "x" not in f:
                    raise ValueError(f"skeletons: {path}: expected an array 'x' in the .npz, found {sorted(f.files)}")
                arr = f["x"]
                length = int(f["length"]) if "length" in f else None
                fps = float(f["fps"]) if "fps" in f else None
        else:
            arr = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:
        if str(exc).startswith("skeletons:"):
            raise
        raise ValueError(f"skeletons: {path} cannot be read as a NumPy array: {exc}") from None
    expected = f"({channels}, T, {num_joints if num_joints is not None else 'V'}[, M])"
    if arr.ndim in (3, 4) and arr.shape[0] != channels and _frames_first(arr.shape, channels, num_joints):
        order = "(T, V, C)" if arr.ndim == 3 else "(T, V, C, M)"
        fix = "x.transpose(2, 0, 1)" if arr.ndim == 3 else "x.transpose(2, 0, 1, 3)"
        raise ValueError(f"skeletons: {path}: shape {arr.shape} looks like {order}, frames first; expected "
                         f"{expected} -- transpose? ({fix})")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[0] != channels:
        raise ValueError(f"skeletons: {path}: expected shape {expected} (C = the recognizer's channels), got "
                         f"{arr.shape}")
    if num_joints is not None and arr.shape[2] != num_joints:
        raise ValueError(f"skeletons: {path}: V = {arr.shape[2]} joints, the recognizer's layout has {num_joints}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"skeletons: {path}: expected a numeric array, got dtype {arr.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).any(dim=(0, 2, 3)).nonzero()[0])
        raise ValueError(f"skeletons: {path}: non-finite values (first at frame {bad})")
    if length is None:
        nonzero = x.abs().sum(dim=(0, 2, 3)).nonzero()
        length = int(nonzero[-1]) + 1 if len(nonzero) else 0
    if not 1 <= length <= x.shape[1]:
        raise ValueError(f"skeletons: {path}: expected 1..{x.shape[1]} valid frames, got {length}")
    return x, length, fps


def resolve_fps(path: Union[str, Path], file_fps: Optional[float], fps: Optional[float] = None,
                training_fps: Optional[float] = None) -> Tuple[float, Optional[str]]:
    """The frame rate of the video in ``path``, and a note when it is not the training data's.

    ``file_fps`` is what the file says (:func:`load_sequence`'s third value; None: it says nothing), ``fps``
    what the caller gives (``mgclr recognize --fps``): needed when the file says nothing, refused when it
    disagrees with the file (beyond 1e-6 relative). ``training_fps`` is the frame rate of the recognizer's
    training data (``recognizer.info.fps``, None if unknown): more than 1 % away from it, the note says how
    many times as many frames an MG lasts there -- windows are in frames, so the recognizer sees MGs
    stretched or squeezed. Returns (the frame rate, the note or None); raises ValueError naming ``--fps``."""
    if file_fps is not None and fps is not None and abs(file_fps - fps) > 1e-6 * file_fps:
        raise ValueError(f"--fps: {fps:g}, but {path} says its frame rate is {file_fps:g}; leave --fps out "
                         f"or fix the file")
    fps = file_fps if file_fps is not None else fps
    if fps is None:
        raise ValueError(f"--fps: {path} does not say its frame rate; give --fps")
    note = None
    if training_fps is not None and abs(fps - training_fps) > 0.01 * training_fps:
        note = (f"{path} is {fps:g} fps, the recognizer's training data {training_fps:g} fps: an MG lasts "
                f"{training_fps / fps:.2f} x as many frames there (windows are in frames)")
    return fps, note


def _frames_first(shape: Tuple[int, ...], channels: int, num_joints: Optional[int]) -> bool:
    """``(T, V, C[, M])``: channels third, and joints second when V is known."""
    return shape[2] == channels and (num_joints is None or shape[1] == num_joints)
