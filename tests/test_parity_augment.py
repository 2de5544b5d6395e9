"""Parity with the released augmentation code: every golden fixture in ../shared/parity/augment/ replayed
through mgclr's fused kernels (CPU, and the CUDA kernels on a GPU or on the emulation).

Each fixture holds an input, the draws the released function made (AimCLR / CrosSCLR ``feeder/tools.py``,
ISC ``feeder/augmentations.py``, CTR-GCN and AS-CAL ``feeders/tools.py``) in mgclr's record fields, and the
released output. The draws are written into the records of a call (``AugmentParams.replace``) and replayed;
the output must match within the fixtures' README tolerance (1e-6 at these magnitudes: mgclr computes in
float32, the released code partly in float64). The ops are the ones the presets and the configs that name
these methods use, with the released variants' arguments.
"""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest
import torch
from conftest import CUDA_TARGETS, CudaTarget, parity_dir

from mgclr.augment import (
    AxisMask,
    AxisRotate,
    CropResize,
    EulerRotate,
    Flip,
    GaussianBlur,
    GaussianNoise,
    JointShake,
    Pipeline,
    RandomRotate,
    Shear,
    TemporalCrop,
    TimeFlip,
    presets,
)
from mgclr.ops.reference import rotation_matrix
from mgclr.skeleton import get_layout

FIXTURES = parity_dir("augment")
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"the parity fixtures are not at {FIXTURES}")

TOLERANCE = 1e-6  # the README's tolerance for "same" (observed 5.4e-7)

# Every file of the folder and the test that reads it (test_every_fixture_is_read checks both ways).
FIXTURE_TESTS = {
    "aimclr_shear.npz": "test_aimclr_shear",
    "aimclr_temporal_crop.npz": "test_aimclr_temporal_crop_symmetric_padding",
    "aimclr_random_spatial_flip.npz": "test_aimclr_random_spatial_flip",
    "aimclr_random_time_flip.npz": "test_aimclr_random_time_flip",
    "aimclr_axis_mask.npz": "test_aimclr_axis_mask",
    "aimclr_random_rotate.npz": "test_aimclr_random_rotate_clockwise",
    "ascal_rotate.npz": "test_ascal_rotate_clockwise",
    "ctrgcn_random_rot.npz": "test_ctrgcn_random_rot_clockwise",
    "aimclr_gaus_filter.npz": "test_aimclr_gaus_filter_unnormalised",
    "isc_temporal_cropresize.npz": "test_valid_crop_resize",
    "ctrgcn_valid_crop_resize.npz": "test_valid_crop_resize",
    "isc_crop_subsequence_eval.npz": "test_isc_crop_subsequence_eval",
    "isc_joint_courruption.npz": "test_isc_joint_courruption",
    "isc_pose_augmentation.npz": "test_isc_pose_augmentation",
    "isc_view_chain.npz": "test_isc_view_chain_through_the_preset",
    "summary.json": "test_presets_replay_the_released_chains",
}


def load(name: str):
    return np.load(FIXTURES / name, allow_pickle=False)


@pytest.fixture(params=["cpu"] + CUDA_TARGETS)
def target(request):
    return None if request.param == "cpu" else CudaTarget(request.param)


def replay(ops, x, lengths, target, fields):
    """Run ``ops`` as one pipeline on ``x`` once to get records, overwrite ``fields`` ({op: {field: value}}) and
    replay them; returns the output as float64 numpy. ``target``: None (CPU) or a CudaTarget."""
    pipeline = Pipeline(ops)
    x = torch.as_tensor(x)
    lengths = None if lengths is None else torch.as_tensor(lengths)
    _, params = pipeline(x, lengths, seed=0, return_params=True)
    for op, values in fields.items():
        params = params.replace(op, **values)
    if target is None:
        out = pipeline(x, lengths, params=params)
    else:
        with target.running():
            out = pipeline(target.to(x), None if lengths is None else target.to(lengths),
                           params=params.to(target.device()))
    return out.cpu().double().numpy()


def close(out, expected, atol=TOLERANCE):
    diff = np.abs(out - expected).max()
    assert diff <= atol, f"max |mgclr - released| = {diff:.3g} > {atol:g}"
    return diff


def joints_mask(indices, V=25):
    mask = np.zeros((len(indices), V), dtype=bool)
    for n, chosen in enumerate(indices):
        mask[n, chosen[chosen >= 0]] = True
    return mask


# --------------------------------------------------------------------------- AimCLR / CrosSCLR tools.py


