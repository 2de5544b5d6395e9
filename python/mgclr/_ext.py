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
    # mgclr._C needs libgomp.so.1 (OpenMP), which a machine without a compiler (a slim container) may lack;
    # torch's wheel carries one. Load torch, and with it that library, then try once more (a wheel built
    # elsewhere then works there; tests/test_cuda_archs.py checks it with the system's libgomp hidden).
    try:
        import torch  # noqa: F401

        from . import _C  # type: ignore[attr-defined]

        _IMPORT_ERROR = None
    except ImportError:
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
                               "on PATH (MGCLR_CUDA=ON pip install --no-build-isolation .), or install a wheel "
                               "built with them (README, 'A wheel with the CUDA kernels'), or move it to the CPU")
        import torch

        if cuda_device_coverage(t.device.index).kind == "none":  # cached per device: a dict lookup
            raise RuntimeError(uncovered_message(t.device.index))
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
    """True when the CUDA kernels are compiled, torch sees a GPU now, and the kernels cover it (natively or
    by PTX JIT; see :func:`arch_coverage`)."""
    if not cuda_compiled():
        return False
    import torch

    return torch.cuda.is_available() and cuda_device_coverage(torch.cuda.current_device()).kind != "none"


# ------------------------------------------------------------------- architectures and coverage ----
# What the CUDA driver can run on a device of compute capability X.Y (CUDA C Programming Guide, "Binary
# compatibility" and "PTX compatibility"): SASS (a cubin) built for sm_XZ runs on X.Y when Z <= Y — the same
# major, no newer minor (sm_80 SASS runs on sm_86 / sm_89); "a" variants (sm_90a) only on exactly X.Z; "f"
# variants (sm_100f) on their family, the same major with Z <= Y. PTX for compute_AB is compiled by the driver
# (JIT, on first use, then cached in ~/.nv/ComputeCache) for any device of capability >= A.B; "a" PTX only
# for exactly A.B, "f" PTX for its family. The driver prefers SASS to PTX.


class Coverage(NamedTuple):
    """How a GPU runs mgclr's kernels: ``kind`` is ``"native"`` (SASS built for it), ``"ptx"`` (the driver
    JIT-compiles PTX on first use), ``"none"`` (no kernel can run there) or ``"unknown"`` (the build did not
    record its architectures); ``arch`` the image the driver picks (``"sm_80"``, ``"compute_90"``) or None."""

    kind: str
    arch: Optional[str]


def parse_capability(capability: Any) -> tuple[int, int]:
    """(major, minor) of a compute capability given as ``(8, 6)``, ``"8.6"``, ``86``, ``"86"`` or ``"sm_86"``."""
    if isinstance(capability, (tuple, list)) and len(capability) == 2:
        return int(capability[0]), int(capability[1])
    text = str(capability).strip().lower()
    for prefix in ("sm_", "compute_"):
        text = text[len(prefix):] if text.startswith(prefix) else text
    if "." in text:
        major, minor = text.split(".", 1)
        return int(major), int(minor)
    number = int(text)
    return number // 10, number % 10


def parse_arch(arch: Any) -> tuple[int, int, str]:
    """(major, minor, suffix) of an architecture: ``"sm_90a"`` -> (9, 0, "a"), ``"compute_120"`` -> (12, 0, ""),
    ``"100f"`` -> (10, 0, "f"), ``86`` -> (8, 6, "")."""
    text = str(arch).strip().lower()
    for prefix in ("sm_", "compute_"):
        text = text[len(prefix):] if text.startswith(prefix) else text
    suffix = text[-1] if text and text[-1] in "af" else ""
    digits = text[:-1] if suffix else text
    if not digits.isdigit() or len(digits) < 2:
        raise ValueError(f"not a CUDA architecture: {arch!r} (expected e.g. sm_80, compute_90, 90a)")
    number = int(digits)
    return number // 10, number % 10, suffix


def _runs_on(arch: tuple[int, int, str], major: int, minor: int, ptx: bool) -> bool:
    a_major, a_minor, suffix = arch
    if suffix == "a":
        return (a_major, a_minor) == (major, minor)
    if suffix == "f" or not ptx:  # SASS, and family PTX: the same major, no newer minor
        return a_major == major and a_minor <= minor
    return (a_major, a_minor) <= (major, minor)


def _name(prefix: str, arch: tuple[int, int, str]) -> str:
    return f"{prefix}{arch[0] * 10 + arch[1]}{arch[2]}"


def arch_coverage(capability: Any, sass: Any, ptx: Any) -> Coverage:
    """Whether a device of compute ``capability`` runs kernels built as ``sass`` (real architectures) and
    ``ptx`` (virtual ones), and from which image: a pure function of its arguments (no GPU needed). Lists
    holding ``"?"`` (architectures the build could not tell) give ``Coverage("unknown", None)``.

    >>> arch_coverage((8, 6), ["sm_75", "sm_80", "sm_90"], ["compute_90"])
    Coverage(kind='native', arch='sm_80')
    >>> arch_coverage("12.0", ["80", "90"], ["90"])
    Coverage(kind='ptx', arch='compute_90')
    >>> arch_coverage(70, ["sm_75", "sm_80"], ["compute_90"])
    Coverage(kind='none', arch=None)
    """
    sass, ptx = list(sass), list(ptx)
    if "?" in sass or "?" in ptx:
        return Coverage("unknown", None)
    major, minor = parse_capability(capability)
    newest = lambda a: (a[0], a[1], a[2] == "a")  # noqa: E731 - the newest image that runs, the exact variant first
    native_archs = [a for a in map(parse_arch, sass) if _runs_on(a, major, minor, ptx=False)]
    if native_archs:
        return Coverage("native", _name("sm_", max(native_archs, key=newest)))
    jit_archs = [a for a in map(parse_arch, ptx) if _runs_on(a, major, minor, ptx=True)]
    if jit_archs:
        return Coverage("ptx", _name("compute_", max(jit_archs, key=newest)))
    return Coverage("none", None)


