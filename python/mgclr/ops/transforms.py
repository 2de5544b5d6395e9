"""Skeleton augmentation transforms (``nn.Module``), one class per op of DESIGN.md: the Python definition of
each op of the fused kernel.

A transform *describes* an op: its arguments, validated here, and their encoding into the op's argument
slots (``encode`` returns them by name; the slots, the op code, the stage and the record fields come from
the extension's ABI, :mod:`mgclr.ops.augment_abi`, so no number of ``csrc/core/augment_abi.h`` is restated
here). Calling a transform runs it as a one-op program (:func:`mgclr.ops.augment.run_program`); several
transforms in a :class:`mgclr.augment.Pipeline` run as one fused pass. The functional form of each,
``mgclr.ops.<op_name>``, is generated from these classes (:mod:`mgclr.ops.augment_functional`).

Parameters are sampled per sample inside the kernel from Philox (seeded per call) and can be returned
(``return_params=True``) and replayed (``params=``); ``AugmentParams.fields`` decodes an op's record.

Readings of the paper where its text is ambiguous (ours, as DESIGN.md asks):

* ``coordinate_perturbation``: offsets are per joint, shared by all persons and frames; lambda is computed
  on the data as it stands when the op runs; points whose coordinates are exactly zero (an absent person,
  an untracked joint) are left at zero, as ``gaussian_noise`` does.
* ``stretch``: the *tilt* matrix keeps ones on the diagonal.
* ``repeat_clip``/``drop_frames``/``crop_resize`` resample with linear interpolation, align_corners=False
  (as ``F.interpolate``); ``drop_frames`` keeps one random frame in each of ``L - dropped`` equal strata.
* ``posterize_time``: ``k`` segments cut at random points of the middle part, each played at a rate
  U[r_lo, r_hi] (output length = input length / rate), rescaled to keep the total; frames are held.
* ``gaussian_blur`` renormalises its weights at the clip ends instead of zero padding (zero padding pulls
  the first and last frames toward the origin).

Ops named after a published method reproduce its released code with the arguments its docstring names
(``TemporalCrop(padding="symmetric")``, ``RandomRotate(clockwise=True)``, ``GaussianNoise(skip_missing=False)``,
``GaussianBlur(normalized=False)``; ``docs/PARITY.md`` has the table); the defaults are mgclr's choices.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from .._validation import as_float32, check_float32, check_float32_pair, check_int
from ..skeleton import Layout, get_layout
from .augment import AugmentParams, AugmentProgram, run_program
from .augment_abi import Field, abi, op_abi


class _FromABI:
    """A class attribute read from the extension's ABI entry of the class's op (on first use)."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, obj, cls) -> Any:
        return getattr(op_abi(cls.op_name), self.attribute)


class SkeletonTransform(nn.Module):
    """Base class: common arguments ``p`` (per-sample probability) and ``same_on_batch``.

    Subclasses set ``op_name`` (the op's name in the ABI) and ``default_p``, validate their own arguments
    in ``__init__`` and return them from ``encode`` by the slot names of the ABI.
    """

    op_name: ClassVar[str]
    default_p: ClassVar[float] = 1.0
    code: ClassVar[int] = _FromABI("code")
    stage: ClassVar[int] = _FromABI("stage")
    stage_name: ClassVar[str] = _FromABI("stage_name")
    resamples: ClassVar[bool] = _FromABI("resamples")
    fields: ClassVar[Tuple[Field, ...]] = _FromABI("fields")

    def __init__(self, p: Optional[float] = None, same_on_batch: bool = False) -> None:
        super().__init__()
        self.p = check_float32(f"{self.op_name}: p", self.default_p if p is None else p, low=0.0, high=1.0)
        self.same_on_batch = _check_bool(f"{self.op_name}: same_on_batch", same_on_batch)

    @property
    def deterministic(self) -> bool:
        """True when the output does not depend on the seed: the op never fires (``p`` = 0)."""
        return self.p == 0.0

    def encode(self, num_joints: int) -> Dict[str, Union[int, float]]:
        """The op's arguments for a tensor with ``num_joints`` joints, by argument slot name."""
        return {}

    def output_frames(self, frames: int) -> int:
        return frames

    def permutation(self, num_joints: int) -> Optional[Sequence[int]]:
        return None

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *, coord_channels: int = 3,
                generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                return_params: bool = False, params: Optional[AugmentParams] = None, check_finite: bool = False,
                check_lengths: bool = True, out: Optional[torch.Tensor] = None):
        """This op alone on ``x`` (N, C, T, V, M); the arguments are :class:`mgclr.augment.Pipeline`'s."""
        return run_program(AugmentProgram.single(self, coord_channels), x, lengths, generator=generator,
                           seed=seed, return_params=return_params, params=params, check_finite=check_finite,
                           check_lengths=check_lengths, out=out)

    def extra_repr(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._describe().items())
        return f"{args}, p={self.p}" + (", same_on_batch=True" if self.same_on_batch else "")

    def _describe(self) -> Dict[str, object]:
        return {}


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def _fraction_range(name: str, value: Sequence[float]) -> Tuple[float, float]:
    """A (low, high) pair of fractions in [0, 1]."""
    return check_float32_pair(name, value, low=0.0, high=1.0)


