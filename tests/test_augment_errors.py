"""Bad input gets a clear error naming the argument, what was expected and what came."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import skeleton_batch

from mgclr import ops
from mgclr.augment import (
    CropResize,
    Flip,
    GaussianBlur,
    OneOf,
    Pipeline,
    PosterizeTime,
    RepeatClip,
    ReverseClip,
    Shear,
    Stretch,
    ViewPerturbation,
)
from mgclr.skeleton import get_layout


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"x: expected a 5-D tensor \(N, C, T, V, M\), got shape \(3, 10, 25\)"):
        ops.shear(torch.zeros(3, 10, 25))


def test_fewer_channels_than_coord_channels():
    with pytest.raises(ValueError, match="coord_channels=3.*got shape"):
        ops.shear(torch.zeros(2, 2, 10, 5, 1))


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="x: expected dtype in .*got int64"):
        ops.shear(torch.zeros(2, 3, 10, 5, 1, dtype=torch.int64))


def test_not_a_tensor():
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        ops.shear([[1.0]])


@pytest.mark.parametrize("lengths,match", [
    (torch.tensor([5, 0]), r"lengths: expected values in \[1, T=10\].*got min 0"),
    (torch.tensor([5, 11]), r"lengths: expected values in \[1, T=10\].*max 11"),
    (torch.tensor([5, 6, 7]), r"lengths: expected shape \(2,\)"),
    (torch.tensor([[5, 6]]), "lengths: expected a 1-D tensor"),
    (torch.tensor([5.0, 6.0]), "lengths: expected dtype"),
])
def test_bad_lengths(lengths, match):
    x = torch.zeros(2, 3, 10, 5, 1)
    with pytest.raises((ValueError, TypeError), match=match):
        ops.reverse_clip(x, lengths)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mixed-device check needs a second device")
def test_mixed_devices():
    with pytest.raises(ValueError, match="lengths: expected a tensor on"):
        ops.shear(torch.zeros(2, 3, 10, 5, 1), torch.tensor([3, 4], device="cuda"))


def test_mixed_devices_meta_lengths():
    # A meta tensor stands in for "another device" on a CPU-only machine.
    with pytest.raises(ValueError, match="lengths: expected a tensor on cpu"):
        ops.shear(torch.zeros(2, 3, 10, 5, 1), torch.empty(2, dtype=torch.int64, device="meta"))


@pytest.mark.parametrize("make,match", [
    (lambda: ViewPerturbation(a_main=-1.0), r"view_perturbation: a_main: expected a value >= 0.0, got -1.0"),
    (lambda: ViewPerturbation(a_main=math.nan), "view_perturbation: a_main: expected a finite number, got nan"),
    (lambda: Shear(r="big"), "shear: r: expected a number, got str"),
    (lambda: Shear(p=1.5), r"shear: p: expected a value <= 1.0, got 1.5"),
    (lambda: Stretch(s=(2.0, 1.0)), r"stretch: s: expected lower <= upper"),
    (lambda: RepeatClip(clip=(0.1,)), r"repeat_clip: clip: expected a \(low, high\) pair"),
    (lambda: PosterizeTime(k=9), r"posterize_time: k: expected a value <= 8, got 9"),
    (lambda: GaussianBlur(kernel_size=4), "gaussian_blur: kernel_size: expected an odd number, got 4"),
    (lambda: CropResize(out_frames=0), r"crop_resize: out_frames: expected a value >= 1, got 0"),
    (lambda: Flip(layout="ntu26"), "ntu26"),
])
def test_bad_op_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_unknown_layout_lists_known_ones():
    with pytest.raises(ValueError, match="kinect20"):
        get_layout("no_such_layout")


def test_flip_layout_must_match_joint_count():
    with pytest.raises(ValueError, match=r"flip: layout 'ntu25' has 25 joints, the input has V=20"):
        ops.flip(torch.zeros(1, 3, 4, 20, 1), layout="ntu25")


def test_nan_input_rejected_when_asked():
    x, lengths = skeleton_batch()
    x[0, 0, 0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="x: expected finite values, got 1 NaN/inf"):
        Pipeline([Shear()])(x, lengths, check_finite=True)


def test_pipeline_limits():
    with pytest.raises(ValueError, match="at most 2 resampling ops"):
        Pipeline([RepeatClip(), RepeatClip(), CropResize()])
    with pytest.raises(ValueError, match="at most one gaussian_blur"):
        Pipeline([GaussianBlur(), GaussianBlur()])
    with pytest.raises(ValueError, match="at most 16 ops"):
        Pipeline([Shear()] * 17)
    with pytest.raises(TypeError, match=r"transforms\[1\]: expected a SkeletonTransform or OneOf, got int"):
        Pipeline([Shear(), 3])
    with pytest.raises(ValueError, match="coord_channels: expected a value <= 3"):
        Pipeline([Shear()], coord_channels=4)
    with pytest.raises(TypeError, match="OneOf: transforms"):
        OneOf([Shear(), "x"])


def test_bad_seed_and_generator():
    x, _ = skeleton_batch()
    with pytest.raises(ValueError, match="seed: expected 0 <= seed < 2\\*\\*63"):
        ops.shear(x, seed=-1)
    with pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        ops.shear(x, generator=3)


def test_replay_checks_its_parameters():
    x, lengths = skeleton_batch()
    _, params = Pipeline([Shear()])(x, lengths, seed=1, return_params=True)
    with pytest.raises(ValueError, match=r"params: recorded for ops \('shear',\)"):
        Pipeline([ViewPerturbation()])(x, lengths, params=params)
    with pytest.raises(ValueError, match="params: expected records of shape"):
        Pipeline([Shear()])(x[:2], lengths[:2], params=params)
    with pytest.raises(ValueError, match="other sequence lengths"):
        Pipeline([Shear()])(x, lengths.clamp(max=3), params=params)
    with pytest.raises(TypeError, match="params: expected AugmentParams"):
        Pipeline([Shear()])(x, lengths, params={"records": 1})


def test_unchecked_bad_lengths_are_clamped_not_read_out_of_bounds():
    x, _ = skeleton_batch(3, 3, 10, 5, 1, short=False)
    bad = torch.tensor([0, 10, 1000])
    out, params = Pipeline([ReverseClip(p=1.0)])(x, bad, seed=1, return_params=True, check_lengths=False)
    assert params.lengths[0].tolist() == [1, 10, 10]
    assert torch.isfinite(out).all()


def test_tampered_replay_records_stay_in_bounds():
    """Replayed records come from the caller; nonsense values must not make the kernel read or write
    outside its tensors (it clamps frames, lengths, radii and axes)."""
    from mgclr.augment import AxisMask, CropResize, DropFrames, GaussianBlur, PosterizeTime

    x, lengths = skeleton_batch(4, 3, 20, 5, 2, short=False)
    pipe = Pipeline([CropResize(min_len=4, out_frames=12), PosterizeTime(), DropFrames(), AxisMask(p=1.0),
                     GaussianBlur(p=1.0)])
    _, params = pipe(x, lengths, seed=3, return_params=True)
    params.records[..., 1:30] = torch.randint(-10**6, 10**6, params.records[..., 1:30].shape, dtype=torch.int32)
    params.records[..., 0, 1] = lengths.to(torch.int32)  # keep the lengths check of the replay happy
    out = pipe(x, lengths, params=params)
    assert out.shape == (4, 3, 12, 5, 2)