def test_aimclr_shear(target):
    z = load("aimclr_shear.npz")
    out = replay([Shear(r=float(z["r"]))], z["x"], None, target, {"shear": {"matrix": z["mgclr_matrix"]}})
    close(out, z["published_out"])


def test_aimclr_temporal_crop_symmetric_padding(target):
    z = load("aimclr_temporal_crop.npz")
    assert (z["lengths"] == z["x"].shape[2]).all()  # the released regime: every frame valid
    fields = {"temporal_crop": {"start": z["mgclr_start"]}}
    crop = TemporalCrop(ratio=int(z["ratio"]), padding="symmetric")
    out = replay([crop], z["x"], z["lengths"], target, fields)
    close(out, z["published_out"])
    # The frame map itself: output frame t reads the released source frame.
    _, params = Pipeline([crop])(torch.as_tensor(z["x"]), seed=0, return_params=True)
    assert (params.fields("temporal_crop")["pad"].numpy() == z["mgclr_pad"]).all()
    # mgclr's default (reflect) differs exactly on the frames taken from the padding.
    reflected = replay([TemporalCrop(ratio=int(z["ratio"]))], z["x"], z["lengths"], target, fields)
    padded = (z["published_source_frame"] != np.arange(50) + z["mgclr_start"][:, None] - z["mgclr_pad"][:, None])
    assert padded.any() and np.abs(reflected - z["published_out"]).max() > 1e-3


def test_aimclr_random_spatial_flip(target):
    z = load("aimclr_random_spatial_flip.npz")
    assert list(z["permutation"]) == list(get_layout("ntu25").flip_permutation())
    out = replay([Flip("ntu25")], z["x"], None, target, {"flip": {"applied": z["mgclr_applied"]}})
    close(out, z["published_out"], atol=0.0)


def test_aimclr_random_time_flip(target):
    z = load("aimclr_random_time_flip.npz")
    out = replay([TimeFlip()], z["x"], None, target, {"time_flip": {"applied": z["mgclr_applied"]}})
    close(out, z["published_out"], atol=0.0)


def test_aimclr_axis_mask(target):
    z = load("aimclr_axis_mask.npz")
    fields = {"axis_mask": {"applied": z["mgclr_applied"], "axis": z["mgclr_axis"]}}
    out = replay([AxisMask()], z["x"], None, target, fields)
    close(out, z["published_out"], atol=0.0)


def clockwise_matrices(angles):
    """What the kernels build for ``clockwise=True``: R from the negated angles (checked against the
    released matrices below and against the kernels' own draws in test_clockwise_draws_*)."""
    return rotation_matrix(-torch.as_tensor(angles, dtype=torch.float64)).float().numpy()


def test_aimclr_random_rotate_clockwise(target):
    z = load("aimclr_random_rotate.npz")
    assert np.allclose(np.radians(z["published_draws_angles_deg"]), z["mgclr_angles_rad"], atol=1e-7)
    matrices = clockwise_matrices(z["mgclr_angles_rad"])
    close(matrices, z["published_matrix"])  # the released matrix is R(-angles)
    fields = {"random_rotate": {"angles": z["mgclr_angles_rad"], "axis": z["mgclr_axis"], "matrix": matrices}}
    out = replay([RandomRotate(clockwise=True)], z["x"], None, target, fields)
    close(out, z["published_out"])


def test_ascal_rotate_clockwise(target):
    z = load("ascal_rotate.npz")
    angles = z["mgclr_angles_rad"]
    axis = z["published_draws_axis"]
    assert np.allclose(angles[np.arange(len(axis)), axis], np.radians(z["published_draws_angle_deg"]), atol=1e-7)
    fields = {"axis_rotate": {"angles": angles, "axis": axis, "matrix": clockwise_matrices(angles)}}
    out = replay([AxisRotate(clockwise=True)], z["x"], None, target, fields)
    close(out, z["published_out"])


def test_ctrgcn_random_rot_clockwise(target):
    z = load("ctrgcn_random_rot.npz")
    angles = z["published_draws_angles"].astype(np.float32)
    close(clockwise_matrices(angles), z["mgclr_matrix_equivalent"])
    fields = {"euler_rotate": {"angles": angles, "axis": np.full(len(angles), -1),
                               "matrix": clockwise_matrices(angles)}}
    out = replay([EulerRotate(theta=0.3, clockwise=True)], z["x"], None, target, fields)
    close(out, z["published_out"])


@pytest.mark.parametrize("op", [RandomRotate(clockwise=True), EulerRotate(clockwise=True),
                                AxisRotate(clockwise=True)], ids=lambda op: op.op_name)