def _overflows_float32(value: np.float32) -> bool:
    """Whether a float32 computation of the kernels (done here on the arguments) gave inf or NaN."""
    return not np.isfinite(value)


# ---------------------------------------------------------------------------------------------------
# MG augmentations (paper section 4.1.1)


class CoordinatePerturbation(SkeletonTransform):
    """Offset ``m`` random joints by ``lambda * R``, ``R ~ U[-1, 1]^3`` per joint, constant over time.

    ``lambda = (1/tau) * clip(|L_fin - L_mid| / (|L_mid - L_sta| + eps), 0, r_max)`` with L the sample's
    coordinates at its first, middle and last valid frame (Frobenius norms over joints and persons). The
    ratio measures how the motion splits between the two halves of the clip: 0 when everything happens in
    the first half, 1 for uniform motion (and for a symmetric round trip), clipped at ``r_max`` when it
    happens late. (DESIGN.md's gloss "round trips get larger offsets" does not follow from the formula.)

    lambda is a statistic of the sample: a NaN in any of the three frames it reads makes it NaN, and with it
    every perturbed joint of that sample in every frame. ``check_finite=True`` rejects NaN anywhere in ``x``.
    """

    op_name = "coordinate_perturbation"

    def __init__(self, m: int = 4, tau: float = 10.0, r_max: float = 2.0, eps: float = 1e-6, **kw) -> None:
        super().__init__(**kw)
        self.m = check_int("coordinate_perturbation: m", m, low=1)
        self.tau = check_float32("coordinate_perturbation: tau", tau, low=0.0, low_inclusive=False, divisor=True)
        self.r_max = check_float32("coordinate_perturbation: r_max", r_max, low=0.0)
        self.eps = check_float32("coordinate_perturbation: eps", eps, low=0.0, low_inclusive=False, divisor=True)
        with np.errstate(over="ignore"):
            largest = as_float32(self.r_max) / as_float32(self.tau)
        if _overflows_float32(largest):
            raise ValueError(f"coordinate_perturbation: tau: the largest offset scale r_max / tau = {self.r_max!r} / "
                             f"{self.tau!r} overflows float32, the kernels' precision")

    def encode(self, num_joints):
        return {"m": self.m, "tau": self.tau, "r_max": self.r_max, "eps": self.eps}

    def _describe(self):
        return {"m": self.m, "tau": self.tau, "r_max": self.r_max}


class ViewPerturbation(SkeletonTransform):
    """Euler rotation ``Rz @ Ry @ Rx``: the main axis draws from ``[-a_main, a_main]``, the others from
    ``[-a_other, a_other]``. ``axis`` = 0/1/2 fixes the main axis (x/y/z), None draws it per sample."""

    op_name = "view_perturbation"

    def __init__(self, a_main: float = math.pi, a_other: float = math.pi / 6, axis: Optional[int] = None, **kw):
        super().__init__(**kw)
        self.a_main = check_float32("view_perturbation: a_main", a_main, low=0.0)
        self.a_other = check_float32("view_perturbation: a_other", a_other, low=0.0)
        self.axis = None if axis is None else check_int("view_perturbation: axis", axis, low=0, high=2)

    def encode(self, num_joints):
        return {"axis": -1 if self.axis is None else int(self.axis), "a_main": self.a_main, "a_other": self.a_other}

    def _describe(self):
        return {"a_main": self.a_main, "a_other": self.a_other, "axis": self.axis}


