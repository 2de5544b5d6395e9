"""A video's micro-gesture timeline as a picture: coloured spans over seconds, one row for the annotated MGs
and, when given, one for a recognizer's predicted MGs, with the video's outcome in the title.

A span covers ``[start_s, end_s)`` (:mod:`mgclr.data.timeline`: start frame / fps to (end frame + 1) / fps);
a class keeps one colour in both rows (:func:`mgclr.viz.plots.class_colours`, distinct up to 60 classes), its
name (and a predicted MG's confidence) is written inside the span when the span is wide enough, and the legend
lists every class shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..data.timeline import Timeline
from . import plots

__all__ = ["timeline_plot"]


def timeline_plot(path: Union[str, Path], annotated: Optional[Timeline] = None,
                  predicted: Optional[Timeline] = None, *, class_names: Optional[Sequence[str]] = None,
                  title: Optional[str] = None) -> Path:
    """A PNG of one video's timelines: ``annotated`` and/or ``predicted`` (at least one; the same video), a row
    each. ``class_names`` fixes the colour of each class label (default: the names the timelines carry)."""
    plots.require("timeline_plot")
    rows: List[Tuple[str, Timeline]] = [(name, t) for name, t in (("annotated", annotated), ("predicted", predicted))
                                        if t is not None]
    if not rows:
        raise ValueError("timeline_plot: expected an annotated or a predicted timeline, got neither")
    if annotated is not None and predicted is not None and annotated.video != predicted.video:
        raise ValueError(f"predicted: a timeline of video {predicted.video!r}, the annotated one is of "
                         f"{annotated.video!r}")
    names: Dict[int, str] = {}
    for _, timeline in rows:
        for e in timeline.events:
            names.setdefault(e.label, e.name)
    if class_names is not None:
        names.update({i: n for i, n in enumerate(class_names) if i in names})
    total = max(len(class_names) if class_names is not None else 0, max(names, default=-1) + 1)
    colours = plots.class_colours(max(total, 1))
    ends = [t.duration_seconds or 1.0 for _, t in rows]
    duration = max(ends + [1e-3])
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(min(max(6.0, 0.12 * duration + 4), 16), 0.9 * len(rows) + 1.6))
    for r, (_, timeline) in enumerate(rows):
        y = len(rows) - 1 - r
        for e in timeline.events:
            start, end = e.start_seconds(timeline.fps), e.end_seconds(timeline.fps)
            ax.broken_barh([(start, end - start)], (y - 0.35, 0.7), facecolors=colours[e.label], edgecolor="0.2",
                           linewidth=0.4)
            if end - start > 0.06 * duration:  # wide enough to name it (and its confidence, if predicted)
                text = names.get(e.label, str(e.label))
                if e.confidence is not None:
                    text += f"\n{float(e.confidence):.2f}"
                ax.text((start + end) / 2, y, text, ha="center", va="center", fontsize=7, color="white",
                        clip_on=True)
    ax.set_yticks(range(len(rows)), [f"{n}\n({len(t.events)} MGs)" for n, t in reversed(rows)], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(0, duration)
    ax.set_xlabel("seconds")
    ax.grid(axis="x", alpha=0.3)
    first = rows[0][1]
    outcome = f", outcome: {first.outcome}" if first.outcome else ""
    ax.set_title(title or f"micro-gestures of {first.video}{outcome} ({first.fps:g} fps)", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[label]) for label in sorted(names)]
    if handles:
        ax.legend(handles, [names[label] for label in sorted(names)], fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False, title="class", title_fontsize=8,
                  ncol=1 if len(handles) <= 12 else 2)
    fig.tight_layout()
    plots.save_png(fig, Path(path))
    plt.close(fig)
    return Path(path)
