"""The README's pictures, made by one command (``mgclr show --gallery --out docs/img/``) from the synthetic
generators, so that anyone can make them again and see the same. Above training and emotion (their pipeline
builder and synthetic timelines), unlike the rest of :mod:`mgclr.viz`, which is why the package does not
import it: ``from mgclr.viz.examples import write_examples``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Union

from ..emotion.synthetic import synthetic_timelines
from ..train.build import build_pipeline
from .gallery import augment_views, augmentation_gallery
from .skeleton import animate, frame_strip
from .source import load_sample
from .timeline import timeline_plot

__all__ = ["write_examples"]


def write_examples(folder: Union[str, Path], seed: int = 0) -> List[Path]:
    """Writes ``sequence.png`` (a synthetic micro-gesture, a strip of frames), ``augment_paper_best.png`` (the
    paper's best augmentation: the sample and four views with their parameters), ``augment_paper_best.gif``
    (the sample and two views, animated) and ``timeline.png`` (a synthetic interview's MG timeline) into
    ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sample = load_sample(sample=0, frames=48, seed=seed)
    info = sample.info
    paths = [frame_strip(sample.x, sample.length, info.layout, folder / "sequence.png", frames=8, fps=info.fps,
                         title=sample.caption)]
    pipeline = build_pipeline("augment", {"preset": "paper_best", "out_frames": 32}, info, two_views=True)
    title = f"paper_best (coordinate perturbation, stretch, posterize time) on {sample.caption}"
    paths.append(augmentation_gallery(sample.x, sample.length, info.layout, pipeline,
                                      folder / "augment_paper_best.png", views=4, seed=seed, frames=6, title=title))
    views = augment_views(pipeline, sample.x, sample.length, 2, seed)
    paths.append(animate([(sample.x, sample.length)] + [(v, n) for v, n, _, _ in views], info.layout,
                         folder / "augment_paper_best.gif", titles=["original", "view 1 (q)", "view 2 (k)"],
                         suptitle="paper_best: one sample, the two MoCo views", fps=12))
    timeline = synthetic_timelines(2, seed=seed)[0]
    paths.append(timeline_plot(folder / "timeline.png", timeline,
                               title=f"a synthetic interview's micro-gestures (outcome: {timeline.outcome})"))
    return paths