class Stretch(SkeletonTransform):
    """With probability 1/2 per sample a *shape* stretch ``diag(a, b, c)``, ``a, b, c ~ U[s_lo, s_hi]``,
    else a *tilt* (shear) with the six off-diagonals ``~ U[-t, t]`` (paper eqs. 7-8)."""

    op_name = "stretch"

    def __init__(self, s: Sequence[float] = (1.0, 2.0), t: float = 1.0, **kw):
        super().__init__(**kw)
        self.s = check_float32_pair("stretch: s", s, low=0.0)
        self.t = check_float32("stretch: t", t, low=0.0)

    def encode(self, num_joints):
        return {"s_lo": self.s[0], "s_hi": self.s[1], "t": self.t}

    def _describe(self):
        return {"s": self.s, "t": self.t}


class RepeatClip(SkeletonTransform):
    """Insert a clip again right after itself, then resample linearly back to the valid length.
    Start ``~ U{0..floor(s L)}``, clip length ``~ U{ceil(lo L)..floor(hi L)}``."""

    op_name = "repeat_clip"

    def __init__(self, s: float = 0.5, clip: Sequence[float] = (0.1, 0.3), **kw):
        super().__init__(**kw)
        self.s = check_float32("repeat_clip: s", s, low=0.0, high=1.0)
        self.clip = _fraction_range("repeat_clip: clip", clip)

    def encode(self, num_joints):
        return {"s": self.s, "clip_lo": self.clip[0], "clip_hi": self.clip[1]}

    def _describe(self):
        return {"s": self.s, "clip": self.clip}


class ReverseClip(SkeletonTransform):
    """Reverse a clip of length ``~ U{ceil(lo L)..floor(hi L)}`` at a random start, in place."""

    op_name = "reverse_clip"

    def __init__(self, clip: Sequence[float] = (0.1, 0.5), **kw):
        super().__init__(**kw)
        self.clip = _fraction_range("reverse_clip: clip", clip)

    def encode(self, num_joints):
        return {"clip_lo": self.clip[0], "clip_hi": self.clip[1]}

    def _describe(self):
        return {"clip": self.clip}


class PosterizeTime(SkeletonTransform):
    """Keep a head and a tail (fraction ``h`` each) at normal rate; cut the middle into ``k`` random
    segments played at rates ``U[r_lo, r_hi]``, rescaled to keep the length; frames are held, not blended."""

    op_name = "posterize_time"

    def __init__(self, h: float = 0.1, k: int = 4, rate: Sequence[float] = (0.5, 2.0), **kw):
        super().__init__(**kw)
        self.h = check_float32("posterize_time: h", h, low=0.0, high=0.5)
        self.k = check_int("posterize_time: k", k, low=1, high=abi().limits.max_segments)
        self.rate = check_float32_pair("posterize_time: rate", rate, low=0.0)
        if self.rate[0] <= 0:
            raise ValueError(f"posterize_time: rate: expected rates > 0, got {rate!r}")
        with np.errstate(over="ignore", divide="ignore"):
            longest = as_float32(2.0**31) / as_float32(self.rate[0])  # a segment plays (frames / rate) frames
        if _overflows_float32(longest):
            raise ValueError(f"posterize_time: rate: at rate {self.rate[0]!r} a segment's length overflows float32, "
                             "the kernels' precision; expected rates >= 6.4e-30")

    def encode(self, num_joints):
        return {"k": self.k, "h": self.h, "rate_lo": self.rate[0], "rate_hi": self.rate[1]}

    def _describe(self):
        return {"h": self.h, "k": self.k, "rate": self.rate}


# ---------------------------------------------------------------------------------------------------
# Earlier augmentations


class Shear(SkeletonTransform):
    """SkeletonCLR/AimCLR shear: ``x -> S x``, ``S = I`` + off-diagonals ``~ U[-r, r]``."""

    op_name = "shear"

    def __init__(self, r: float = 0.5, **kw):
        super().__init__(**kw)
        self.r = check_float32("shear: r", r, low=0.0)

    def encode(self, num_joints):
        return {"r": self.r}

    def _describe(self):
        return {"r": self.r}


TEMPORAL_CROP_PADDINGS = ("reflect", "symmetric")


