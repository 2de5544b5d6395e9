"""Pipeline: fused == one op at a time, two views, replay, OneOf, presets, dtypes, torch.library."""

from __future__ import annotations

import pytest
import torch
from conftest import make_transform, skeleton_batch

from mgclr.augment import (
    ALL_TRANSFORMS,
    AxisMask,
    CoordinatePerturbation,
    CropResize,
    Flip,
    GaussianBlur,
    GaussianNoise,
    JointMask,
    JointShake,
    OneOf,
    Pipeline,
    PosterizeTime,
    RepeatClip,
    Shear,
    Stretch,
    TemporalCrop,
    ViewPerturbation,
    aimclr_extreme,
    isc,
    mgclr_extreme,
    paper_best,
    skeletonclr,
)
from mgclr.ops.augment import augment_op
from mgclr.ops.reference import augment_reference

MIXED = [
    [CropResize(min_len=4, out_frames=20), Shear(), JointShake()],
    [CoordinatePerturbation(), Stretch(), PosterizeTime()],
    [Shear(), TemporalCrop(), ViewPerturbation(), CoordinatePerturbation(), GaussianNoise(p=1.0)],
    [RepeatClip(), CropResize(min_len=4, out_frames=15), JointMask(joints=(1, 3)), AxisMask(p=1.0),
     GaussianBlur(p=1.0)],
]


def _flip_pipeline(V):
    return [TemporalCrop(), make_transform(Flip, V, p=0.7), CoordinatePerturbation(m=2), Shear(),
            JointMask(joints=(1, 2)), GaussianNoise(p=1.0)]


def _sequential(pipe, x, lengths, params, view=0):
    """Apply the pipeline's ops one at a time with the kernel, replaying each op's recorded parameters."""
    y, L = x, lengths
    for j, op in enumerate(pipe.ops):
        single = Pipeline([op], coord_channels=pipe.coord_channels)
        sub = params.select_op(j)
        sub.records = sub.records[view:view + 1]
        y, info = single(y, L, params=sub, return_params=True)
        L = info.lengths[0]
    return y, L


@pytest.mark.parametrize("ops_", MIXED + ["flip"], ids=["isc-like", "paper", "spatial", "resample2", "flip"])
@pytest.mark.parametrize("cc", [2, 3])
def test_fused_equals_one_op_at_a_time_and_reference(ops_, cc):
    x, lengths = skeleton_batch(5, 3, 24, 7, 2, seed=11)
    ops_ = _flip_pipeline(7) if ops_ == "flip" else ops_
    pipe = Pipeline(ops_, coord_channels=cc, two_views=True)
    (q, k), params = pipe(x, lengths, seed=21, return_params=True)
    for view, out in enumerate((q, k)):
        seq, seq_len = _sequential(pipe, x, lengths, params, view)
        assert torch.equal(seq_len, params.lengths[view])
        torch.testing.assert_close(out, seq, rtol=1e-5, atol=1e-5)
        ref, _ = augment_reference(x, lengths, params, pipe.ops, cc, view=view)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_execution_order_is_canonical_and_stable():
    pipe = Pipeline([GaussianNoise(), Shear(), TemporalCrop(), AxisMask(), ViewPerturbation(), GaussianBlur()])
    assert pipe.execution_order == ("temporal_crop", "shear", "view_perturbation", "gaussian_noise", "axis_mask",
                                    "gaussian_blur")


def test_two_views_differ_and_replay_is_exact():
    x, lengths = skeleton_batch(6, 3, 30, 25, 2, seed=1)
    pipe = aimclr_extreme(two_views=True)
    (q, k), params = pipe(x, lengths, seed=4, return_params=True)
    assert not torch.equal(q, k)
    q2, k2 = pipe(x, lengths, params=params)
    assert torch.equal(q, q2) and torch.equal(k, k2)
    single = Pipeline(list(pipe.ops))
    out = single(x, lengths, seed=4)
    assert torch.equal(out, q)  # view 0 of a two-view call == the one-view call with the same seed


def test_one_of_applies_exactly_one_member():
    x, lengths = skeleton_batch(64, 3, 10, 5, 1, seed=2)
    pipe = Pipeline([OneOf([Shear(), JointShake()])])
    _, params = pipe(x, lengths, seed=0, return_params=True)
    chosen = params.applied(0).int() + params.applied(1).int()
    assert (chosen == 1).all()
    assert 10 < int(params.applied(0).sum()) < 54
    with pytest.raises(ValueError, match="one stage"):
        OneOf([Shear(), TemporalCrop()])


