"""mgclr.ops: the kernel layer. Every op of the compiled extension, its Python definition and its reference.

- the skeleton augmentations of DESIGN.md as functions (``mgclr.ops.view_perturbation(x, ...)`` ...,
  :mod:`mgclr.ops.augment_functional`) and as transform classes (:mod:`mgclr.ops.transforms`), all run
  through the fused ``mgclr::augment`` op (:mod:`mgclr.ops.augment`; its ABI: :mod:`mgclr.ops.augment_abi`);
- :func:`queue_infonce`, MoCo's contrastive loss against a queue of negatives (reference / chunked / fused /
  attention; ``positives=`` for extra positives), :func:`queue_soft_cross_entropy` (AimCLR's D3M) and
  :func:`queue_topk` (nearest-neighbour mining) on the same memory-free machinery,
  :func:`queue_context_infonce` (CrosSCLR's cross-view loss with context, chunked), and
  :func:`queue_enqueue_`, the in-place ring-buffer write of :class:`mgclr.models.MoCoQueue` (:mod:`mgclr.ops.enqueue`);
- :func:`dropout` / :class:`Dropout`, torch's dropout with its mask from the augmentations' counter RNG
  (never stored; :mod:`mgclr.ops.dropout`);
- the pure-torch references of all of them in :mod:`mgclr.ops.reference`.
"""

from .augment import AugmentParams
from .augment_functional import *  # noqa: F403 - the generated functions, one per transform class
from .augment_functional import AUGMENTATION_OPS
from .augment_functional import __all__ as _functional
from .dropout import Dropout, dropout
from .enqueue import queue_enqueue_
from .infonce import QueueInfoNCEStats, queue_infonce
from .queue_losses import queue_context_infonce, queue_soft_cross_entropy, queue_softmax_mean, queue_topk

__all__ = ["AUGMENTATION_OPS", "AugmentParams", "Dropout", "QueueInfoNCEStats", "dropout", "queue_context_infonce",
           "queue_enqueue_", "queue_infonce", "queue_soft_cross_entropy", "queue_softmax_mean", "queue_topk",
           *_functional]