class TemporalCrop(SkeletonTransform):
    """SkeletonCLR / AimCLR / CrosSCLR ``temperal_crop``: pad ``L // ratio`` frames at both ends of the ``L``
    valid frames, take a random ``L``-frame window.

    ``padding="symmetric"`` repeats the edge frames (source frame −k → k − 1), as the released code's
    ``np.pad(..., 'symmetric')``; ``"reflect"`` (mgclr's default) mirrors about them (−k → k), so no frame is
    doubled. The released code pads and crops all T frames of a zero-padded clip; mgclr works inside the
    valid frames, which is the same whenever every frame is valid (the released NTU data: 50 frames each).
    """

    op_name = "temporal_crop"

    def __init__(self, ratio: int = 6, padding: str = "reflect", **kw):
        super().__init__(**kw)
        self.ratio = check_int("temporal_crop: ratio", ratio, low=1)
        if padding not in TEMPORAL_CROP_PADDINGS:
            raise ValueError(f"temporal_crop: padding: expected one of {TEMPORAL_CROP_PADDINGS}, got {padding!r}")
        self.padding = padding

    def encode(self, num_joints):
        return {"ratio": self.ratio, "symmetric": int(self.padding == "symmetric")}

    def _describe(self):
        return {"ratio": self.ratio, "padding": self.padding}


class CropResize(SkeletonTransform):
    """ISC / CTR-GCN ``valid_crop_resize``: crop ``clip(floor(L * U[lo, hi]), min_len, L)`` frames at a
    random start and resize linearly to ``out_frames``. ``eval_ratio`` = c gives the deterministic centre
    crop of evaluation. The resize always happens (the output has ``out_frames`` frames); ``p`` decides
    whether the crop is random (else the whole valid sequence is resized)."""

    op_name = "crop_resize"

    def __init__(self, scale: Sequence[float] = (0.1, 1.0), min_len: int = 64, out_frames: int = 64,
                 eval_ratio: Optional[float] = None, **kw):
        super().__init__(**kw)
        self.scale = _fraction_range("crop_resize: scale", scale)
        self.min_len = check_int("crop_resize: min_len", min_len, low=1)
        self.out_frames = check_int("crop_resize: out_frames", out_frames, low=1)
        if eval_ratio is not None:
            eval_ratio = check_float32("crop_resize: eval_ratio", eval_ratio, low=0.0, high=1.0, low_inclusive=False)
            if as_float32(eval_ratio) == 0:  # 0 tells the kernel "random crop"
                raise ValueError(f"crop_resize: eval_ratio: {eval_ratio!r} is 0 in float32, the kernels' precision; "
                                 "expected a ratio in (0, 1]")
        self.eval_ratio = eval_ratio

    @property
    def deterministic(self) -> bool:
        return self.p == 0.0 or self.eval_ratio is not None  # the whole sequence, or the centre crop

    def encode(self, num_joints):
        return {"min_len": self.min_len, "out_frames": self.out_frames, "scale_lo": self.scale[0],
                "scale_hi": self.scale[1], "eval_ratio": self.eval_ratio or 0.0}

    def output_frames(self, frames):
        return self.out_frames

    def _describe(self):
        return {"scale": self.scale, "min_len": self.min_len, "out_frames": self.out_frames,
                "eval_ratio": self.eval_ratio}


class _Rotation(SkeletonTransform):
    """Rotation ops: the record holds the drawn (x, y, z) angles and ``R = Rz(z) Ry(y) Rx(x)`` (right-handed,
    counter-clockwise seen from each positive axis). ``clockwise=True`` builds ``R`` from the negated angles,
    ``Rz(−z) Ry(−y) Rx(−x)``: the sense of the released AimCLR, CTR-GCN and AS-CAL matrices."""

    def __init__(self, clockwise: bool = False, **kw):
        super().__init__(**kw)
        self.clockwise = _check_bool(f"{self.op_name}: clockwise", clockwise)

    def encode(self, num_joints):
        return {"clockwise": int(self.clockwise)}

    def _describe(self):
        return {"clockwise": self.clockwise}


class RandomRotate(_Rotation):
    """AimCLR ``random_rotate``: one random main axis draws ``U(0, main)``, the other two ``U(0, other)``.
    AimCLR's matrices rotate clockwise (``clockwise=True`` reproduces them); the default is counter-clockwise,
    the same distribution mirrored."""

    op_name = "random_rotate"

    def __init__(self, main: float = math.radians(30), other: float = math.radians(1), clockwise: bool = False,
                 **kw):
        super().__init__(clockwise, **kw)
        self.main = check_float32("random_rotate: main", main, low=0.0)
        self.other = check_float32("random_rotate: other", other, low=0.0)

    def encode(self, num_joints):
        return {"main": self.main, "other": self.other, **super().encode(num_joints)}

    def _describe(self):
        return {"main": self.main, "other": self.other, **super()._describe()}


