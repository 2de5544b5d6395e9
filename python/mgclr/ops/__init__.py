"""mgclr.ops: the kernel layer. Every op of the compiled extension, its Python definition and its reference.

- the skeleton augmentations of DESIGN.md as functions (``mgclr.ops.view_perturbation(x, ...)`` ...,
  :mod:`mgclr.ops.augment_functional`) and as transform classes (:mod:`mgclr.ops.transforms`), all run
  through the fused ``mgclr::augment`` op (:mod:`mgclr.ops.augment`; its ABI: :mod:`mgclr.ops.augment_abi`);
- :func:`queue_infonce`, MoCo's contrastive loss against a queue of negatives (reference / chunked / fused),
  and :func:`queue_enqueue_`, the in-place ring-buffer write of :class:`mgclr.models.MoCoQueue`;
- the pure-torch references of all of them in :mod:`mgclr.ops.reference`.
"""

from .augment import AugmentParams
from .augment_functional import (
    axis_mask,
    axis_rotate,
    coordinate_perturbation,
    crop_resize,
    drop_frames,
    euler_rotate,
    flip,
    gaussian_blur,
    gaussian_noise,
    joint_mask,
    joint_shake,
    posterize_time,
    random_rotate,
    repeat_clip,
    reverse_clip,
    shear,
    stretch,
    temporal_crop,
    time_flip,
    view_perturbation,
)
from .infonce import QueueInfoNCEStats, queue_enqueue_, queue_infonce

# The 20 augmentation ops in catalogue order (DESIGN.md): the paper's six, then the earlier ones.
AUGMENTATION_OPS = (
    "coordinate_perturbation", "view_perturbation", "stretch", "repeat_clip", "reverse_clip", "posterize_time",
    "shear", "temporal_crop", "crop_resize", "random_rotate", "euler_rotate", "axis_rotate", "flip", "time_flip",
    "joint_shake", "joint_mask", "drop_frames", "gaussian_noise", "gaussian_blur", "axis_mask",
)

__all__ = [
    "AUGMENTATION_OPS", "AugmentParams", "QueueInfoNCEStats", "axis_mask", "axis_rotate", "coordinate_perturbation",
    "crop_resize", "drop_frames", "euler_rotate", "flip", "gaussian_blur", "gaussian_noise", "joint_mask",
    "joint_shake", "posterize_time", "queue_enqueue_", "queue_infonce", "random_rotate", "repeat_clip",
    "reverse_clip", "shear", "stretch", "temporal_crop", "time_flip", "view_perturbation",
]
