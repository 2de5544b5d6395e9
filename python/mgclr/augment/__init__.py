"""Skeleton augmentation: transforms (``nn.Module``), the fused :class:`Pipeline`, ready-made pipelines and
skeleton layouts (joint order, bones, centre, mirror permutation)."""

from .config import pipeline_from_config
from .layouts import Layout, available_layouts, get_layout, register_layout
from .pipeline import AugmentParams, OneOf, Pipeline
from .presets import aimclr_extreme, isc, paper_best, skeletonclr
from .transforms import (
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

__all__ = [
    "ALL_TRANSFORMS", "TRANSFORMS", "AugmentParams", "AxisMask", "AxisRotate", "CoordinatePerturbation",
    "CropResize", "DropFrames", "EulerRotate", "Flip", "GaussianBlur", "GaussianNoise", "JointMask",
    "JointShake", "Layout", "OneOf", "Pipeline", "PosterizeTime", "RandomRotate", "RepeatClip", "ReverseClip",
    "Shear", "SkeletonTransform", "Stretch", "TemporalCrop", "TimeFlip", "ViewPerturbation", "aimclr_extreme",
    "available_layouts", "get_layout", "isc", "paper_best", "pipeline_from_config", "register_layout", "skeletonclr",
]