class EulerRotate(_Rotation):
    """CTR-GCN ``random_rot``: each axis ``U(-theta, theta)`` rad, ``Rz @ Ry @ Rx``. CTR-GCN's matrices rotate
    clockwise; its angles are symmetric, so both senses draw the same distribution (``clockwise=True``
    replays its draws exactly)."""

    op_name = "euler_rotate"

    def __init__(self, theta: float = 0.3, clockwise: bool = False, **kw):
        super().__init__(clockwise, **kw)
        self.theta = check_float32("euler_rotate: theta", theta, low=0.0)

    def encode(self, num_joints):
        return {"theta": self.theta, **super().encode(num_joints)}

    def _describe(self):
        return {"theta": self.theta, **super()._describe()}


class AxisRotate(_Rotation):
    """AS-CAL ``Rotate`` (its viewpoint attack): one random axis, angle ``U(0, max_angle)``. AS-CAL's matrices
    rotate clockwise (``clockwise=True`` reproduces them)."""

    op_name = "axis_rotate"

    def __init__(self, max_angle: float = math.radians(30), clockwise: bool = False, **kw):
        super().__init__(clockwise, **kw)
        self.max_angle = check_float32("axis_rotate: max_angle", max_angle, low=0.0)

    def encode(self, num_joints):
        return {"max_angle": self.max_angle, **super().encode(num_joints)}

    def _describe(self):
        return {"max_angle": self.max_angle, **super()._describe()}


class Flip(SkeletonTransform):
    """AimCLR "symmetry": swap left and right joints of ``layout`` (and negate x when ``mirror_x``)."""

    op_name, default_p = "flip", 0.5

    def __init__(self, layout: Union[str, Layout] = "ntu25", mirror_x: bool = False, **kw):
        super().__init__(**kw)
        self.layout = get_layout(layout)
        self.mirror_x = bool(mirror_x)

    def encode(self, num_joints):
        return {"mirror_x": int(self.mirror_x)}

    def permutation(self, num_joints):
        if num_joints != self.layout.num_joints:
            raise ValueError(f"flip: layout {self.layout.name!r} has {self.layout.num_joints} joints, "
                             f"the input has V={num_joints}")
        return self.layout.flip_permutation()

    def _describe(self):
        return {"layout": self.layout.name, "mirror_x": self.mirror_x}


class TimeFlip(SkeletonTransform):
    """Reverse the whole valid sequence."""

    op_name, default_p = "time_flip", 0.5


class JointShake(SkeletonTransform):
    """ISC "joint corruption": choose ``num_joints`` joints (default 60% of V, i.e. 15 of 25); with
    probability 1/2 zero them, else multiply their coordinates by one random 3x3 with entries U[-1, 1]."""

    op_name = "joint_shake"

    def __init__(self, num_joints: Optional[int] = None, fraction: float = 0.6, **kw):
        super().__init__(**kw)
        self.num_joints = None if num_joints is None else check_int("joint_shake: num_joints", num_joints, low=1)
        self.fraction = check_float32("joint_shake: fraction", fraction, low=0.0, high=1.0)

    def encode(self, num_joints):
        count = self.num_joints if self.num_joints is not None else max(1, round(self.fraction * num_joints))
        return {"num_joints": int(count)}

    def _describe(self):
        return {"num_joints": self.num_joints, "fraction": self.fraction}


class JointMask(SkeletonTransform):
    """mgclr's joint mask: zero ``U{j_lo..j_hi}`` random joints over one random window of
    ``U{ceil(w_lo L)..floor(w_hi L)}`` (output) frames.

    After AS-CAL's "drop node" idea but not AS-CAL's op: its ``Zero_out_joints`` zeroes the joints on a random
    *subset* of 20–50 frames (50–100 for clips of 100 frames or more), rarely contiguous; this op masks one
    contiguous window."""

    op_name = "joint_mask"

    def __init__(self, joints: Sequence[int] = (5, 15), window: Sequence[float] = (0.2, 1.0), **kw):
        super().__init__(**kw)
        if isinstance(joints, (str, bytes)) or not isinstance(joints, (tuple, list)) or len(joints) != 2:
            raise TypeError(f"joint_mask: joints: expected a (low, high) pair, got {joints!r}")
        low = check_int("joint_mask: joints[0]", joints[0], low=0)
        self.joints = (low, check_int("joint_mask: joints[1]", joints[1], low=low))
        self.window = _fraction_range("joint_mask: window", window)

    def encode(self, num_joints):
        return {"joints_lo": self.joints[0], "joints_hi": self.joints[1], "window_lo": self.window[0],
                "window_hi": self.window[1]}

    def _describe(self):
        return {"joints": self.joints, "window": self.window}


