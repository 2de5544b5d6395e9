"""Ready-made pipelines: the paper's best combination, the released augmentation chains of the methods it
compares to (each replays its released code: ``tests/test_parity_augment.py`` checks them against golden
fixtures of that code), and mgclr's own variant of AimCLR's extreme view.

``out_frames`` (where a preset takes it) first resizes each whole valid sequence to that many frames, no
crop: AimCLR, CrosSCLR and SkeletonCLR train on NTU resampled to 50 frames (their ``preprocess_ntu.py``),
ISC and the paper crop-resize to 64.
"""

from __future__ import annotations

import math
from typing import List, Optional, Union

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
    SkeletonTransform,
    Stretch,
    TemporalCrop,
    TimeFlip,
)
from ..skeleton import Layout
from .pipeline import OneOf, Pipeline


def _resized(ops: List[SkeletonTransform], out_frames: Optional[int]) -> List[SkeletonTransform]:
    if out_frames is not None:
        ops.insert(0, CropResize(scale=(1.0, 1.0), min_len=1, out_frames=out_frames))
    return ops


def paper_best(out_frames: Optional[int] = None, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """Coordinate perturbation + stretch + posterize time: the paper's best MG combination (section 4.1.1)."""
    return Pipeline(_resized([CoordinatePerturbation(), Stretch(), PosterizeTime()], out_frames), coord_channels,
                    two_views)


def skeletonclr(out_frames: Optional[int] = None, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """SkeletonCLR's views, also CrosSCLR's and AimCLR's normal views (``Feeder_dual._aug`` /
    ``Feeder_triple._aug``): ``temperal_crop(ratio 6)`` with its edge-repeating padding, then ``shear(0.5)``,
    both always."""
    return Pipeline(_resized([TemporalCrop(ratio=6, padding="symmetric"), Shear(r=0.5)], out_frames),
                    coord_channels, two_views)


def aimclr_normal(out_frames: Optional[int] = None, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """AimCLR's normal views (``Feeder_triple._aug``): the SkeletonCLR chain, :func:`skeletonclr`."""
    return skeletonclr(out_frames, coord_channels, two_views)


def crossclr(out_frames: Optional[int] = None, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """CrosSCLR's views (``Feeder_dual._aug``): the SkeletonCLR chain, :func:`skeletonclr`."""
    return skeletonclr(out_frames, coord_channels, two_views)


def isc(out_frames: int = 64, coord_channels: int = 3, two_views: bool = False) -> Pipeline:
    """ISC: valid crop-resize to ``out_frames``, then one of shear (r=1) or joint shake per sample."""
    return Pipeline([CropResize(out_frames=out_frames), OneOf([Shear(r=1.0), JointShake()])], coord_channels,
                    two_views)


def aimclr_extreme(layout: Union[str, Layout] = "ntu25", out_frames: Optional[int] = None, coord_channels: int = 3,
                   two_views: bool = False) -> Pipeline:
    """AimCLR's extreme view as released (``Feeder_triple._strong_aug``, its default ``aug_method='12345'``):
    temporal crop (edge-repeating padding), shear 0.5, spatial flip (p 0.5), random rotation (clockwise, as its
    matrices), Gaussian noise on every point (p 0.5), the unnormalised zero-padded Gaussian filter (p 0.5) and
    axis mask (p 0.5). No time flip: AimCLR enables it only with a '6' in ``aug_method``, which neither its
    default nor its configs have. mgclr's own variant is :func:`mgclr_extreme`."""
    return Pipeline(_resized([
        TemporalCrop(ratio=6, padding="symmetric"), Shear(r=0.5), Flip(layout=layout),
        RandomRotate(main=math.radians(30), other=math.radians(1), clockwise=True),
        GaussianNoise(skip_missing=False), GaussianBlur(normalized=False), AxisMask(),
    ], out_frames), coord_channels, two_views)


def mgclr_extreme(layout: Union[str, Layout] = "ntu25", out_frames: Optional[int] = None, coord_channels: int = 3,
                  two_views: bool = False) -> Pipeline:
    """mgclr's extreme view: AimCLR's ops with mgclr's defaults — reflect padding (no doubled edge frame),
    missing points kept at zero by the noise, the normalised blur (no change of scale) — plus a time flip
    (p 0.5). docs/PARITY.md lists the differences from :func:`aimclr_extreme`."""
    return Pipeline(_resized([
        TemporalCrop(ratio=6), Shear(r=0.5), RandomRotate(), Flip(layout=layout), TimeFlip(),
        GaussianNoise(), GaussianBlur(), AxisMask(),
    ], out_frames), coord_channels, two_views)


PRESETS = {fn.__name__: fn for fn in (paper_best, skeletonclr, aimclr_normal, crossclr, isc, aimclr_extreme,
                                      mgclr_extreme)}
