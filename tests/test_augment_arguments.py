"""The augmentation ops' bad and extreme arguments: each class of silent wrong result or unclear error found by
the adversarial review of the kernel layer, with the exact outcome now expected (a correct value, or an error of
a given type naming the argument): integers beyond int32, floats outside float32, probabilities outside [0, 1],
a replay with other records or another program, NaN in the frames an op's own statistics read."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from conftest import make_transform, skeleton_batch

from mgclr import ops
from mgclr.augment import (
    ALL_TRANSFORMS,
    CoordinatePerturbation,
    CropResize,
    GaussianBlur,
    GaussianNoise,
    Pipeline,
    PosterizeTime,
    Shear,
    ViewPerturbation,
    paper_best,
)
from mgclr.ops.augment_abi import op_abi

pytest.importorskip("mgclr._C", reason="mgclr's extension is not built")

# ---------------------------------------------------------- 1. integer arguments beyond int32 never wrap

COMMON = ("self", "kw", "p", "same_on_batch")
INT_ARGS = [(cls, name) for cls in ALL_TRANSFORMS for name, p in inspect.signature(cls.__init__).parameters.items()
            if "int" in str(p.annotation) and name not in COMMON]


@pytest.mark.parametrize("cls,name", INT_ARGS, ids=[f"{c.op_name}.{n}" for c, n in INT_ARGS])
@pytest.mark.parametrize("value", [2**31, 2**32 + 1, 1e39, -(2**31) - 1])
def test_integer_arguments_beyond_int32_are_refused(cls, name, value):
    arg = (1, value) if name == "joints" else value
    with pytest.raises(ValueError, match=f"{cls.op_name}: {name}"):
        cls(**{name: arg})


def test_integer_arguments_at_int32_max_mean_all():
    x, lengths = skeleton_batch(3, 3, 20, 7, 2)
    _, params = ops.coordinate_perturbation(x, lengths, m=2**31 - 1, seed=0, return_params=True)
    assert params.fields(0)["joints"].all()  # clamped to V, not wrapped to none
    _, params = ops.joint_shake(x, lengths, num_joints=2**31 - 1, seed=0, return_params=True)
    assert params.fields(0)["joints"].all()


# ------------------------------------------------ 2. float arguments must survive float32 (the kernels' type)


@pytest.mark.parametrize("build,name", [
    (lambda: GaussianBlur(sigma=(1e-50, 1.0)), "gaussian_blur: sigma"),
    (lambda: CoordinatePerturbation(tau=1e-50), "coordinate_perturbation: tau"),
    (lambda: CoordinatePerturbation(eps=1e-50), "coordinate_perturbation: eps"),
    (lambda: CoordinatePerturbation(tau=1e-38, r_max=1e3), "coordinate_perturbation: tau"),
    (lambda: ViewPerturbation(a_main=1e39), "view_perturbation: a_main"),
    (lambda: PosterizeTime(rate=(1e-35, 1.0)), "posterize_time: rate"),
    (lambda: Shear(r=float("inf")), "shear: r"),
    (lambda: CropResize(eval_ratio=1e-50), "crop_resize: eval_ratio"),
], ids=["blur-sigma", "tau", "eps", "r_max/tau", "a_main", "rate", "inf", "eval_ratio"])
def test_float_arguments_outside_float32_are_refused(build, name):
    with pytest.raises(ValueError, match=name):
        build()


FLOAT_ARGS = [(cls, name) for cls in ALL_TRANSFORMS for name, p in inspect.signature(cls.__init__).parameters.items()
              if "float" in str(p.annotation) and name not in COMMON + ("eval_ratio",)]


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
@pytest.mark.parametrize("value", [1.5, -1e-9, float("nan"), 1e39])
def test_probability_outside_zero_one_is_refused(cls, value):
    with pytest.raises(ValueError, match=f"{cls.op_name}: p"):
        make_transform(cls, 7, p=value)


@pytest.mark.parametrize("cls,name", FLOAT_ARGS, ids=[f"{c.op_name}.{n}" for c, n in FLOAT_ARGS])
@pytest.mark.parametrize("value", [1e39, 1e-50, 3e-39, 1e30, float("nan"), float("inf"), -1e-30])
def test_every_float_argument_is_refused_or_computes_finite(cls, name, value):
    """The acceptance of the issue: an accepted value gives a finite result on finite input."""
    default = inspect.signature(cls.__init__).parameters[name].default
    arg = (min(value, default[1]) if value >= 0 else value, default[1]) if isinstance(default, tuple) else value
    try:
        transform = make_transform(cls, 7, p=1.0, **{name: arg})
    except (ValueError, TypeError) as exc:
        assert f"{cls.op_name}: {name}" in str(exc)
        return
    x, lengths = skeleton_batch(4, 3, 30, 7, 2, seed=4)
    x = x.clamp(-1, 1)
    out = Pipeline([transform])(x, lengths, seed=3)
    extreme_scale = name in ("s", "t", "r") and value >= 1e30  # a map by 1e30: overflow is the right answer
    if not extreme_scale:
        assert torch.isfinite(out).all(), f"{cls.op_name}({name}={arg!r}) gave a non-finite output"


# --------------------------------------------------- 3. replay needs the exact records and program


def _replayable():
    x, lengths = skeleton_batch(4, 3, 24, 7, 2)
    pipe = Pipeline([Shear(), GaussianNoise(p=1.0)])
    out, params = pipe(x, lengths, seed=5, return_params=True)
    return pipe, x, lengths, out, params


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.int16])
def test_replay_needs_int32_records(dtype):
    pipe, x, lengths, out, params = _replayable()
    params.records = params.records.to(dtype)
    with pytest.raises(TypeError, match="params.records: expected the int32 tensor"):
        pipe(x, lengths, params=params)


def test_replay_needs_the_same_op_arguments_and_size():
    pipe, x, lengths, out, params = _replayable()
    assert torch.equal(pipe(x, lengths, params=params), out)
    with pytest.raises(ValueError, match="params: gaussian_noise was recorded with other arguments"):
        Pipeline([Shear(), GaussianNoise(sigma=0.5, p=1.0)])(x, lengths, params=params)
    with pytest.raises(ValueError, match="coord_channels=3, this pipeline has coord_channels=2"):
        Pipeline([Shear(), GaussianNoise(p=1.0)], coord_channels=2)(x, lengths, params=params)
    # p and one-of groups only steer sampling: a replay with another p is the same augmentation.
    assert torch.equal(Pipeline([Shear(p=0.3), GaussianNoise(p=0.2)])(x, lengths, params=params), out)


@pytest.mark.parametrize("field,value,match", [
    ("seed", -1, "params.seed: expected a value >= 0"),
    ("seed", 2**64, "params.seed: expected a value <="),
    ("seed", 1.5, "params.seed: expected an integer"),
    ("seed", "7", "params.seed: expected an integer"),
    ("offset", 2**32, "params.offset: expected a value <="),
    ("offset", None, "params.offset: expected an integer"),
])
def test_replay_with_tampered_seed_or_offset(field, value, match):
    pipe, x, lengths, out, params = _replayable()
    setattr(params, field, value)
    with pytest.raises((ValueError, TypeError), match=match):
        pipe(x, lengths, params=params)


# ------------------------------------------------ 4. NaN in the frames an op's own statistics read


def test_nan_in_lambdas_frames_is_documented_and_checkable():
    x, lengths = skeleton_batch(2, 3, 20, 7, 1, short=False, absent_person=False)
    x[0, 0, 0, 3, 0] = float("nan")  # frame 0 of sample 0: read by lambda
    out, params = ops.coordinate_perturbation(x, lengths, m=2, seed=1, return_params=True)
    chosen = params.fields(0)["joints"][0]
    assert torch.isnan(out[0][:, :, chosen]).all()  # every perturbed joint of that sample, every frame
    assert torch.isfinite(out[1]).all()  # the other sample is untouched by it
    assert "NaN" in CoordinatePerturbation.__doc__ and "check_finite" in CoordinatePerturbation.__doc__
    with pytest.raises(ValueError, match="x: expected finite values, got 1 NaN/inf"):
        ops.coordinate_perturbation(x, lengths, check_finite=True)


# -------------------------------------------------------------------------------------- unclear errors


def test_functional_ops_take_the_call_options():
    x, lengths = skeleton_batch(3, 3, 20, 7, 2)
    out = torch.empty(3, 3, 20, 7, 2)
    y = ops.shear(x, lengths, seed=1, check_finite=True, check_lengths=False, out=out)
    assert y.data_ptr() == out.data_ptr()


def test_x_requiring_grad_fails_at_the_call():
    x, lengths = skeleton_batch(3, 3, 20, 7, 2)
    with pytest.raises(ValueError, match="x: requires grad, but the augmentation ops are not differentiable"):
        ops.shear(x.requires_grad_(), lengths)
    with torch.no_grad():
        assert ops.shear(x, lengths, seed=0).grad_fn is None
    assert paper_best()(x.detach(), lengths, seed=0).grad_fn is None


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_every_op_documents_its_abi_arguments(cls):
    spec = op_abi(cls.op_name)
    assert set(make_transform(cls, 7).encode(7)) == set(spec.int_args) | set(spec.float_args)


def test_int32_limit_reaches_every_integer_kernel_argument():
    assert math.log2(2**31 - 1 + 1) == 31
    for cls, name in INT_ARGS:
        value = 2**31 - 1
        arg = (1, value) if name == "joints" else value
        if cls.op_name in ("posterize_time", "gaussian_blur", "view_perturbation"):
            continue  # bounded by the ABI's limits far below int32
        cls(**{name: arg})
