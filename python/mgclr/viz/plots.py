"""The plotting base of mgclr's pictures (matplotlib on Agg, atomic PNGs, class colours) and the evaluation
plots built on it: the fused confusion matrix, a t-SNE of each stream's features, bar charts.
Needs matplotlib and scikit-learn (``pip install mgclr[train]``); :func:`available` says whether they are.
matplotlib is imported only when a function asks for it, and nothing of mgclr above ``_files``: training
(``fuse_eval``, the sweep) and the emotion report draw through this module, below them."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .._files import atomic_path

__all__ = ["available", "bar_chart", "class_colours", "class_markers", "confusion_counts", "confusion_matrix",
           "diverging_bar_chart", "draw_diverging_bars", "pyplot", "require", "save_png", "tsne"]


def save_png(fig, path: Path) -> None:
    """PNG through a temporary file and a rename (mgclr._files): a reader never sees half a picture."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def require(what: str) -> None:
    """An ImportError that says what needs matplotlib and how to get it, when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} draws with matplotlib, which is not installed: pip install 'mgclr[train]'") \
            from None


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def class_colours(n: int) -> list:
    """``n`` RGBA colours, distinct for up to 60 classes: tab20's pairs, then tab20b's and tab20c's (matplotlib's
    qualitative maps of 20 each), ordered so that neighbouring classes differ in hue; past 60 they repeat (pair
    them with :func:`class_markers`)."""
    import matplotlib

    base = []
    for name in ("tab20", "tab20b", "tab20c"):
        cmap = matplotlib.colormaps[name]
        base += [cmap(i) for i in list(range(0, 20, 2)) + list(range(1, 20, 2))]  # dark shades first
    return [base[i % len(base)] for i in range(n)]


def class_markers(n: int) -> list:
    """A marker per class that changes every 60 classes, so colour + marker stay distinct up to 360."""
    markers = ["o", "^", "s", "D", "v", "P"]
    return [markers[(i // 60) % len(markers)] for i in range(n)]


def confusion_counts(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts: row = true class, column = predicted class."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels), np.asarray(predicted)), 1)
    return counts


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], path: Path,
                     title: Optional[str] = None) -> Path:
    """Confusion matrix as a PNG, **row-normalised** (each true class's row sums to 1: the share of its samples
    given each prediction; the colour bar and the title say so), with the overall top-1 in the title and each
    row's sample count beside its name. :func:`confusion_counts` gives the counts."""
    n = len(class_names)
    counts = confusion_counts(predicted, labels, n).astype(np.float64)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(0.5 * n + 3.5, 0.5 * n + 2.5))
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), [f"{name} ({int(c)})" for name, c in zip(class_names, counts.sum(axis=1))], fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (test samples)")
    top1 = float(np.trace(counts) / max(counts.sum(), 1.0))
    ax.set_title(f"{title or 'confusion on the test split'}\nrow-normalised; top-1 {100 * top1:.1f} % of "
                 f"{int(counts.sum())}", fontsize=10)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, f"{rates[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if rates[i, j] > 0.5 else "black")
    bar = fig.colorbar(image, ax=ax, fraction=0.046)
    bar.set_label("share of the true class's samples")
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return path


def tsne(features: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], path: Path, samples: int = 1000,
         seed: int = 0, title: Optional[str] = None) -> Path:
    """2-D t-SNE of (at most ``samples``) features as a PNG: a colour per class (distinct up to 60 classes,
    then a marker per 60 as well, :func:`class_colours`), a legend outside the plot, a title."""
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    idx = np.arange(features.shape[0])
    if len(idx) > samples:
        idx = np.sort(rng.choice(idx, samples, replace=False))
    feats = features[idx].numpy()
    points = TSNE(n_components=2, init="pca", random_state=seed,
                  perplexity=float(min(30, max(5, len(idx) // 4)))).fit_transform(feats)
    plt = pyplot()
    n = len(class_names)
    columns = 1 if n <= 20 else 2 if n <= 40 else 3
    fig, ax = plt.subplots(figsize=(7 + 1.6 * columns, 6))
    colours, markers = class_colours(n), class_markers(n)
    y = labels[idx].numpy()
    for c, name in enumerate(class_names):
        mask = y == c
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=10, color=colours[c], marker=markers[c], label=name)
    ax.legend(fontsize=7, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=columns,
              frameon=False, title="class", title_fontsize=8)
    ax.set_title(title or f"t-SNE of {len(idx)} test features ({n} classes)", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return path


def bar_chart(labels: Sequence[str], values: Sequence[float], baseline: float, path: Path, *, xlabel: str,
              baseline_label: str) -> Path:
    """Horizontal bars in the given order (top to bottom) with a vertical line at ``baseline``, as a PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.5))
    positions = np.arange(len(labels))[::-1]
    colours = ["tab:blue" if v >= baseline else "tab:gray" for v in values]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.axvline(baseline, color="tab:red", linestyle="--", linewidth=1, label=f"{baseline_label} ({baseline:.1f})")
    for y, v in zip(positions, values):
        ax.text(v, y, f" {v:.1f}", va="center", fontsize=7)
    low = min(min(values), baseline)
    ax.set_xlim(max(0.0, low - 10), max(max(values), baseline) + 8)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return path


def draw_diverging_bars(ax, labels: Sequence[str], values: Sequence[float], *, negative: str, positive: str) -> None:
    """Horizontal bars about 0 on ``ax``, in the given order (top to bottom): negative values to the left, positive
    to the right, on an axis symmetric about 0 with room for the value labels, which sit outside each bar's end;
    the class names stay on the left edge, clear of the bars. ``negative`` / ``positive`` name the two
    directions (written under the axis at each side)."""
    values = [float(v) for v in values]
    positions = np.arange(len(labels))[::-1]
    ax.barh(positions, values, color=["tab:red" if v > 0 else "tab:blue" for v in values], height=0.7)
    ax.set_yticks(positions, labels, fontsize=8)
    reach = max([abs(v) for v in values] + [1e-9])
    ax.set_xlim(-1.35 * reach, 1.35 * reach)  # symmetric, with room for the value labels past the bars
    ax.axvline(0.0, color="black", linewidth=0.8)
    for y, v in zip(positions, values):
        ax.text(v + (0.02 if v >= 0 else -0.02) * reach, y, f"{v:+.2f}", va="center", fontsize=7,
                ha="left" if v >= 0 else "right")
    ax.text(0.0, -0.08, f"\u2190 {negative}", transform=ax.transAxes, ha="left", va="top", fontsize=8,
            color="tab:blue")
    ax.text(1.0, -0.08, f"{positive} \u2192", transform=ax.transAxes, ha="right", va="top", fontsize=8,
            color="tab:red")
    ax.grid(axis="x", alpha=0.3)


def diverging_bar_chart(labels: Sequence[str], values: Sequence[float], path: Path, *, xlabel: str,
                        negative: str, positive: str, title: Optional[str] = None) -> Path:
    """:func:`draw_diverging_bars` as a PNG (e.g. which MG classes point toward which outcome)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(labels) + 1.8))
    draw_diverging_bars(ax, labels, values, negative=negative, positive=positive)
    ax.set_xlabel(xlabel, labelpad=14)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return path
