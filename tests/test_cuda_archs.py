"""Which GPUs a build covers: the pure coverage rule (compute capability x SASS / PTX built), the one-line error
a CUDA tensor gets on a GPU no kernel covers, `mgclr info`, CMake's record of what nvcc builds, and that record
against the binary itself (the fatbin images inside mgclr._C, when it was built with CUDA). And a wheel built
on one machine loading on another that lacks the system's OpenMP library."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mgclr
from mgclr import _ext
from mgclr._ext import Coverage, arch_coverage, parse_arch, parse_capability

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SASS = ["sm_75", "sm_80", "sm_90", "sm_100", "sm_120"]   # MGCLR_CUDA_ARCHITECTURES' default
DEFAULT_PTX = ["compute_90", "compute_120"]
OLD_SASS, OLD_PTX = ["sm_80", "sm_90"], ["compute_80", "compute_90"]   # the default before issue 27


@pytest.mark.parametrize("capability, expected", [
    ((7, 0), Coverage("none", None)),             # V100: CUDA 13 dropped it
    ((6, 1), Coverage("none", None)),             # GTX 10xx
    ((7, 5), Coverage("native", "sm_75")),        # T4, RTX 20xx
    ((8, 0), Coverage("native", "sm_80")),        # A100
    ((8, 6), Coverage("native", "sm_80")),        # RTX 30xx (the paper's 3090 Ti), A10, A40: sm_80 SASS runs
    ((8, 7), Coverage("native", "sm_80")),        # Jetson Orin
    ((8, 9), Coverage("native", "sm_80")),        # RTX 40xx, L4, L40
    ((9, 0), Coverage("native", "sm_90")),        # H100, H200
    ((10, 0), Coverage("native", "sm_100")),      # B200
    ((10, 3), Coverage("native", "sm_100")),      # B300
    ((11, 0), Coverage("ptx", "compute_90")),     # Jetson Thor: no SASS of major 11, compute_90 PTX JITs
    ((12, 0), Coverage("native", "sm_120")),      # RTX 50xx
    ((12, 1), Coverage("native", "sm_120")),      # DGX Spark
    ((13, 0), Coverage("ptx", "compute_120")),    # a GPU after them: the newest PTX
])
def test_default_architectures_cover(capability, expected):
    assert arch_coverage(capability, DEFAULT_SASS, DEFAULT_PTX) == expected


@pytest.mark.parametrize("capability, expected", [
    ((7, 5), Coverage("none", None)),             # the issue: T4 / RTX 20xx got no kernel
    ((7, 0), Coverage("none", None)),
    ((8, 6), Coverage("native", "sm_80")),
    ((8, 9), Coverage("native", "sm_80")),
    ((9, 0), Coverage("native", "sm_90")),
    ((10, 0), Coverage("ptx", "compute_90")),
    ((12, 0), Coverage("ptx", "compute_90")),
])
def test_old_default_architectures(capability, expected):
    assert arch_coverage(capability, OLD_SASS, OLD_PTX) == expected


@pytest.mark.parametrize("capability, sass, ptx, expected", [
    ((8, 9), ["86"], [], Coverage("native", "sm_86")),           # sm_86 SASS runs on 8.9 ...
    ((8, 0), ["86"], [], Coverage("none", None)),                # ... never on an older minor
    ((9, 0), ["86"], [], Coverage("none", None)),                # ... nor on another major
    ((8, 6), ["80", "86"], [], Coverage("native", "sm_86")),     # the newest SASS that runs
    ((8, 6), [], ["80"], Coverage("ptx", "compute_80")),         # PTX alone
    ((7, 5), [], ["80"], Coverage("none", None)),                # PTX never runs on an older GPU
    ((12, 0), [], ["80", "90"], Coverage("ptx", "compute_90")),  # the newest PTX that runs
    ((9, 0), ["90a"], ["90a"], Coverage("native", "sm_90a")),    # arch-specific: exactly 9.0
    ((10, 0), ["90a"], ["90a"], Coverage("none", None)),         # ... its PTX too
    ((10, 3), ["100f"], [], Coverage("native", "sm_100f")),      # family: 10.x
    ((12, 0), ["100f"], ["100f"], Coverage("none", None)),
    ((10, 3), [], ["100f"], Coverage("ptx", "compute_100f")),
    ((9, 0), ["sm_90"], ["compute_120"], Coverage("native", "sm_90")),
    ((8, 6), ["?"], ["?"], Coverage("unknown", None)),           # the build could not tell
    ((8, 6), [], [], Coverage("none", None)),
])
def test_coverage_rules(capability, sass, ptx, expected):
    assert arch_coverage(capability, sass, ptx) == expected


def test_capability_and_arch_forms():
    for form in [(8, 6), "8.6", 86, "86", "sm_86"]:
        assert parse_capability(form) == (8, 6)
    assert parse_capability("12.1") == parse_capability(121) == (12, 1)
    assert parse_arch("sm_90a") == (9, 0, "a") and parse_arch("compute_120") == (12, 0, "")
    assert parse_arch("100f") == (10, 0, "f") and parse_arch(75) == (7, 5, "")
    for bad in ["sm_", "native", "9", "sm_9x"]:
        with pytest.raises(ValueError, match="not a CUDA architecture"):
            parse_arch(bad)


@pytest.fixture
def fake_gpus(monkeypatch):
    """A CUDA build with the default architectures and two visible GPUs: cuda:0 an RTX 3090 Ti (8.6), cuda:1 a
    V100 (7.0) — torch.cuda answered without a GPU."""
    gpus = {0: ("NVIDIA GeForce RTX 3090 Ti", (8, 6)), 1: ("Tesla V100-SXM2-16GB", (7, 0))}
    monkeypatch.setattr(_ext, "cuda_compiled", lambda: True)
    monkeypatch.setattr(_ext, "compiled_archs", lambda: (tuple(DEFAULT_SASS), tuple(DEFAULT_PTX)))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(gpus))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=None: gpus[0 if i is None else i][1])
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=None: gpus[0 if i is None else i][0])
    _ext.cuda_device_coverage.cache_clear()
    yield gpus
    _ext.cuda_device_coverage.cache_clear()


class _OnDevice:
    """Stands in for a CUDA tensor: cuda_kernels_for reads only its device (there is no GPU here)."""

    def __init__(self, index):
        self.device = torch.device("cuda", index)


def test_uncovered_gpu_gets_one_clear_line(fake_gpus):
    with pytest.raises(RuntimeError) as err:
        _ext.cuda_kernels_for(_OnDevice(1))
    msg = str(err.value)
    assert "\n" not in msg and "no kernel image" not in msg
    for part in ["cuda:1", "Tesla V100", "compute capability 7.0", "sm_75, sm_80, sm_90, sm_100, sm_120",
                 "compute_90, compute_120", "MGCLR_CUDA_ARCHITECTURES=70", "pip install"]:
        assert part in msg, part
    assert _ext.cuda_device_coverage(1) == Coverage("none", None)
    assert _ext.cuda_device_coverage(0) == Coverage("native", "sm_80")
    assert _ext.cuda_available()  # the current device, cuda:0, is covered


def test_uncovered_message_forms(monkeypatch):
    monkeypatch.setattr(_ext, "compiled_archs", lambda: (("sm_80", "sm_90"), ("compute_80", "compute_90")))
    msg = _ext.uncovered_message(0, capability=(7, 5), name="Tesla T4")
    assert msg.startswith("mgclr's CUDA kernels cannot run on cuda:0 (Tesla T4, compute capability 7.5)")
    assert "SASS for sm_80, sm_90 and PTX for compute_80, compute_90" in msg
    assert "MGCLR_CUDA_ARCHITECTURES=75 pip install --no-build-isolation ." in msg


def test_info_names_each_gpu_and_its_coverage(fake_gpus, monkeypatch, capsys):
    from mgclr.cli import main

    gpus = _ext.gpu_coverage()
    assert [(g["capability"], g["coverage"], g["image"]) for g in gpus] == [("8.6", "native", "sm_80"),
                                                                          ("7.0", "none", None)]
    info = {"version": mgclr.__version__, "cuda_compiled": True, "cuda_archs": ["75-real", "80-real", "90"],
            "cuda_sass": DEFAULT_SASS, "cuda_ptx": DEFAULT_PTX, "gpus": gpus, "gpu_usable": True}
    monkeypatch.setattr(mgclr, "build_info", lambda: info)
    assert main(["info"]) == 0
    out = "\n".join(" ".join(line.split()) for line in capsys.readouterr().out.splitlines())  # padding: one space
    assert "sm_75, sm_80, sm_90, sm_100, sm_120" in out and "compute_90, compute_120" in out
    assert "gpu 0 NVIDIA GeForce RTX 3090 Ti, compute capability 8.6: native (sm_80 SASS)" in out
    assert "gpu 1 Tesla V100-SXM2-16GB, compute capability 7.0: NOT covered" in out
    assert "MGCLR_CUDA_ARCHITECTURES=70" in out


# ------------------------------------------------------------------------ the build's record ----


@pytest.mark.parametrize("archs, sass, ptx", [
    ("75-real;80-real;90;100-real;120", "75,80,90,100,120", "90,120"),   # the default
    ("80;90", "80,90", "80,90"),                                         # the old default
    ("86-real;90-virtual", "86", "90"),
    ("90a", "90a", "90a"),
    ("100f-real;120f", "100f,120f", "120f"),
    ("OFF", "?", "?"),                                                   # nvcc's own default: unknown
])
def test_cmake_records_what_nvcc_builds(archs, sass, ptx):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not on PATH")
    out = subprocess.run([cmake, f"-DMGCLR_ARCHS={archs}", "-P", str(ROOT / "cmake" / "MgclrCudaArchs.cmake")],
                         capture_output=True, text=True, check=True)
    assert f"sass={sass} ptx={ptx}" in out.stderr


def test_default_architectures_agree():
    """CMakeLists.txt and pyproject.toml (what pip passes) have the same default."""
    cmake = (ROOT / "CMakeLists.txt").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    default = "75-real;80-real;90;100-real;120"
    assert f'set(MGCLR_CUDA_ARCHITECTURES "{default}" CACHE STRING' in cmake
    assert f'MGCLR_CUDA_ARCHITECTURES = {{ env = "MGCLR_CUDA_ARCHITECTURES", default = "{default}" }}' in pyproject


FATBIN_MAGIC = 0xBA55ED50


def _elf_section(path: Path, name: str) -> bytes | None:
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "a 64-bit little-endian ELF file"
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = sections[shstrndx][4]
    for sec in sections:
        start = names + sec[0]
        if data[start:data.index(b"\0", start)].decode() == name:
            return data[sec[4]:sec[4] + sec[5]]
    return None


def _fatbin_images(blob: bytes) -> list[tuple[str, int]]:
    """(kind, arch) of every image of a .nv_fatbin section ("ptx" / "elf", 80 for sm_80): each fat binary is
    a 16-byte header (magic, version, header size, size) followed by images, each with a header holding its
    kind at 0, header size at 4, payload size at 8 and architecture at 28 (what cuobjdump --list-elf
    --list-ptx lists; checked against it on nvcc 13.0 output)."""
    images, pos = [], 0
    while pos + 16 <= len(blob):
        magic, _, header_size, fat_size = struct.unpack_from("<IHHQ", blob, pos)
        if magic != FATBIN_MAGIC:
            pos += 8
            continue
        entry, end = pos + header_size, pos + header_size + fat_size
        while entry < end:
            kind, _, entry_header, size = struct.unpack_from("<HHIQ", blob, entry)
            (arch,) = struct.unpack_from("<I", blob, entry + 28)
            images.append(({1: "ptx", 2: "elf"}.get(kind, str(kind)), arch))
            entry += entry_header + size
        pos = end
    return images


def _number(arch: str) -> int:
    major, minor, _ = parse_arch(arch)
    return major * 10 + minor


@pytest.mark.skipif(not _ext.cuda_compiled(), reason="mgclr._C was built without its CUDA kernels")
def test_build_record_matches_the_binary():
    info = mgclr.build_info()
    sass, ptx = info["cuda_sass"], info["cuda_ptx"]
    assert sass or ptx, f"a CUDA build records what it compiled: {info}"
    assert "?" not in sass + ptx, f"the build could not tell its architectures ({info['cuda_archs']})"
    blob = _elf_section(Path(_ext._C.__file__), ".nv_fatbin")
    assert blob, "mgclr._C has no .nv_fatbin section"
    images = _fatbin_images(blob)
    assert {a for kind, a in images if kind == "elf"} == {_number(a) for a in sass}, (images, sass)
    assert {a for kind, a in images if kind == "ptx"} == {_number(a) for a in ptx}, (images, ptx)


def test_fatbin_reader_on_a_known_image():
    """The reader above on a fat binary laid out as nvcc 13.0 writes one (two images: sm_80 SASS and
    compute_90 PTX), so that a change in how it walks is caught without a CUDA build."""
    def image(kind, arch, payload):
        header = struct.pack("<HHIQIIHHIIIQQQ", kind, 0x101, 64, len(payload), 0, 0, 8, 1, arch, 0, 0, 0, 0, 0)
        return header + payload
    body = image(2, 80, b"\x7fELF" + bytes(60)) + image(1, 90, b".version 9.0\n\0\0\0")
    blob = bytes(8) + struct.pack("<IHHQ", FATBIN_MAGIC, 1, 16, len(body)) + body
    assert _fatbin_images(blob) == [("elf", 80), ("ptx", 90)]


@pytest.mark.cuda
@pytest.mark.skipif(not (_ext.cuda_compiled() and torch.cuda.is_available()), reason="needs a GPU and mgclr built "
                    "with its CUDA kernels")
def test_real_gpu_runs_the_image_the_rule_names():
    """On a real GPU (benchmarks/gpu_check.sh): the rule says the device is covered exactly when a kernel runs,
    and an uncovered one gets the one-line error, never CUDA's "no kernel image is available"."""
    q = torch.nn.functional.normalize(torch.randn(8, 16, device="cuda"), dim=1)
    queue = torch.nn.functional.normalize(torch.randn(64, 16, device="cuda"), dim=1)
    coverage = _ext.cuda_device_coverage(torch.cuda.current_device())
    if coverage.kind == "none":
        with pytest.raises(RuntimeError, match="cannot run on cuda:.*MGCLR_CUDA_ARCHITECTURES="):
            mgclr.ops.queue_infonce(q, q, queue, 0.1, impl="fused")
        return
    loss = mgclr.ops.queue_infonce(q, q, queue, 0.1, impl="fused")
    expected = mgclr.ops.queue_infonce(q, q, queue, 0.1, impl="reference")
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)


