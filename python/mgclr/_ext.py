"""Loads the compiled extension ``mgclr._C`` and reports what it was built with.

Importing mgclr never fails because the extension or CUDA is missing: the error is raised, with the fix,
by the first call that needs the kernels.
"""

from __future__ import annotations

import functools
from typing import Any

try:  # pragma: no cover - exercised by whichever build is installed
    from . import _C  # type: ignore[attr-defined]

    _IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # pragma: no cover
    _C = None
    _IMPORT_ERROR = exc


def native() -> Any:
    """The compiled module, or a clear RuntimeError saying how to build it."""
    if _C is None:
        raise RuntimeError(
            "mgclr's compiled extension mgclr._C could not be imported "
            f"({_IMPORT_ERROR}). Install mgclr from source with `pip install .` (a C++17 compiler and "
            "CMake >= 3.18 are needed; nvcc is optional) instead of putting python/ on sys.path."
        )
    return _C


@functools.cache
def cuda_compiled() -> bool:
    """True when the CUDA kernels were compiled into mgclr._C."""
    return _C is not None and bool(_C.build_info()["cuda_compiled"])


def cuda_available() -> bool:
    """True when the CUDA kernels are compiled AND torch sees a usable GPU now."""
    if not cuda_compiled():
        return False
    import torch

    return torch.cuda.is_available()


def build_info() -> dict:
    """Version, CUDA (compiled, archs, runtime), OpenMP and NVTX support, and whether a GPU is usable now."""
    import torch

    from . import __version__

    if _C is None:
        info: dict[str, Any] = {
            "version": __version__,
            "extension": False,
            "extension_error": str(_IMPORT_ERROR),
            "cuda_compiled": False,
            "cuda_archs": [],
            "cuda_runtime_version": None,
            "openmp": False,
            "nvtx_in_kernels": False,
        }
    else:
        raw = dict(_C.build_info())
        runtime = int(raw["cuda_runtime_version"])
        info = {
            "version": raw["version"],
            "extension": True,
            "cuda_compiled": bool(raw["cuda_compiled"]),
            "cuda_archs": [a for a in str(raw["cuda_archs"]).replace(";", ",").split(",") if a],
            "cuda_runtime_version": f"{runtime // 1000}.{runtime % 1000 // 10}" if runtime else None,
            "openmp": bool(raw["openmp"]),
            "nvtx_in_kernels": bool(raw["nvtx"]),
        }
    info["torch"] = torch.__version__
    info["gpu_usable"] = cuda_available()
    try:
        import nvtx  # noqa: F401

        info["nvtx_python"] = True
    except ImportError:
        info["nvtx_python"] = False
    return info