def test_clockwise_draws_build_the_released_matrix(op, target):
    """The kernels' own draws: with clockwise=True the recorded matrix is R(-angles), the released sense;
    the default is R(angles)."""
    x = torch.randn(16, 3, 8, 25, 2)
    for transform, sign in ((op, -1.0), (type(op)(), 1.0)):
        if target is None:
            _, params = transform(x, seed=5, return_params=True)
        else:
            with target.running():
                _, params = transform(target.to(x), seed=5, return_params=True)
        fields = params.to("cpu").fields(op.op_name)
        expected = rotation_matrix(sign * fields["angles"].double()).float()
        assert torch.allclose(fields["matrix"].view(-1, 3, 3), expected, atol=1e-6)


def test_aimclr_gaus_filter_unnormalised(target):
    z = load("aimclr_gaus_filter.npz")
    fields = {"gaussian_blur": {"applied": z["mgclr_applied"], "sigma": z["mgclr_sigma"], "radius": z["mgclr_radius"]}}
    out = replay([GaussianBlur(normalized=False)], z["x"], None, target, fields)
    # |x| reaches ~4 and the released gain up to 5: float32 rounding of values up to ~20 (relative 1e-7).
    close(out, z["published_out"], atol=TOLERANCE * max(1.0, np.abs(z["published_out"]).max() / 4))
    gains = np.exp(-np.arange(-7, 8)[None, :] ** 2 / (2 * z["mgclr_sigma"].astype(np.float64)[:, None] ** 2)).sum(1)
    assert np.allclose(gains, z["published_weight_sum"], rtol=1e-6)
    normalised = replay([GaussianBlur()], z["x"], None, target, fields)
    assert np.abs(normalised - z["published_out"]).max() > 1.0  # mgclr's default is not the released filter


# ---------------------------------------------------------------------------------------- ISC / CTR-GCN


@pytest.mark.parametrize("name, scale", [("isc_temporal_cropresize.npz", (0.1, 1.0)),
                                         ("ctrgcn_valid_crop_resize.npz", (0.5, 1.0))])
def test_valid_crop_resize(name, scale, target):  # reads isc_temporal_cropresize.npz, ctrgcn_valid_crop_resize.npz
    z = load(name)
    fields = {"crop_resize": {"start": z["mgclr_start"], "crop_length": z["mgclr_crop_length"]}}
    out = replay([CropResize(scale=scale, min_len=64, out_frames=64)], z["x"], z["lengths"], target, fields)
    close(out, z["published_out"])


def test_isc_crop_subsequence_eval(target):
    z = load("isc_crop_subsequence_eval.npz")
    crop = CropResize(out_frames=64, eval_ratio=float(z["eval_ratio"]))
    x, lengths = torch.as_tensor(z["x"]), torch.as_tensor(z["lengths"])
    _, params = crop(x, lengths, seed=0, return_params=True)
    assert (params.fields("crop_resize")["start"].numpy() == z["published_start"]).all()
    out = replay([crop], z["x"], z["lengths"], target, {})
    close(out, z["published_out"])


def test_isc_joint_courruption(target):
    z = load("isc_joint_courruption.npz")
    fields = {"joint_shake": {"matrix_mode": z["mgclr_matrix_mode"], "matrix": z["mgclr_matrix"],
                              "joints": joints_mask(z["mgclr_joints"]), "num_joints": np.full(len(z["x"]), 15)}}
    out = replay([JointShake()], z["x"], None, target, fields)
    close(out, z["published_out"])


def test_isc_pose_augmentation(target):
    z = load("isc_pose_augmentation.npz")
    out = replay([Shear(r=1.0)], z["x"], None, target, {"shear": {"matrix": z["mgclr_matrix"]}})
    close(out, z["published_out"])


def test_isc_view_chain_through_the_preset(target):
    z = load("isc_view_chain.npz")
    pipeline = presets.isc(out_frames=64)
    assert pipeline.execution_order == ("crop_resize", "shear", "joint_shake")
    shake = z["choice_is_joint_corruption"].astype(bool)
    fields = {"crop_resize": {"start": z["mgclr_crop_start"], "crop_length": z["mgclr_crop_length"]},
              "shear": {"applied": ~shake, "matrix": z["mgclr_shear_matrix"]},
              "joint_shake": {"applied": shake, "matrix_mode": z["mgclr_shake_mode"], "matrix": z["mgclr_shake_matrix"],
                              "joints": joints_mask(z["mgclr_shake_joints"]), "num_joints": np.full(len(shake), 15)}}
    out = replay(list(pipeline.ops), z["x"], z["lengths"], target, fields)
    close(out, z["published_out"])


