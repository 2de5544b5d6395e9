"""Shared fixtures: CUDA skip marker, real-data location, small skeleton inputs and layouts of any size."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import pytest
import torch

import mgclr
from mgclr.augment import Flip
from mgclr.skeleton import Layout

CUDA_REASON = ("needs a CUDA GPU and mgclr built with its CUDA kernels "
               f"(build_info: cuda_compiled={mgclr.build_info()['cuda_compiled']}, "
               f"torch.cuda.is_available()={torch.cuda.is_available()})")
requires_cuda = pytest.mark.skipif(not mgclr.cuda_available(), reason=CUDA_REASON)


class CudaTarget:
    """Where a CUDA test runs mgclr's CUDA kernels: ``"cuda"`` (a real GPU) or ``"emulated"`` (the same
    csrc/cuda sources built as C++ against csrc/emu, mgclr._C_emu: CPU tensors inside emulated_cuda())."""

    def __init__(self, name: str):
        self.name = name
        self.emulated = name == "emulated"

    def to(self, t):
        return t.clone() if self.emulated else t.cuda()

    def device(self) -> str:
        return "cpu" if self.emulated else "cuda"

    def running(self):
        from mgclr._ext import emulated_cuda

        return emulated_cuda() if self.emulated else contextlib.nullcontext()

    def synchronize(self) -> None:
        if not self.emulated:
            torch.cuda.synchronize()


def _emulation_built() -> bool:
    from mgclr._ext import emulation_built

    return emulation_built()


EMU_REASON = "mgclr._C_emu not built (MGCLR_CUDA_EMULATION=ON pip install . builds the emulated CUDA kernels)"
# The real GPU variant carries the `cuda` marker (benchmarks/gpu_check.sh runs -m cuda); the emulated one
# runs everywhere the emulation is built, CI included.
CUDA_TARGETS = [
    pytest.param("cuda", marks=[pytest.mark.cuda, requires_cuda], id="cuda"),
    pytest.param("emulated", marks=pytest.mark.skipif(not _emulation_built(), reason=EMU_REASON), id="emulated"),
]


@pytest.fixture(params=CUDA_TARGETS)
def cuda_target(request) -> CudaTarget:
    return CudaTarget(request.param)


def data_dir() -> Path:
    """../shared/data next to the repository, or $MGCLR_DATA_DIR."""
    env = os.environ.get("MGCLR_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def parity_dir(kind: str) -> Path:
    """../shared/parity/<kind> (golden fixtures of the released code) next to the repository, or
    $MGCLR_PARITY_DIR/<kind>."""
    env = os.environ.get("MGCLR_PARITY_DIR")
    return (Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "parity") / kind


def star_layout(num_joints: int) -> Layout:
    """A valid layout of any size: a centre joint and left/right pairs, all attached to the centre."""
    names = ["centre"]
    while len(names) < num_joints:
        k = len(names) // 2
        names += [f"left_j{k}", f"right_j{k}"]
    names = names[:num_joints]
    if num_joints % 2 == 0:  # an even count leaves one unpaired side joint: make it central
        names[-1] = "tail"
    bones = [(i, 0) for i in range(1, num_joints)]
    return Layout.custom(f"star{num_joints}", names, bones, 0)


# The arguments that select an op's released variant (tests/test_parity_augment.py): every kernel battery
# runs them beside the defaults.
RELEASED_VARIANTS = [
    ("temporal_crop", {"padding": "symmetric"}),
    ("random_rotate", {"clockwise": True}),
    ("euler_rotate", {"clockwise": True}),
    ("axis_rotate", {"clockwise": True}),
    ("gaussian_noise", {"skip_missing": False}),
    ("gaussian_blur", {"normalized": False}),
]
RELEASED_IDS = [f"{name}-{next(iter(args))}" for name, args in RELEASED_VARIANTS]


def make_transform(cls, num_joints: int, **kwargs):
    if cls is Flip:
        kwargs.setdefault("layout", star_layout(num_joints))
        kwargs.setdefault("mirror_x", True)
    return cls(**kwargs)


def skeleton_batch(N=4, C=3, T=24, V=7, M=2, *, seed=0, short=True, absent_person=True):
    """Random smooth-ish skeletons, with lengths shorter than T and an absent second person in some samples."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(N, C, 1, V, M, generator=g)
    drift = torch.randn(N, C, 1, V, M, generator=g) * 0.1
    t = torch.arange(T, dtype=torch.float32).view(1, 1, T, 1, 1)
    x = base + drift * torch.sin(t / 3.0) + 0.01 * torch.randn(N, C, T, V, M, generator=g)
    if absent_person and M > 1:
        x[N // 2:, :, :, :, 1] = 0
    if short:
        lengths = torch.randint(1, T + 1, (N,), generator=g)
        lengths[0] = T
    else:
        lengths = torch.full((N,), T)
    valid = (torch.arange(T).view(1, T) < lengths.view(N, 1)).view(N, 1, T, 1, 1)
    return x * valid, lengths


def file_rendezvous(folder: Path) -> str:
    """The ``init_method`` of a gloo test's processes: a store in a file of ``folder``. Unlike a TCP store, which
    rank 0 hosts, nobody owns it, so a rank that tears down first cannot abort another's teardown (seen: rank 1
    killed by SIGABRT in ``destroy_process_group`` after rank 0 had left, once in a CI run)."""
    return f"file://{Path(folder) / 'rendezvous'}"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the rendezvous of a gloo test's processes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    """The fake OpenAI-compatible server of tests/test_llm_client.py on 127.0.0.1, closed after the test."""
    from test_llm_client import FakeServer

    s = FakeServer()
    yield s
    s.close()


def pytest_collection_modifyitems(config, items):
    """A plain `pytest` leaves out the tests marked slow (the learning runs, minutes each on two cores: CI runs
    them as its own step, `pytest -m slow`); a -m expression, or a test named by its node id, decides itself."""
    if config.option.markexpr or any("::" in str(arg) for arg in config.args):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
