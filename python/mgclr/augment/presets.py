"""Ready-made pipelines: the paper's best combination and the augmentations of the codebases it compares to."""

from __future__ import annotations

from typing import Optional, Union

from ..ops.transforms import (
    AxisMask,
    CoordinatePerturbation,
    CropResize,
    Flip,
    GaussianBlur,
    GaussianNoise,
    JointShake,
    PosterizeTime,
    RandomRotate,
    Shear,
    Stretch,
    TemporalCrop,
    TimeFlip,
)
from ..skeleton import Layout
from .pipeline import OneOf, Pipeline


def paper_best(out_frames: Optional[int] = None, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """Coordinate perturbation + stretch + posterize time: the paper's best MG combination (section 4.1.1).
    ``out_frames`` first resizes each whole valid sequence to that many frames (no crop)."""
    ops = [CoordinatePerturbation(), Stretch(), PosterizeTime()]
    if out_frames is not None:
        ops.insert(0, CropResize(scale=(1.0, 1.0), min_len=1, out_frames=out_frames))
    return Pipeline(ops, coord_channels, two_views)


def skeletonclr(coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """SkeletonCLR's training views: shear (r=0.5) and temporal crop (padding ratio 6)."""
    return Pipeline([Shear(r=0.5), TemporalCrop(ratio=6)], coord_channels, two_views)


def isc(out_frames: int = 64, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """ISC: valid crop-resize to ``out_frames``, then one of shear (r=1) or joint shake per sample."""
    return Pipeline([CropResize(out_frames=out_frames), OneOf([Shear(r=1.0), JointShake()])], coord_channels,
                    two_views)


def aimclr_extreme(layout: Union[str, Layout] = "ntu25", coord_channels: int = 3,
                   two_views: bool = False) -> Pipeline:
    """AimCLR's extreme view: temporal crop, shear, random rotate, spatial flip, time flip, Gaussian noise,
    Gaussian blur and axis mask, with AimCLR's probabilities."""
    return Pipeline([
        TemporalCrop(ratio=6), Shear(r=0.5), RandomRotate(), Flip(layout=layout), TimeFlip(),
        GaussianNoise(), GaussianBlur(), AxisMask(),
    ], coord_channels, two_views)
