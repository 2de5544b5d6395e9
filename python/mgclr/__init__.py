"""mgclr: skeleton-based micro-gesture understanding in PyTorch.

Fused C++/CUDA skeleton augmentation (:mod:`mgclr.ops`, :mod:`mgclr.augment`), a fused queue-based
InfoNCE, and the models and training loops of the paper's dual-stream MoCo and of the methods it compares with
(AimCLR, CrosSCLR). See README.md and DESIGN.md.
"""

__version__ = "0.1.0"

from ._ext import build_info, cuda_available  # noqa: E402

__all__ = ["__version__", "build_info", "cuda_available", "load_encoder", "load_published"]


def __getattr__(name):
    # `import mgclr; mgclr.augment.Pipeline(...)` without importing the subpackages up front.
    if name in ("augment", "models", "ops", "profiling", "skeleton"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "load_encoder":  # two lines from a run folder to features; the facade imports it on first use
        import importlib

        return importlib.import_module(".train.embed", __name__).load_encoder
    if name == "load_published":  # released weights (2s-AGCN, ST-GCN, ISC's BIGRU) into mgclr's encoders
        import importlib

        return importlib.import_module(".models", __name__).load_published
    raise AttributeError(f"module 'mgclr' has no attribute {name!r}")
