"""Functional ops over mgclr's kernels.

- every skeleton augmentation of DESIGN.md (``mgclr.ops.view_perturbation(x, ...)`` ...) over the fused
  ``mgclr::augment`` kernel;
- :func:`queue_infonce`, MoCo's contrastive loss against a queue of negatives (reference / chunked / fused);
- the pure-torch references of all of them in :mod:`mgclr.ops.reference`.
"""

from ._functional import make_functionals
from .infonce import queue_infonce  # noqa: F401

_functionals = make_functionals()
globals().update(_functionals)
AUGMENTATION_OPS = tuple(_functionals)

__all__ = ["AUGMENTATION_OPS", "queue_infonce", *AUGMENTATION_OPS]