class DropFrames(SkeletonTransform):
    """Drop a fraction ``U[lo, hi]`` of the valid frames (one random frame kept per stratum) and resample
    linearly back to the valid length."""

    op_name = "drop_frames"

    def __init__(self, fraction: Sequence[float] = (0.1, 0.3), **kw):
        super().__init__(**kw)
        self.fraction = _fraction_range("drop_frames: fraction", fraction)

    def encode(self, num_joints):
        return {"fraction_lo": self.fraction[0], "fraction_hi": self.fraction[1]}

    def _describe(self):
        return {"fraction": self.fraction}


class GaussianNoise(SkeletonTransform):
    """AimCLR ``gaus_noise``: add ``N(0, sigma^2)`` to the coordinates of the valid frames.

    ``skip_missing=True`` (mgclr's default) leaves missing points (all coordinates exactly zero: an absent
    person, an untracked joint) at zero; ``False`` adds noise to them too, as the released code does (it adds
    noise to every entry, the zero padding included: frames past the valid length stay zero here)."""

    op_name, default_p = "gaussian_noise", 0.5

    def __init__(self, sigma: float = 0.01, skip_missing: bool = True, **kw):
        super().__init__(**kw)
        self.sigma = check_float32("gaussian_noise: sigma", sigma, low=0.0)
        self.skip_missing = _check_bool("gaussian_noise: skip_missing", skip_missing)

    def encode(self, num_joints):
        return {"sigma": self.sigma, "skip_missing": int(self.skip_missing)}

    def _describe(self):
        return {"sigma": self.sigma, "skip_missing": self.skip_missing}


class GaussianBlur(SkeletonTransform):
    """AimCLR ``gaus_filter``: temporal Gaussian filter of ``kernel_size`` taps, ``sigma ~ U[lo, hi]``
    (coordinates).

    ``normalized=True`` (mgclr's default) divides by the sum of the weights inside the clip, a true low-pass
    that keeps the scale of the skeleton at every frame. ``False`` is the released ``GaussianBlurConv``: the
    raw weights ``exp(−k²/2σ²)`` and zero padding, which scales the coordinates by ``Σ w_k`` (1 to 5.01 for
    σ in [0.1, 2]) and pulls the end frames toward the origin."""

    op_name, default_p = "gaussian_blur", 0.5

    def __init__(self, kernel_size: int = 15, sigma: Sequence[float] = (0.1, 2.0), normalized: bool = True, **kw):
        super().__init__(**kw)
        self.normalized = _check_bool("gaussian_blur: normalized", normalized)
        largest = 2 * abi().limits.max_blur_radius + 1
        self.kernel_size = check_int("gaussian_blur: kernel_size", kernel_size, low=1, high=largest)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"gaussian_blur: kernel_size: expected an odd number, got {kernel_size}")
        self.sigma = check_float32_pair("gaussian_blur: sigma", sigma, low=0.0)
        if self.sigma[0] <= 0:
            raise ValueError(f"gaussian_blur: sigma: expected values > 0, got {sigma!r}")
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            narrowest = as_float32(self.sigma[0])
            weight_scale = np.float32(1) / (np.float32(2) * narrowest * narrowest)  # the kernel's 1 / (2 sigma^2)
        if _overflows_float32(weight_scale):
            raise ValueError(f"gaussian_blur: sigma: 1 / (2 sigma^2) overflows float32, the kernels' precision, for "
                             f"sigma = {self.sigma[0]!r}; expected sigma >= 3.9e-20 (below, the filter is the "
                             "identity anyway)")

    def encode(self, num_joints):
        return {"kernel_size": self.kernel_size, "sigma_lo": self.sigma[0], "sigma_hi": self.sigma[1],
                "normalized": int(self.normalized)}

    def _describe(self):
        return {"kernel_size": self.kernel_size, "sigma": self.sigma, "normalized": self.normalized}


class AxisMask(SkeletonTransform):
    """AimCLR: zero one random coordinate axis."""

    op_name, default_p = "axis_mask", 0.5


ALL_TRANSFORMS: Tuple[type, ...] = (
    CoordinatePerturbation, ViewPerturbation, Stretch, RepeatClip, ReverseClip, PosterizeTime,
    Shear, TemporalCrop, CropResize, RandomRotate, EulerRotate, AxisRotate, Flip, TimeFlip, JointShake,
    JointMask, DropFrames, GaussianNoise, GaussianBlur, AxisMask,
)
TRANSFORMS: Dict[str, type] = {cls.op_name: cls for cls in ALL_TRANSFORMS}
