"""Skeleton augmentation for training: the transforms of every op (``nn.Module``, defined with their
kernels in :mod:`mgclr.ops.transforms`), the fused :class:`Pipeline` and :class:`OneOf` that compose them,
ready-made pipelines (:func:`paper_best`, :func:`skeletonclr`, :func:`isc`, :func:`aimclr_extreme`) and
pipelines from configs. Skeleton layouts live in :mod:`mgclr.skeleton`."""

from ..ops.augment import AugmentParams
from ..ops.transforms import (
    ALL_TRANSFORMS,
    TRANSFORMS,
    AxisMask,
    AxisRotate,
    CoordinatePerturbation,
    CropResize,
    DropFrames,
    EulerRotate,
    Flip,
    GaussianBlur,
    GaussianNoise,
    JointMask,
    JointShake,
    PosterizeTime,
    RandomRotate,
    RepeatClip,
    ReverseClip,
    Shear,
    SkeletonTransform,
    Stretch,
    TemporalCrop,
    TimeFlip,
    ViewPerturbation,
)
from .config import pipeline_from_config
from .pipeline import OneOf, Pipeline
from .presets import aimclr_extreme, isc, paper_best, skeletonclr

__all__ = [
    "ALL_TRANSFORMS", "TRANSFORMS", "AugmentParams", "AxisMask", "AxisRotate", "CoordinatePerturbation",
    "CropResize", "DropFrames", "EulerRotate", "Flip", "GaussianBlur", "GaussianNoise", "JointMask",
    "JointShake", "OneOf", "Pipeline", "PosterizeTime", "RandomRotate", "RepeatClip", "ReverseClip",
    "Shear", "SkeletonTransform", "Stretch", "TemporalCrop", "TimeFlip", "ViewPerturbation", "aimclr_extreme",
    "isc", "paper_best", "pipeline_from_config", "skeletonclr",
]