def test_deterministic_pipelines_do_not_depend_on_the_seed():
    x, lengths = skeleton_batch(8, 3, 20, 5, 1, seed=3)

    centre = Pipeline([CropResize(out_frames=12, eval_ratio=1.0), Shear(p=0.0),
                       OneOf([Shear(p=0), JointShake(p=0)])])
    assert centre.deterministic
    assert torch.equal(centre(x, lengths, seed=0), centre(x, lengths, seed=1))
    for random in (Pipeline([CropResize(out_frames=12, min_len=1)]),
                   Pipeline([CropResize(out_frames=12, eval_ratio=1.0), GaussianNoise(p=0.5)]),
                   Pipeline([OneOf([Shear(p=0), JointShake()])])):
        assert not random.deterministic
        assert not torch.equal(random(x, lengths, seed=0), random(x, lengths, seed=1))


def test_params_replace_writes_fields_by_name():
    """Editing drawn parameters by field (how the parity tests replay the released code's draws)."""
    x, lengths = skeleton_batch(4, 3, 30, 25, 2, seed=2)
    pipe = Pipeline([Shear(), JointShake(p=1.0)], two_views=True)
    (q, k), params = pipe(x, lengths, seed=4, return_params=True)
    identity = torch.eye(3).flatten().expand(4, 9)
    chosen = torch.zeros(4, 25, dtype=torch.bool)
    chosen[:, [0, 7, 24]] = True
    edited = params.replace("shear", view=1, matrix=identity).replace(
        "joint_shake", applied=torch.tensor([True, False, True, False]), joints=chosen, matrix_mode=torch.zeros(4))
    assert torch.equal(edited.fields("shear", view=1)["matrix"], identity)
    assert torch.equal(edited.fields("shear", view=0)["matrix"], params.fields("shear", view=0)["matrix"])
    assert torch.equal(edited.fields("joint_shake")["joints"], chosen)
    assert params.fields("joint_shake")["applied"].all()  # the original is not changed
    q2, k2 = pipe(x, lengths, params=edited)
    ref, _ = augment_reference(x, lengths, edited, pipe.ops, view=1)
    torch.testing.assert_close(k2, ref, rtol=1e-5, atol=1e-5)
    zeroed = (q2[:, :3, :, [0, 7, 24]] == 0).flatten(1).all(dim=1)
    assert zeroed.tolist() == [True, False, True, False]
    with pytest.raises(KeyError, match="'angle' is not a field of shear .*matrix"):
        params.replace("shear", angle=torch.zeros(4))


@pytest.mark.parametrize("preset", [paper_best, skeletonclr, isc, aimclr_extreme, mgclr_extreme])
def test_presets_run_and_match_reference(preset):
    x, lengths = skeleton_batch(4, 3, 80, 25, 2, seed=3)
    pipe = preset()
    out, params = pipe(x, lengths, seed=8, return_params=True)
    ref, _ = augment_reference(x, lengths, params, pipe.ops)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert torch.isfinite(out).all()


def test_paper_best_can_resize_to_a_fixed_length():
    x, lengths = skeleton_batch(3, 3, 50, 25, 1)
    out = paper_best(out_frames=16)(x, lengths, seed=0)
    assert out.shape == (3, 3, 16, 25, 1)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_computed_in_float32_and_cast_back(dtype):
    x, lengths = skeleton_batch()
    pipe = Pipeline([ViewPerturbation(), TemporalCrop()])
    out = pipe(x.to(dtype), lengths, seed=1)
    assert out.dtype == dtype
    expected = pipe(x.to(dtype).float(), lengths, seed=1)
    torch.testing.assert_close(out.float(), expected.to(dtype).float())


def test_non_contiguous_input():
    x, lengths = skeleton_batch(4, 3, 12, 5, 2)
    xt = x.transpose(3, 4).contiguous().transpose(3, 4)
    assert not xt.is_contiguous()
    pipe = Pipeline([ViewPerturbation(), RepeatClip()])
    assert torch.equal(pipe(xt, lengths, seed=2), pipe(x, lengths, seed=2))


def test_empty_batch_returns_empty():
    x = torch.zeros(0, 3, 10, 5, 2)
    out = paper_best(two_views=False)(x, torch.zeros(0, dtype=torch.int64), seed=1)
    assert out.shape == (0, 3, 10, 5, 2)
    q, k = isc(two_views=True)(x, seed=1)
    assert q.shape == (0, 3, 64, 5, 2)