def _arch_list(raw: str, prefix: str) -> list[str]:
    items = [a.strip() for a in str(raw).replace(";", ",").split(",") if a.strip()]
    return ["?" if a == "?" else f"{prefix}{a}" for a in items]


@functools.cache
def compiled_archs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What nvcc built into mgclr._C, as recorded at build time (CMake, cmake/MgclrCudaArchs.cmake): the real
    architectures (``("sm_75", "sm_80", ...)``) and the virtual ones (``("compute_90", ...)``); empty
    without the CUDA kernels."""
    if _C is None or not cuda_compiled():
        return (), ()
    raw = _C.build_info()
    return tuple(_arch_list(raw.get("cuda_sass", "?"), "sm_")), tuple(_arch_list(raw.get("cuda_ptx", "?"), "compute_"))


@functools.cache
def cuda_device_coverage(index: Optional[int] = None) -> Coverage:
    """How CUDA device ``index`` (the current one when None) runs this build's kernels (cached per device)."""
    import torch

    index = torch.cuda.current_device() if index is None else index
    return arch_coverage(torch.cuda.get_device_capability(index), *compiled_archs())


def _rebuild_hint(major: int, minor: int) -> str:
    hint = f"rebuild for it with MGCLR_CUDA_ARCHITECTURES={major}{minor} pip install --no-build-isolation ."
    runtime = int(_C.build_info()["cuda_runtime_version"]) if _C is not None else 0
    if (major, minor) < (7, 5) and runtime >= 13000:
        return hint + " and a CUDA 12 nvcc on PATH (CUDA 13 builds sm_75 and newer only)"
    return hint + " (nvcc on PATH)"


def uncovered_message(index: Optional[int] = None, capability: Any = None, name: Optional[str] = None) -> str:
    """The one line a CUDA tensor on a device that no built kernel covers gets: the device, its compute
    capability, the architectures built and how to rebuild (``capability`` / ``name`` for tests)."""
    if capability is None or name is None:
        import torch

        index = torch.cuda.current_device() if index is None else index
        capability = torch.cuda.get_device_capability(index) if capability is None else capability
        name = torch.cuda.get_device_name(index) if name is None else name
    major, minor = parse_capability(capability)
    sass, ptx = compiled_archs()
    where = f"cuda:{index} " if index is not None else ""
    return (f"mgclr's CUDA kernels cannot run on {where}({name}, compute capability {major}.{minor}): this build has "
            f"SASS for {', '.join(sass) or 'none'} and PTX for {', '.join(ptx) or 'none'}; "
            f"{_rebuild_hint(major, minor)}, or move the tensors to the CPU")


def gpu_coverage() -> list[dict]:
    """Each visible GPU and how this build covers it (empty without a usable torch.cuda)."""
    import torch

    if not torch.cuda.is_available():
        return []
    sass, ptx = compiled_archs()
    out = []
    for index in range(torch.cuda.device_count()):
        major, minor = torch.cuda.get_device_capability(index)
        cov = arch_coverage((major, minor), sass, ptx) if cuda_compiled() else Coverage("none", None)
        out.append({"index": index, "name": torch.cuda.get_device_name(index), "capability": f"{major}.{minor}",
                    "coverage": cov.kind, "image": cov.arch})
    return out


def cpu_bf16() -> str:
    """How this CPU multiplies bf16 matrices: ``"amx"`` (AMX tiles), ``"avx512_bf16"`` (AVX512-BF16 dot products)
    or ``"none"`` (no bf16 instructions: torch converts to fp32 and back, so bf16 autocast is slower than fp32
    here). torch's own CPU checks, which read CPUID."""
    import torch

    def has(name: str) -> bool:
        check = getattr(torch.cpu, name, None)
        try:
            return bool(check()) if check is not None else False
        except Exception:  # an older torch without the check: say "none" rather than guess
            return False

    if has("_is_amx_tile_supported"):
        return "amx"
    return "avx512_bf16" if has("_is_avx512_bf16_supported") else "none"


def build_info() -> dict:
    """Version, CUDA (compiled; ``cuda_archs`` as asked, ``cuda_sass`` / ``cuda_ptx`` as built; runtime),
    OpenMP and NVTX support, the CPU's vector capability (torch's) and bf16 support (:func:`cpu_bf16`), each
    visible GPU with how the build covers it (``gpus``: ``coverage`` native, ptx, none or unknown, and the
    ``image`` the driver picks), and whether a GPU is usable now."""
    import torch

    from . import __version__

    if _C is None:
        info: dict[str, Any] = {
            "version": __version__,
            "extension": False,
            "extension_error": str(_IMPORT_ERROR),
            "cuda_compiled": False,
            "cuda_archs": [],
            "cuda_sass": [],
            "cuda_ptx": [],
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
            "cuda_sass": list(compiled_archs()[0]),
            "cuda_ptx": list(compiled_archs()[1]),
            "cuda_runtime_version": f"{runtime // 1000}.{runtime % 1000 // 10}" if runtime else None,
            "openmp": bool(raw["openmp"]),
            "nvtx_in_kernels": bool(raw["nvtx"]),
        }
    info["torch"] = torch.__version__
    info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    info["cpu_bf16"] = cpu_bf16()
    info["gpus"] = gpu_coverage()
    info["gpu_usable"] = cuda_available()
    try:
        import nvtx  # noqa: F401

        info["nvtx_python"] = True
    except ImportError:
        info["nvtx_python"] = False
    return info
