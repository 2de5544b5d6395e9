"""Skeleton augmentation for training: the transforms of every op (``nn.Module``, defined with their
kernels in :mod:`mgclr.ops.transforms`), the fused :class:`Pipeline` and :class:`OneOf` that compose them,
ready-made pipelines (:mod:`~mgclr.augment.presets`: :func:`paper_best`, the released chains
:func:`skeletonclr`, :func:`aimclr_normal`, :func:`crossclr`, :func:`isc`, :func:`aimclr_extreme`, and
:func:`mgclr_extreme`) and pipelines from configs. Skeleton layouts live in :mod:`mgclr.skeleton`."""

from ..ops.augment import AugmentParams
from ..ops.transforms import ALL_TRANSFORMS, TRANSFORMS, SkeletonTransform
from . import presets
from ._transforms import *  # noqa: F403 - every op's transform class, generated from ALL_TRANSFORMS
from ._transforms import __all__ as _transform_classes
from .config import pipeline_from_config
from .pipeline import OneOf, Pipeline
from .presets import PRESETS, aimclr_extreme, aimclr_normal, crossclr, isc, mgclr_extreme, paper_best, skeletonclr

__all__ = [
    "ALL_TRANSFORMS", "TRANSFORMS", "AugmentParams", "OneOf", "PRESETS", "Pipeline", "SkeletonTransform",
    "aimclr_extreme", "aimclr_normal", "crossclr", "isc", "mgclr_extreme", "paper_best", "pipeline_from_config",
    "presets", "skeletonclr", *_transform_classes,
]
