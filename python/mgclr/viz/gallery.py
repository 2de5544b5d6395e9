"""An augmentation gallery: one sample and N augmented views of it, each with the parameters drawn for it.

The views come from a pipeline in two-view mode (the pair a MoCo step sees: views 1 and 2 are one call's q and
k, views 3 and 4 the next call's, ...), its parameters from ``return_params=True`` and
:meth:`~mgclr.ops.AugmentParams.fields`: what ``stretch`` multiplied by, where ``repeat_clip`` cut, which
joints ``coordinate_perturbation`` moved, and whether each op was applied at all (its probability ``p``). All
rows share the axis limits, so a change of scale or position shows as one.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch

from ..augment import Pipeline
from ..ops import AugmentParams
from ..skeleton import Layout, get_layout
from . import plots
from .skeleton import DEFAULT_VIEW, _limits, _panel, _present, animate, draw_skeleton, project, sample_frames

__all__ = ["augment_views", "augmentation_gallery", "describe_params"]


def _format_value(name: str, value: torch.Tensor, layout: Layout) -> Optional[str]:
    if value.dim() == 0:
        v = value.item()
        if isinstance(v, bool):
            return f"{name} {'yes' if v else 'no'}"
        return f"{name} {v:.3g}" if isinstance(v, float) else f"{name} {v}"
    flat = value.flatten()
    if flat.dtype == torch.bool:
        chosen = flat.nonzero().flatten().tolist()
        if len(flat) == layout.num_joints:
            return f"{name} " + (", ".join(layout.joint_names[j] for j in chosen) or "none")
        return f"{name} {chosen}"
    items = flat.tolist()
    while len(items) > 1 and items[-1] == 0:  # unused slots of fixed-size records
        items.pop()
    if len(items) == 9 and name == "matrix":
        rows = [" ".join(f"{v:.2f}" for v in items[r * 3:r * 3 + 3]) for r in range(3)]
        return f"{name} [" + " | ".join(rows) + "]"
    shown = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in items]
    return f"{name} [{', '.join(shown)}]"


def describe_params(params: AugmentParams, view: int, sample: int, layout: Union[str, Layout]) -> List[str]:
    """One line per op of one view of one sample: ``op: field value, ...``, or ``op: not applied``."""
    layout = get_layout(layout)
    lines = []
    for j, op in enumerate(params.op_names):
        fields = params.fields(j, view)
        if not bool(fields["applied"][sample]):
            lines.append(f"{op}: not applied")
            continue
        parts = [_format_value(name, value[sample], layout) for name, value in fields.items()
                 if name not in ("applied", "input_length")]
        lines.append(f"{op}: " + ", ".join(p for p in parts if p))
    return lines


def augment_views(pipeline: Pipeline, x: np.ndarray, length: int, views: int, seed: int = 0
                  ) -> List[Tuple[np.ndarray, int, AugmentParams, int]]:
    """``views`` augmented versions of one sample ``x (C, T, V, M)``: ``[(view, its length, params, index of the
    view in params)]``, from ``ceil(views / 2)`` two-view calls (seeds ``seed``, ``seed + 1``, ...) or
    ``views`` one-view calls."""
    batch = torch.as_tensor(np.asarray(x, dtype=np.float32)).unsqueeze(0)
    lengths = torch.tensor([int(length)])
    out = []
    call = 0
    while len(out) < views:
        result, params = pipeline(batch, lengths, seed=seed + call, return_params=True)
        made = result if pipeline.two_views else (result,)
        for v, tensor in enumerate(made):
            if len(out) < views:
                out.append((tensor[0].numpy(), int(params.lengths[v, 0]), params, v))
        call += 1
    return out


def augmentation_gallery(x: np.ndarray, length: int, layout: Union[str, Layout], pipeline: Pipeline,
                         path: Union[str, Path], *, views: int = 4, seed: int = 0, frames: int = 6,
                         coord_channels: int = 3, title: Optional[str] = None, gif: Optional[Union[str, Path]] = None,
                         view: Tuple[float, float] = DEFAULT_VIEW, fps: float = 15.0,
                         axes: Optional[Mapping[str, Any]] = None) -> Path:
    """A PNG with the original sample (top row) and ``views`` augmented views below it, ``frames`` frames each,
    every view's drawn parameters printed beside it. ``gif``: also an animation of the same panels. ``axes``:
    the data's declared axes (:mod:`mgclr.data.axes`)."""
    plots.require("augmentation_gallery")
    layout = get_layout(layout)
    made = augment_views(pipeline, x, length, views, seed)
    rows: List[Tuple[np.ndarray, int, str, List[str]]] = [
        (np.asarray(x), int(length), "original", [f"{int(length)} valid frames"])]
    for i, (v, n, params, index) in enumerate(made):
        pair = "q" if index == 0 else "k"
        label = f"view {i + 1}" + (f" ({pair} of call {i // 2 + 1})" if pipeline.two_views else "")
        rows.append((v, n, label, [f"{n} valid frames"] + describe_params(params, index, 0, layout)))
    projected = [(project(r[0], coord_channels, view, axes)[:r[1]], _present(r[0], coord_channels)[:r[1]])
                 for r in rows]
    all_points = np.concatenate([p for p, _ in projected], axis=0)
    all_present = np.concatenate([m for _, m in projected], axis=0)
    limits = _limits(all_points, all_present)
    plt = plots.pyplot()
    text_width = 5.2
    fig = plt.figure(figsize=(1.45 * frames + text_width, 1.6 * len(rows) + 0.6))
    grid = fig.add_gridspec(len(rows), frames + 1, width_ratios=[1.0] * frames + [text_width / 1.45])
    for r, ((points, present), (_, n, label, lines)) in enumerate(zip(projected, rows)):
        for c, t in enumerate(sample_frames(n, frames)):
            ax = fig.add_subplot(grid[r, c])
            draw_skeleton(ax, points[t], present[t], layout, linewidth=1.2, joint_size=4)
            _panel(ax, limits)
            ax.set_title(f"t={t}", fontsize=7, pad=2)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
        note = fig.add_subplot(grid[r, frames])
        note.axis("off")
        wrapped = [w for line in lines for w in textwrap.wrap(line, 62, subsequent_indent="    ")]
        note.text(0.0, 1.0, "\n".join(wrapped[:14] + (["..."] if len(wrapped) > 14 else [])), va="top", ha="left",
                  fontsize=6.5, family="monospace", transform=note.transAxes)
    fig.suptitle(title or f"augmentation: {', '.join(pipeline.execution_order)}", fontsize=10)
    fig.tight_layout()
    plots.save_png(fig, Path(path))
    plt.close(fig)
    if gif is not None:
        animate([(r[0], r[1]) for r in rows], layout, gif, coord_channels=coord_channels, fps=fps,
                titles=[r[2] for r in rows], suptitle=title, view=view, axes=axes)
    return Path(path)
