"""CUDA kernels against the CPU kernels: bit-identical parameters, allclose outputs.

Every test runs on each CUDA target (conftest.CUDA_TARGETS): a real GPU when one is present, and the
emulation build of the same csrc/cuda sources (mgclr._C_emu) wherever it is built, CI included.
"""

from __future__ import annotations

import pytest
import torch
from conftest import RELEASED_IDS, RELEASED_VARIANTS, make_transform, requires_cuda, skeleton_batch

from mgclr.augment import (
    ALL_TRANSFORMS,
    TRANSFORMS,
    Flip,
    Pipeline,
    aimclr_extreme,
    isc,
    mgclr_extreme,
    paper_best,
    skeletonclr,
)

SHAPES = [(5, 3, 24, 7, 2, 3), (3, 3, 17, 5, 1, 2), (2, 4, 19, 6, 2, 3), (1, 3, 1, 3, 1, 3), (3, 3, 301, 25, 2, 3)]


def _compare(target, pipe, x, lengths, seed):
    (cpu_out, cpu_params) = pipe(x, lengths, seed=seed, return_params=True)
    with target.running():
        gpu_out, gpu_params = pipe(target.to(x), target.to(lengths), seed=seed, return_params=True)
    target.synchronize()
    rec_cpu, rec_gpu = cpu_params.records, gpu_params.records.cpu()
    assert torch.equal(cpu_params.lengths, gpu_params.lengths.cpu())
    # Integer words (decisions, frames, joints) must be bit-identical; float words (matrices from sin/cos,
    # lambda from a reduction) may differ by a few ulp.
    for j, op in enumerate(pipe.ops):
        float_words = {w for f in op.fields if f.kind == "f" for w in range(f.word, f.word + f.count)}
        int_words = [w for w in range(32) if w not in float_words]
        assert torch.equal(rec_gpu[:, :, j, int_words], rec_cpu[:, :, j, int_words]), op.op_name
        if float_words:
            fw = sorted(float_words)
            torch.testing.assert_close(rec_gpu[:, :, j, fw].view(torch.float32),
                                       rec_cpu[:, :, j, fw].view(torch.float32), rtol=1e-5, atol=1e-6)
    outs = (cpu_out, gpu_out) if isinstance(cpu_out, torch.Tensor) else None
    pairs = [outs] if outs else list(zip(cpu_out, gpu_out))
    for c, g in pairs:
        torch.testing.assert_close(g.cpu(), c, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
@pytest.mark.parametrize("shape", SHAPES, ids=["base", "2d", "extra", "tiny", "T301"])
@pytest.mark.parametrize("p", [0.5, 1.0])
def test_cuda_matches_cpu_for_every_op(cuda_target, cls, shape, p):
    N, C, T, V, M, cc = shape
    x, lengths = skeleton_batch(N, C, T, V, M, seed=T)
    _compare(cuda_target, Pipeline([make_transform(cls, V, p=p)], coord_channels=cc), x, lengths, seed=99)


@pytest.mark.parametrize("variant", RELEASED_VARIANTS, ids=RELEASED_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=["base", "2d", "extra", "tiny", "T301"])
def test_cuda_matches_cpu_for_released_variants(cuda_target, variant, shape):
    name, args = variant
    N, C, T, V, M, cc = shape
    x, lengths = skeleton_batch(N, C, T, V, M, seed=T + 1)
    _compare(cuda_target, Pipeline([TRANSFORMS[name](p=0.7, **args)], coord_channels=cc), x, lengths, seed=98)


POINT_OPS = [c for c in ALL_TRANSFORMS if c is not Flip and c.stage_name in ("spatial", "pointwise")]


@pytest.mark.parametrize("cls", POINT_OPS, ids=lambda c: c.op_name)
def test_cuda_matches_cpu_between_two_flips(cuda_target, cls):
    """An even number of flips composes to the identity joint map; the op between sees mirrored joints."""
    x, lengths = skeleton_batch(5, 3, 24, 7, 2, seed=1)
    pipe = Pipeline([make_transform(Flip, 7, p=1.0), make_transform(cls, 7, p=1.0), make_transform(Flip, 7, p=1.0)],
                    two_views=True)
    _compare(cuda_target, pipe, x, lengths, seed=4)


@pytest.mark.parametrize("preset", [paper_best, skeletonclr, isc, aimclr_extreme, mgclr_extreme])
def test_cuda_matches_cpu_for_presets_two_views(cuda_target, preset):
    x, lengths = skeleton_batch(16, 3, 120, 25, 2, seed=5)
    _compare(cuda_target, preset(two_views=True), x, lengths, seed=3)


@pytest.mark.cuda
@requires_cuda
def test_cuda_replay_and_current_stream():
    x, lengths = skeleton_batch(8, 3, 40, 25, 2)
    pipe = paper_best(two_views=True)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        (q, k), params = pipe(x.cuda(), lengths.cuda(), seed=2, return_params=True)
        q2, k2 = pipe(x.cuda(), lengths.cuda(), params=params)
    stream.synchronize()
    assert torch.equal(q, q2) and torch.equal(k, k2)


def test_emulated_replay_matches_sampling(cuda_target):
    x, lengths = skeleton_batch(8, 3, 40, 25, 2)
    pipe = paper_best(two_views=True)
    with cuda_target.running():
        (q, k), params = pipe(cuda_target.to(x), cuda_target.to(lengths), seed=2, return_params=True)
        q2, k2 = pipe(cuda_target.to(x), cuda_target.to(lengths), params=params)
    assert torch.equal(q, q2) and torch.equal(k, k2)


def test_cuda_opcheck(cuda_target):
    from mgclr.ops.augment import augment_op

    x, lengths = skeleton_batch(3, 3, 12, 5, 2)
    pipe = isc(out_frames=8, two_views=True)
    prog_i, prog_f = pipe.program(5, 12)
    with cuda_target.running():
        torch.library.opcheck(augment_op, (cuda_target.to(x), cuda_target.to(lengths), prog_i, prog_f, 2, 7, 0, None))


def test_cuda_out_buffer(cuda_target):
    x, lengths = skeleton_batch(8, 3, 40, 25, 2)
    pipe = isc(out_frames=16, two_views=True)
    with cuda_target.running():
        q, k = pipe(cuda_target.to(x), cuda_target.to(lengths), seed=2)
        buffer = torch.empty(2, 8, 3, 16, 25, 2, device=cuda_target.device())
        q2, k2 = pipe(cuda_target.to(x), cuda_target.to(lengths), seed=2, out=buffer)
    assert torch.equal(q, q2) and torch.equal(k, k2) and q2.data_ptr() == buffer.data_ptr()
