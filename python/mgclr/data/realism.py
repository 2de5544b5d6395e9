"""The facts measured on iMiGUE that :mod:`mgclr.data.synthetic_mg` matches (its frame rate, clip-length quantiles
and class imbalance; ``"idle"``, the name of its non-micro-gesture clips) and :func:`realism_statistics`, which
measures the statistics of that module's docstring back from generated (or any) data. Re-exported by
:mod:`mgclr.data.synthetic_mg`."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..skeleton import get_layout
from .synthetic import SyntheticMG

__all__ = ["FPS", "IDLE", "IMIGUE_IMBALANCE", "LENGTH_QUANTILES", "realism_statistics"]

FPS = 25.0
IDLE = "idle"  # not a micro-gesture: the subject's idle motion only (iMiGUE's non-MG clips); opt-in via classes
LENGTH_QUANTILES = ((0.10, 20.0), (0.50, 40.0), (0.90, 130.0), (0.99, 391.0))  # iMiGUE clip lengths, 25 fps
IMIGUE_IMBALANCE = 1440.0  # iMiGUE's largest / smallest class count, 2880 / 2


def _present(x: np.ndarray, coord: int) -> np.ndarray:
    return np.any(x[:coord] != 0, axis=0)


def realism_statistics(data: SyntheticMG, reference: str = "idle") -> Dict[str, Any]:
    """The statistics of :mod:`mgclr.data.synthetic_mg`'s docstring measured back from ``data`` (either form;
    any generator whose result has ``subjects``, else one subject), distances in shoulder widths (each subject's
    median):

    * ``duration_quantiles``: of ``durations`` (the drawn clip lengths at 25 fps; ``lengths`` if none);
    * ``amplitude_p90``: each joint's per-frame distance from its subject's median position (the median pose
      of the "video") over the detected frames of the subject's ``idle`` clips (``reference="idle"``: its
      resting pose, the frames between micro-gestures; all its frames for a subject without idle clips) or
      of all its clips (``reference="all"``), pooled over the frames of micro-gesture
      clips (``_in_mg``) or of ``idle`` clips, 90th percentile; of two joints (wrists, elbows) the one farther
      from it on average in that clip (the *moving* one); ``moving_wrist_by_class`` per class;
    * ``within_clip_wrist_rms_median``: per clip, the RMS distance of the moving wrist (larger RMS) from its
      mean over the clip; per class, the median over its clips;
    * 2-D only: ``frames_without_person`` (fraction of valid frames with no point), ``detection_rate`` per
      joint, ``confidence_mean_detected``;
    * ``class_counts``, ``subjects``, ``clips_per_subject``."""
    if reference not in ("all", "idle"):
        raise ValueError(f"reference: expected 'all' or 'idle', got {reference!r}")
    joints = get_layout(data.layout).joint_names
    C = data.coord_channels
    N = len(data.labels)
    xs = data.x[..., 0].astype(np.float64)  # (N, C, T, V)
    subjects = data.subjects if data.subjects is not None else np.zeros(N, dtype=np.int64)
    head = "nose" if "nose" in joints else "head"
    track = {"wrist": ("left_wrist", "right_wrist"), "elbow": ("left_elbow", "right_elbow"), "head": (head,)}
    used = sorted({joints.index(j) for js in track.values() for j in js})
    ls, rs = joints.index("left_shoulder"), joints.index("right_shoulder")

    def points(n: int, v: int) -> np.ndarray:
        clip = xs[n, :C, :data.lengths[n], v]
        return clip[:, np.any(clip != 0, axis=0)]

    unit, median = {}, {}
    for subject in np.unique(subjects):
        members = np.flatnonzero(subjects == subject)
        widths = []
        for n in members:
            clip = xs[n, :C, :data.lengths[n]]
            both = _present(clip, C)[:, ls] & _present(clip, C)[:, rs]
            widths.append(np.linalg.norm(clip[:, both, ls] - clip[:, both, rs], axis=0))
        unit[subject] = float(np.median(np.concatenate(widths)))
        if reference == "idle":
            resting = [n for n in members if data.class_names[data.labels[n]] == IDLE]
            members = resting or members  # a subject without idle clips: all its frames
        for v in used:
            seen = np.concatenate([points(n, v) for n in members], axis=1)
            median[subject, v] = np.median(seen, axis=1, keepdims=True) if seen.shape[1] else np.zeros((C, 1))

    names = data.class_names
    frames: Dict[Tuple[str, int], list] = {}
    within = np.full(N, np.nan)
    for n in range(N):
        for group, js in track.items():
            best, best_mean = None, -1.0
            for j in js:
                p = points(n, joints.index(j))
                if p.shape[1] < 2:
                    continue
                d = np.linalg.norm(p - median[subjects[n], joints.index(j)], axis=0) / unit[subjects[n]]
                if d.mean() > best_mean:
                    best, best_mean = d, d.mean()
                if group == "wrist":
                    rms = float(np.sqrt((np.linalg.norm(p - p.mean(1, keepdims=True), axis=0) ** 2).mean()))
                    within[n] = np.nanmax([within[n], rms / unit[subjects[n]]])
            if best is not None:
                frames.setdefault((group, int(data.labels[n])), []).append(best)

    def pooled(group: str, which) -> Optional[float]:
        got = [d for c in range(len(names)) if which(names[c]) for d in frames.get((group, c), [])]
        return round(float(np.percentile(np.concatenate(got), 90)), 3) if got else None

    def is_mg(c: str) -> bool:
        return c != IDLE

    def is_idle(c: str) -> bool:
        return c == IDLE

    durations = data.durations if data.durations is not None else data.lengths
    per_subject = np.bincount(subjects)[np.unique(subjects)]
    out: Dict[str, Any] = {
        "clips": int(N), "form": "2d" if C == 2 else "3d",
        "duration_quantiles": {f"p{int(q * 100)}": float(np.percentile(durations, q * 100))
                               for q, _ in LENGTH_QUANTILES},
        "amplitude_p90": {f"{g}_{w}": pooled(g, f) for w, f in (("in_mg", is_mg), ("idle", is_idle))
                          for g in ("wrist", "elbow", "head")},
        "moving_wrist_by_class": {c: pooled("wrist", lambda name, c=c: name == c) for c in names},
        "within_clip_wrist_rms_median": {names[c]: round(float(np.nanmedian(within[data.labels == c])), 3)
                                         for c in range(len(names)) if np.isfinite(within[data.labels == c]).any()},
        "class_counts": np.bincount(data.labels, minlength=len(names)).tolist(),
        "subjects": int(len(per_subject)),
        "clips_per_subject": {"median": float(np.median(per_subject)), "max": int(per_subject.max())},
    }
    if C == 2:
        valid = np.arange(xs.shape[2])[None] < data.lengths[:, None]  # (N, T)
        seen = _present(xs.transpose(1, 0, 2, 3), C)[valid]  # (frames, V)
        out["frames_without_person"] = round(float((~seen.any(1)).mean()), 4)
        out["detection_rate"] = {j: round(float(seen[:, v].mean()), 3) for v, j in enumerate(joints)}
        out["confidence_mean_detected"] = round(float(xs[:, 2][valid][seen].mean()), 3)
    return out
