"""Fused augmentation kernel (CPU) against the pure-torch reference, for every op of the catalogue,
over seeds, coord_channels, persons, odd sizes, short lengths, probabilities and same_on_batch."""

from __future__ import annotations

import pytest
import torch
from conftest import RELEASED_IDS, RELEASED_VARIANTS, make_transform, skeleton_batch

from mgclr import ops
from mgclr.augment import ALL_TRANSFORMS, TRANSFORMS, CoordinatePerturbation, Pipeline
from mgclr.ops.reference import augment_reference

# (N, C, T, V, M, coord_channels): odd sizes exercise edge cases (T=1, V=1, N=1, T=301).
SHAPES = [
    (5, 3, 24, 7, 2, 3),
    (3, 3, 17, 5, 1, 2),
    (2, 4, 19, 6, 2, 3),  # an extra (confidence-like) channel carried along
    (1, 3, 1, 3, 1, 3),
    (3, 3, 12, 1, 2, 3),
    (2, 3, 301, 4, 1, 3),
]
IDS = ["N5T24V7M2", "2d", "extra-channel", "T1N1", "V1", "T301"]


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_kernel_matches_reference(cls, shape, p):
    N, C, T, V, M, cc = shape
    x, lengths = skeleton_batch(N, C, T, V, M, seed=N + T)
    pipe = Pipeline([make_transform(cls, V, p=p)], coord_channels=cc)
    for seed in (0, 12345):
        out, params = pipe(x, lengths, seed=seed, return_params=True)
        ref, ref_lengths = augment_reference(x, lengths, params, pipe.ops, cc)
        assert torch.equal(params.lengths[0], ref_lengths)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        if p == 0.0:
            assert not params.applied(0).any()
        if p == 1.0:
            assert params.applied(0).all()


@pytest.mark.parametrize("variant", RELEASED_VARIANTS, ids=RELEASED_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_released_variant_matches_reference(variant, shape):
    """The released variants' flags (symmetric padding, clockwise rotation, noise on missing points, the
    unnormalised blur) on short clips with absent persons, against the reference."""
    name, args = variant
    N, C, T, V, M, cc = shape
    x, lengths = skeleton_batch(N, C, T, V, M, seed=N + T + 1)
    pipe = Pipeline([TRANSFORMS[name](p=0.7, **args)], coord_channels=cc)
    for seed in (1, 777):
        out, params = pipe(x, lengths, seed=seed, return_params=True)
        ref, ref_lengths = augment_reference(x, lengths, params, pipe.ops, cc)
        assert torch.equal(params.lengths[0], ref_lengths)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_same_on_batch_shares_parameters(cls):
    x, _ = skeleton_batch(6, 3, 20, 5, 2, short=False)
    pipe = Pipeline([make_transform(cls, 5, p=0.5, same_on_batch=True)])
    out, params = pipe(x, seed=3, return_params=True)
    rec = params.records[0, :, 0]
    # Every word but the data-dependent lambda of coordinate_perturbation is shared.
    words = [w for w in range(32) if not (cls is CoordinatePerturbation and w == 2)]
    assert torch.equal(rec[:, words], rec[:1, words].expand_as(rec[:, words]))
    ref, _ = augment_reference(x, None, params, pipe.ops)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_coordinate_perturbation_lambda_matches_reference():
    x, lengths = skeleton_batch(8, 3, 30, 9, 2, seed=4)
    pipe = Pipeline([CoordinatePerturbation(m=3, tau=5.0, r_max=1.5)])
    _, params = pipe(x, lengths, seed=9, return_params=True)
    _, _, (lam,) = augment_reference(x, lengths, params, pipe.ops, return_lambdas=True)
    torch.testing.assert_close(params.fields(0)["lambda"], lam, rtol=1e-5, atol=1e-7)
    assert int(params.fields(0)["joints"].sum(dim=1).unique().item()) == 3


def test_lambda_follows_the_formula_on_known_motions():
    """lambda = (1/tau) clip(|L_fin - L_mid| / (|L_mid - L_sta| + eps), 0, r_max): motion only in the first
    half gives 0, only in the second half the clip r_max / tau, uniform motion 1 / tau."""
    T, V = 21, 4
    t = torch.linspace(0, 1, T).view(1, 1, T, 1, 1)
    ones = torch.ones(1, 3, T, V, 1)
    first_half = (torch.clamp(2 * t, max=1.0) * ones).contiguous()
    second_half = (torch.clamp(2 * t - 1, min=0.0) * ones + 1.0).contiguous()
    uniform = (t * ones + 1.0).contiguous()
    pipe = Pipeline([CoordinatePerturbation(tau=10.0, r_max=2.0)])
    lam = [pipe(x, seed=0, return_params=True)[1].fields(0)["lambda"].item()
           for x in (first_half, second_half, uniform)]
    assert lam == pytest.approx([0.0, 0.2, 0.1], abs=1e-5)


def test_functional_api_matches_module():
    x, lengths = skeleton_batch()
    out_f = ops.view_perturbation(x, lengths, a_main=1.0, seed=5)
    from mgclr.augment import ViewPerturbation

    out_m = ViewPerturbation(a_main=1.0)(x, lengths, seed=5)
    assert torch.equal(out_f, out_m)
    assert "a_main" in str(__import__("inspect").signature(ops.view_perturbation))


def test_parameters_are_within_their_ranges():
    import math

    x, lengths = skeleton_batch(64, 3, 40, 6, 1, seed=2)
    _, prm = ops.view_perturbation(x, lengths, a_main=math.pi, a_other=0.2, seed=1, return_params=True)
    f = prm.fields(0)
    main = f["angles"].gather(1, f["axis"].long().view(-1, 1)).abs()
    assert main.max() <= math.pi and (f["angles"].abs() <= 0.2 + 1e-7).sum() >= 2 * 64
    _, prm = ops.crop_resize(x, lengths, scale=(0.5, 1.0), min_len=4, out_frames=16, seed=1, return_params=True)
    f = prm.fields(0)
    L = lengths
    assert ((f["crop_length"] >= torch.clamp(L.min(), max=4)) & (f["crop_length"] <= L)).all()
    assert ((f["start"] >= 0) & (f["start"] + f["crop_length"] <= L)).all()
    _, prm = ops.posterize_time(x, lengths, k=5, seed=1, return_params=True)
    f = prm.fields(0)
    assert torch.equal(f["segment_lengths"].sum(1), (L - 2 * f["head"]).int())
    assert ((f["rates"][:, :5] >= 0.5) & (f["rates"][:, :5] <= 2.0)).all()


@pytest.mark.parametrize("cls_name", ["view_perturbation", "random_rotate", "euler_rotate", "axis_rotate"])
def test_rotation_records_hold_rz_ry_rx_of_their_angles(cls_name):
    from mgclr.augment import TRANSFORMS
    from mgclr.ops.reference import rotation_matrix

    x, lengths = skeleton_batch(32, 3, 8, 4, 1)
    _, params = Pipeline([TRANSFORMS[cls_name]()])(x, lengths, seed=2, return_params=True)
    f = params.fields(0)
    R = f["matrix"].view(-1, 3, 3)
    torch.testing.assert_close(R, rotation_matrix(f["angles"]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3).expand(32, 3, 3), rtol=1e-5, atol=1e-5)