def test_extension_loads_without_the_systems_libgomp():
    """A wheel taken to a machine without a compiler often finds no libgomp.so.1 there (python:*-slim images);
    mgclr._C then binds to the one torch's wheel carries (_ext imports torch and tries once more), whether or
    not torch was imported first. The system's library is hidden in a private mount namespace."""
    if not mgclr.build_info()["openmp"]:
        pytest.skip("mgclr._C was built without OpenMP")
    torch_gomp = Path(torch.__file__).parent / "lib" / "libgomp.so.1"
    if os.geteuid() != 0 or shutil.which("unshare") is None or not torch_gomp.exists():
        pytest.skip("needs root, unshare and a torch wheel that carries lib/libgomp.so.1")
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    listed = subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout.splitlines()
    system = [line.split("=>")[-1].strip() for line in listed if line.strip().startswith("libgomp.so.1 ")]
    if not system:
        pytest.skip("no system libgomp.so.1 to hide")
    code = ("import mgclr._ext as e; assert e._C is not None, e._IMPORT_ERROR; "
            "print(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libgomp' in l}))")
    script = 'mount --bind /dev/null "$2" || exit 77; exec "$0" -c "$1"'
    run = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, code, os.path.realpath(system[0])],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT / "tests"))
    if run.returncode == 77:
        pytest.skip(f"cannot mount in a private namespace here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert str(torch_gomp.resolve()) in run.stdout or str(torch_gomp) in run.stdout, run.stdout
