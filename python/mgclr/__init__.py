"""mgclr: skeleton-based micro-gesture understanding in PyTorch.

Fused C++/CUDA skeleton augmentation (:mod:`mgclr.ops`, :mod:`mgclr.augment`), a fused queue-based
InfoNCE, and the models and training loops of dual-stream MoCo. See README.md and DESIGN.md.
"""

__version__ = "0.1.0"

from ._ext import build_info, cuda_available  # noqa: E402

__all__ = ["__version__", "build_info", "cuda_available"]
