"""Functional ops: every skeleton augmentation of DESIGN.md (``mgclr.ops.view_perturbation(x, ...)`` ...)
over the fused ``mgclr::augment`` kernel, and the pure-torch references in :mod:`mgclr.ops.reference`."""

from ._functional import make_functionals

_functionals = make_functionals()
globals().update(_functionals)
AUGMENTATION_OPS = tuple(_functionals)

__all__ = ["AUGMENTATION_OPS", *AUGMENTATION_OPS]