# ------------------------------------------------------------------------------ summary.json: chains, laws


def summary():
    return json.loads((FIXTURES / "summary.json").read_text())


def test_presets_replay_the_released_chains():
    """AimCLR's _strong_aug with its default aug_method '12345' (no time flip), the normal views of
    SkeletonCLR / CrosSCLR / AimCLR, and ISC's view: ops, order and probabilities as the harness read them."""
    chains = summary()["chaining"]
    assert "random_time_flip only with '6'" in chains["aimclr_extreme"]["published"]
    extreme = presets.aimclr_extreme()
    # Stages run in order (temporal, spatial, pointwise, filter); the released order differs only where ops
    # commute: the axis mask zeroes a channel, the filter is linear per channel.
    assert extreme.execution_order == ("temporal_crop", "shear", "flip", "random_rotate", "gaussian_noise",
                                       "axis_mask", "gaussian_blur")
    probabilities = {op.op_name: op.p for op in extreme.ops}
    assert probabilities == {"temporal_crop": 1.0, "shear": 1.0, "flip": 0.5, "random_rotate": 1.0,
                             "gaussian_noise": 0.5, "gaussian_blur": 0.5, "axis_mask": 0.5}
    ops = {op.op_name: op for op in extreme.ops}
    assert ops["temporal_crop"].padding == "symmetric" and ops["random_rotate"].clockwise
    assert not ops["gaussian_noise"].skip_missing and not ops["gaussian_blur"].normalized
    assert ops["shear"].r == 0.5 and ops["temporal_crop"].ratio == 6
    assert math.isclose(ops["random_rotate"].main, math.radians(30), rel_tol=1e-6)
    for name in ("skeletonclr", "aimclr_normal", "crossclr"):
        normal = getattr(presets, name)()
        assert normal.execution_order == ("temporal_crop", "shear"), name
        assert [op.p for op in normal.ops] == [1.0, 1.0]
        assert normal.ops[0].padding == "symmetric" and normal.ops[1].r == 0.5
    assert chains["skeletonclr"]["mgclr_execution_order"] == ["temporal_crop", "shear"]


def test_released_gaus_noise_law():
    """AimCLR's gaus_noise adds N(0, 0.01^2) to every entry, absent persons included (fire rate 1/2): the
    harness's measured laws against GaussianNoise(skip_missing=False) and mgclr's default."""
    law = summary()["distribution"]["aimclr_gaus_noise"]
    x = torch.zeros(2000, 3, 4, 25, 2)
    x[:, :, :, :, 0] = 1.0  # person 0 present, person 1 absent (all zeros)
    released = GaussianNoise(skip_missing=False)(x, seed=1)
    fired = (released[:, :, :, :, 0] != 1.0).any(dim=(1, 2, 3))
    assert abs(fired.float().mean().item() - law["published_fire_rate"]) < 0.04
    absent = released[fired][..., 1]
    assert abs(absent.std().item() - law["published_std_on_absent_person"]) < 3e-4
    present = released[fired][..., 0] - 1.0
    assert abs(present.std().item() - law["published_std_on_present_points"]) < 3e-4
    default = GaussianNoise()(x, seed=1)
    assert default[..., 1].abs().max() == 0 and law["mgclr_std_on_absent_person"] == 0.0


def test_rotation_laws():
    law = summary()["distribution"]["random_rotate"]
    x = torch.eye(3).view(1, 3, 3, 1, 1).expand(4000, 3, 3, 1, 1).contiguous()  # the basis as 3 frames
    out = RandomRotate(clockwise=True)(x, seed=3)
    mean = out[..., 0, 0].mean(dim=0).numpy()  # column t is R e_t: the mean rotation matrix
    assert np.abs(mean - np.array(law["published_mean_R"])).max() < 0.01


def test_every_fixture_is_read():
    """A fixture in the folder that no test reads is a failure, and so is a listed one that is gone."""
    present = {p.name for p in FIXTURES.iterdir() if p.suffix in (".npz", ".json")}
    assert present == set(FIXTURE_TESTS), f"unread: {sorted(present - set(FIXTURE_TESTS))}, " \
                                          f"missing: {sorted(set(FIXTURE_TESTS) - present)}"
    for name, test in FIXTURE_TESTS.items():
        source = inspect.getsource(globals()[test])
        assert name in source or (name == "summary.json" and "summary()" in source), (name, test)
