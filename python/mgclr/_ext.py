"""Loads the compiled extension ``mgclr._C`` and reports what it was built with.

Importing mgclr never fails because the extension or CUDA is missing: the error is raised, with the fix,
by the first call that needs the kernels.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any, Iterator, NamedTuple, Optional

try:  # pragma: no cover - exercised by whichever build is installed
    from . import _C  # type: ignore[attr-defined]

    _IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # pragma: no cover
    _C = None
    _IMPORT_ERROR = exc


try:  # pragma: no cover - only in a build with MGCLR_CUDA_EMULATION=ON (tests)
    from . import _C_emu  # type: ignore[attr-defined]
except ImportError:
    _C_emu = None

_EMULATION = threading.local()
EMULATED_SM_COUNT = 132  # an H100 / H200: what the launchers size their grids by under emulation


def native() -> Any:
    """The compiled module, or a clear RuntimeError saying how to build it."""
    if _C is None:
        raise RuntimeError(
            "mgclr's compiled extension mgclr._C could not be imported "
            f"({_IMPORT_ERROR}). Install mgclr from source with `pip install .` (a C++17 compiler and "
            "CMake >= 3.18 are needed; nvcc is optional) instead of putting python/ on sys.path."
        )
    return _C


def emulation_built() -> bool:
    """True when the test-only module mgclr._C_emu (the host emulation of the CUDA kernels) is installed."""
    return _C_emu is not None


@contextlib.contextmanager
def emulated_cuda() -> Iterator[None]:
    """Tests only: inside this context, CPU tensors given to mgclr's CUDA code paths (the fused augmentation,
    queue_infonce's ``fused`` and ``chunked``) run mgclr's CUDA kernels, compiled as C++ against the CUDA
    emulation (csrc/emu), instead of the CPU kernels. Raises when mgclr was built without it."""
    if _C_emu is None:
        raise RuntimeError("mgclr._C_emu is not installed: build with MGCLR_CUDA_EMULATION=ON "
                           "(e.g. MGCLR_CUDA_EMULATION=ON pip install .) to run the CUDA kernels emulated")
    previous = getattr(_EMULATION, "on", False)
    _EMULATION.on = True
    try:
        yield
    finally:
        _EMULATION.on = previous


class CudaKernels(NamedTuple):
    """Where a tensor's CUDA kernels run: the module holding them, the stream (as an integer) and device."""

    module: Any
    stream: int
    device: int
    emulated: bool


def cuda_kernels_for(t: Any) -> Optional[CudaKernels]:
    """The CUDA kernels for tensor ``t``: the real ones for a CUDA tensor (a clear error if mgclr was built
    without them), the emulated ones for a CPU tensor inside :func:`emulated_cuda`, else None (use CPU)."""
    if t.device.type == "cuda":
        if not cuda_compiled():
            raise RuntimeError("got a CUDA tensor but mgclr was built without its CUDA kernels: rebuild with nvcc "
                               "on PATH (MGCLR_CUDA=ON pip install --no-build-isolation .), or move it to the CPU")
        import torch

        return CudaKernels(native(), torch.cuda.current_stream(t.device).cuda_stream, t.device.index, False)
    if t.device.type == "cpu" and getattr(_EMULATION, "on", False):
        return CudaKernels(_C_emu, 0, 0, True)
    return None


def cuda_sm_count(kernels: CudaKernels, device: Any) -> int:
    """Streaming multiprocessors of the device the kernels run on (a fixed H100-like count when emulated)."""
    if kernels.emulated:
        return EMULATED_SM_COUNT
    import torch

    return torch.cuda.get_device_properties(device).multi_processor_count


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
