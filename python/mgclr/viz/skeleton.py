"""Skeleton sequences as pictures: a strip of frames (PNG) and an animation (GIF, or MP4 through ffmpeg).

Coordinates are first turned into mgclr's canonical frame (:mod:`mgclr.data.axes`: x to the person's left,
i.e. the viewer's right for a person facing the camera, y up and, in 3-D, z the way the person faces) from the
axes the data declares (``axes``: a dataset's ``meta["axes"]``; None: already canonical). 2-D data
(``coord_channels == 2``: iMiGUE's OpenPose x, y) is then drawn as it is; 3-D data is turned by a fixed view
(``azimuth`` about the vertical axis, then ``elevation``) and projected orthographically, the same view for
every frame and every panel so that motion, not the camera, moves. Each person has its own colour; a joint
absent from a frame (all its coordinates zero, as the converters write an undetected joint, a missing person
or padding) is not drawn there, nor are its bones. Axis limits cover the whole valid sequence, so a panel
shows where the body moved.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._files import atomic_path
from ..data.axes import canonical_matrix
from ..skeleton import Layout, get_layout
from . import plots

__all__ = ["PERSON_COLOURS", "animate", "draw_skeleton", "ffmpeg_available", "frame_strip", "project", "sample_frames"]

PERSON_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")
DEFAULT_VIEW = (10.0, 25.0)  # (elevation, azimuth) in degrees


def project(x: np.ndarray, coord_channels: int, view: Tuple[float, float] = DEFAULT_VIEW,
            axes: Optional[Mapping[str, Any]] = None) -> np.ndarray:
    """``x (C, T, V, M)`` -> ``(T, V, M, 2)`` screen coordinates (right, up): the coordinates in the canonical
    frame (from ``axes``, the data's declared axes; None: canonical already), then 2-D data as it is, 3-D data
    turned by ``view = (elevation, azimuth)`` degrees and projected orthographically."""
    x = np.asarray(x, dtype=np.float64)
    if axes is not None:
        x = np.einsum("ij,j...->i...", canonical_matrix(axes, coord_channels), x[:coord_channels])
    if coord_channels == 2:
        return np.stack([x[0], x[1]], axis=-1)
    elevation, azimuth = (math.radians(a) for a in view)
    px, py, pz = x[0], x[1], x[2]
    # about the vertical axis, then tilt toward the viewer
    rx = px * math.cos(azimuth) + pz * math.sin(azimuth)
    rz = -px * math.sin(azimuth) + pz * math.cos(azimuth)
    ry = py * math.cos(elevation) - rz * math.sin(elevation)
    return np.stack([rx, ry], axis=-1)


def _present(x: np.ndarray, coord_channels: int) -> np.ndarray:
    """(T, V, M) bool: the joint has a non-zero coordinate (an undetected joint, a missing person or a padded
    frame is all zero, as the converters write them)."""
    return np.abs(np.asarray(x)[:coord_channels]).sum(axis=0) > 0


def sample_frames(length: int, count: int) -> List[int]:
    """``count`` frame indices spread evenly over ``[0, length)`` (first and last included; fewer if shorter)."""
    count = max(1, min(int(count), int(length)))
    return sorted({int(round(i * (length - 1) / max(count - 1, 1))) for i in range(count)})


def _limits(points: np.ndarray, present: np.ndarray, margin: float = 0.08):
    """Square limits around every drawn point of the sequence (``points (T, V, M, 2)``, ``present (T, V, M)``)."""
    shown = points[present] if present.any() else points.reshape(-1, 2)
    lo, hi = shown.min(axis=0), shown.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-6) * (1 + margin)
    return (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half)


def draw_skeleton(ax, points: np.ndarray, present: np.ndarray, layout: Layout, *, alpha: float = 1.0,
                  linewidth: float = 1.6, joint_size: float = 6.0) -> None:
    """One frame: ``points (V, M, 2)``, ``present (V, M)``; bones between present joints as lines, present joints
    as dots, a colour per person (an undetected joint and its bones are not drawn)."""
    for m in range(points.shape[1]):
        seen = present[:, m]
        if not seen.any():
            continue
        colour = PERSON_COLOURS[m % len(PERSON_COLOURS)]
        for child, parent in layout.bones:
            if seen[child] and seen[parent]:
                ax.plot(points[[child, parent], m, 0], points[[child, parent], m, 1], color=colour,
                        linewidth=linewidth, alpha=alpha, solid_capstyle="round")
        ax.scatter(points[seen, m, 0], points[seen, m, 1], s=joint_size, color=colour, alpha=alpha, zorder=3,
                   linewidths=0)


def _panel(ax, limits) -> None:
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("0.85")


def frame_strip(x: np.ndarray, length: int, layout: Union[str, Layout], path: Union[str, Path], *,
                frames: int = 8, coord_channels: int = 3, fps: Optional[float] = None, title: Optional[str] = None,
                view: Tuple[float, float] = DEFAULT_VIEW, axes: Optional[Mapping[str, Any]] = None) -> Path:
    """A PNG of ``frames`` frames of one sequence ``x (C, T, V, M)`` (valid frames ``[0, length)``) side by side,
    each labelled with its frame index (and time, given ``fps``); ``axes``: the data's declared axes."""
    plots.require("frame_strip")
    layout = get_layout(layout)
    x, length = np.asarray(x), int(length)
    points, present = project(x, coord_channels, view, axes)[:length], _present(x, coord_channels)[:length]
    limits = _limits(points, present)
    picked = sample_frames(length, frames)
    plt = plots.pyplot()
    fig, axes = plt.subplots(1, len(picked), figsize=(1.6 * len(picked) + 0.4, 2.3), squeeze=False)
    for ax, t in zip(axes[0], picked):
        draw_skeleton(ax, points[t], present[t], layout)
        _panel(ax, limits)
        ax.set_title(f"frame {t}" + (f"\n{t / fps:.2f} s" if fps else ""), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    plots.save_png(fig, Path(path))
    plt.close(fig)
    return Path(path)


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def animate(panels: Sequence[Tuple[np.ndarray, int]], layout: Union[str, Layout], path: Union[str, Path], *,
            coord_channels: int = 3, fps: float = 15.0, titles: Optional[Sequence[str]] = None,
            suptitle: Optional[str] = None, view: Tuple[float, float] = DEFAULT_VIEW, columns: Optional[int] = None,
            max_frames: int = 120, axes: Optional[Mapping[str, Any]] = None) -> Path:
    """An animation of one or more sequences side by side, ``panels = [(x (C, T, V, M), length), ...]``, played
    together (each holds its last valid frame once it ends). The suffix of ``path`` picks the format: ``.gif``
    (Pillow) or ``.mp4`` (needs ``ffmpeg`` on PATH). At most ``max_frames`` frames, evenly sampled."""
    plots.require("animate")
    from matplotlib import animation

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"path: expected a .gif or .mp4 file, got {path}")
    if suffix == ".mp4" and not ffmpeg_available():
        raise RuntimeError("an MP4 needs ffmpeg on PATH (not found); write a .gif instead")
    layout = get_layout(layout)
    prepared = []
    for x, length in panels:
        x = np.asarray(x)
        points, present = (project(x, coord_channels, view, axes)[:int(length)],
                           _present(x, coord_channels)[:int(length)])
        prepared.append((points, present, _limits(points, present)))
    longest = max(len(p[0]) for p in prepared)
    steps = sample_frames(longest, max_frames)
    columns = columns or min(len(prepared), 5)
    rows = math.ceil(len(prepared) / columns)
    plt = plots.pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.4 * rows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for ax in axes.flat[len(prepared):]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)

    def draw(step: int):
        t = steps[step]
        for i, (points, present, limits) in enumerate(prepared):
            ax = axes.flat[i]
            ax.clear()
            frame = min(t, len(points) - 1)
            draw_skeleton(ax, points[frame], present[frame], layout)
            _panel(ax, limits)
            head = titles[i] if titles else ""
            ax.set_title(f"{head}\nframe {frame}" if head else f"frame {frame}", fontsize=8)
        return []

    fig.tight_layout()
    movie = animation.FuncAnimation(fig, draw, frames=len(steps), blit=False)
    writer = animation.PillowWriter(fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
    with atomic_path(path) as tmp:
        movie.save(str(tmp), writer=writer, dpi=80)
    plt.close(fig)
    return path
