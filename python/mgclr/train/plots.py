"""Pictures where they beat tables: the fused confusion matrix and a t-SNE of each stream's features.
Needs matplotlib and scikit-learn (``pip install mgclr[train]``); :func:`available` says whether they are."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .._files import atomic_path

__all__ = ["available", "bar_chart", "confusion_matrix", "tsne"]


def _save(fig, path: Path) -> None:
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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], path: Path,
                     title: Optional[str] = None) -> Path:
    """Row-normalised confusion matrix (rows: true class) as a PNG, with the overall top-1 in the title."""
    n = len(class_names)
    counts = np.zeros((n, n), dtype=np.float64)
    np.add.at(counts, (labels.numpy(), predicted.numpy()), 1.0)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(0.5 * n + 3, 0.5 * n + 2.5))
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top1 = float(np.trace(counts) / max(counts.sum(), 1.0))
    ax.set_title(f"{title or 'confusion on the test split'} (top-1 {100 * top1:.1f} %)", fontsize=10)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, f"{rates[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def tsne(features: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], path: Path, samples: int = 1000,
         seed: int = 0) -> Path:
    """2-D t-SNE of (at most ``samples``) features, coloured by class, as a PNG."""
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    idx = np.arange(features.shape[0])
    if len(idx) > samples:
        idx = np.sort(rng.choice(idx, samples, replace=False))
    feats = features[idx].numpy()
    points = TSNE(n_components=2, init="pca", random_state=seed,
                  perplexity=float(min(30, max(5, len(idx) // 4)))).fit_transform(feats)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab20")
    y = labels[idx].numpy()
    for c, name in enumerate(class_names):
        mask = y == c
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=8, color=cmap(c % 20), label=name)
    ax.legend(fontsize=7, markerscale=2, loc="best", ncol=2)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def bar_chart(labels: Sequence[str], values: Sequence[float], baseline: float, path: Path, *, xlabel: str,
              baseline_label: str) -> Path:
    """Horizontal bars in the given order (top to bottom) with a vertical line at ``baseline``, as a PNG."""
    plt = _pyplot()
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
    _save(fig, path)
    plt.close(fig)
    return path