def test_opcheck_and_torch_compile_fullgraph():
    x, lengths = skeleton_batch(3, 3, 12, 5, 2)
    pipe = Pipeline([CropResize(min_len=3, out_frames=8), ViewPerturbation(), GaussianNoise(p=1.0)], two_views=True)
    prog_i, prog_f = pipe.program(5, 12)
    torch.library.opcheck(augment_op, (x, lengths, prog_i, prog_f, 2, 7, 0, None))
    _, params = pipe(x, lengths, seed=7, return_params=True)
    torch.library.opcheck(augment_op, (x, lengths, prog_i, prog_f, 2, 7, 0, params.records))

    def step(inp):
        q, k = pipe(inp, seed=7)
        return q - k

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), step(x))


def test_a_pipeline_on_meta_tensors_gives_shapes():
    pipe = paper_best(out_frames=8, two_views=True)
    x = torch.empty(2, 3, 10, 25, 1, device="meta")
    (q, k), params = pipe(x, torch.full((2,), 10, device="meta"), seed=0, return_params=True)
    assert q.shape == k.shape == (2, 3, 8, 25, 1) and q.device.type == "meta"
    assert params.lengths[0].shape == (2,)


def test_every_transform_has_a_readable_repr():
    for cls in ALL_TRANSFORMS:
        text = repr(make_transform(cls, 5))
        assert cls.__name__ in text and "p=" in text


def test_works_in_forked_dataloader_workers_after_use_in_parent():
    """OpenMP runtimes can hang in a forked child once the parent has used them: run the real pattern
    (parent augments, then DataLoader workers augment) in a subprocess with a time limit."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import torch
        from mgclr.augment import isc
        pipe = isc(two_views=True)
        x = torch.randn(16, 3, 100, 25, 2); L = torch.randint(64, 101, (16,))
        pipe(x, L, seed=0)
        class DS(torch.utils.data.Dataset):
            def __len__(self): return 8
            def __getitem__(self, i): return pipe(x[i:i + 2], L[i:i + 2], seed=i)[0].sum()
        loader = torch.utils.data.DataLoader(DS(), batch_size=2, num_workers=2)
        print(len([b for b in loader]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4"


def test_out_buffer_is_reused_and_matches():
    x, lengths = skeleton_batch(4, 3, 30, 25, 2, seed=4)
    pipe = isc(out_frames=16, two_views=True)
    q, k = pipe(x, lengths, seed=5)
    buffer = torch.full((2, 4, 3, 16, 25, 2), float("nan"))
    q2, k2 = pipe(x, lengths, seed=5, out=buffer)
    assert q2.data_ptr() == buffer.data_ptr() and torch.equal(q2, q) and torch.equal(k2, k)
    single = torch.empty(4, 3, 16, 25, 2)
    assert torch.equal(isc(out_frames=16)(x, lengths, seed=5, out=single), q)
    with pytest.raises(ValueError, match=r"out: expected shape \(2, 4, 3, 16, 25, 2\)"):
        pipe(x, lengths, seed=5, out=single)
    with pytest.raises(TypeError, match="out: expected dtype"):
        pipe(x, lengths, seed=5, out=buffer.double())


def test_out_variant_passes_opcheck():
    from mgclr.ops.augment import augment_out_op

    x, lengths = skeleton_batch(3, 3, 12, 5, 2)
    pipe = Pipeline([CropResize(min_len=3, out_frames=8), ViewPerturbation()], two_views=True)
    prog_i, prog_f = pipe.program(5, 12)
    torch.library.opcheck(augment_out_op, (x, lengths, prog_i, prog_f, 2, 7, 0, None, torch.empty(2, 3, 3, 8, 5, 2)))


POINT_OPS = [op for op in ALL_TRANSFORMS if op is not Flip and op.stage_name in ("spatial", "pointwise")]


@pytest.mark.parametrize("op", POINT_OPS, ids=lambda op: op.op_name)
@pytest.mark.parametrize("cc", [2, 3])
def test_two_flips_around_a_point_op_match_the_reference(op, cc):
    """An even number of flips composes to the identity joint map, but the op between them sees each point at
    its mirrored joint (issue 18, finding 1): its joint choices and random streams follow that joint."""
    V = 7
    x, lengths = skeleton_batch(4, 3, 16, V, 2, seed=5)
    inner = op(p=1.0)
    pipe = Pipeline([make_transform(Flip, V, p=1.0), inner, make_transform(Flip, V, p=1.0)], coord_channels=cc,
                    two_views=True)
    (q, k), params = pipe(x, lengths, seed=3, return_params=True)
    for view, out in enumerate((q, k)):
        ref, _ = augment_reference(x, lengths, params, pipe.ops, cc, view=view)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
