"""Synthetic micro-gesture skeletons: a documented, deterministic stand-in for iMiGUE/SMG-like data.

Micro-gestures are small, often repetitive movements of a seated person's upper body: a hand to the neck
or to the jaw, rubbing the hands, shrugging. :func:`generate` draws such sequences procedurally, so that the
demo and the tests can pretrain and evaluate on data that exists everywhere, offline, in seconds.

**The body.** A seated person in a body frame (metres; x to the person's left, y up, z forward), its joints
built from a few driving quantities per frame: the torso (spine, shoulders, neck, head with a pitch), and
each arm from a wrist target by two-link inverse kinematics (the elbow bends outward and down), the hand,
its tip, thumb and five fingertips continuing the forearm. Limb lengths scale with a body size
``U[0.85, 1.15]`` and vary by ``±5 %`` per limb. Every layout (``ntu25``: legs seated and still,
``imigue22``: face points and fingertips) reads its joints from the same body by name.

**The classes** (``CLASSES``; the gesture holds for a random time, repetitive ones repeat 1-4 times):

==================  =================================================================================
scratch_head        right hand to the top of the head, scratching sideways
touch_neck          right hand to the side of the neck, rubbing up and down
touch_jaw           right hand to the jaw (7 cm from the neck target: the subtle pair with touch_neck)
touch_nose          right hand briefly to the nose
touch_ear           right hand to the right ear
rub_hands           both hands together in front of the belly, rubbing against each other
cross_fingers       both hands together in front, fingers interlaced (fingertips spread), still
fold_arms           each hand to the opposite elbow
shrug               both shoulders up and down (the arms follow)
nod                 the head pitches down and up
tap_fingers         the right hand on the lap, fingertips tapping quickly
lean_back           the upper body tilts back around the hips, hands on the lap
==================  =================================================================================

**What varies** per sample: the class (balanced), body size and proportions, the valid length
``L ~ U{ceil(min_fraction T)..T}`` (frames past L are zero), onset, approach and return durations,
the speed and number of repetitions, a breathing and swaying idle motion under every gesture, the view
(yaw ``U[-30°, 30°]``, pitch ``U[-6°, 6°]``, a small translation), and Gaussian sensor noise of
``σ ~ U[2, 8]`` mm. Everything comes from one ``numpy.random.Generator`` seeded by ``seed``: the same
arguments give the same arrays on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from .._validation import check_float32, check_int
from ..skeleton import get_layout

__all__ = ["CLASSES", "SyntheticMG", "generate"]

CLASSES = ("scratch_head", "touch_neck", "touch_jaw", "touch_nose", "touch_ear", "rub_hands", "cross_fingers",
           "fold_arms", "shrug", "nod", "tap_fingers", "lean_back")
SUPPORTED_LAYOUTS = ("ntu25", "imigue22")


@dataclass
class SyntheticMG:
    """``x`` (N, 3, T, V, M) float32 (frames past ``lengths`` are zero, persons past the first are absent,
    all zero), ``lengths`` (N,) int64, ``labels`` (N,) int64 indices into ``class_names``.
    :func:`mgclr.data.synthetic_mg.generate_realistic` fills the rest: ``subjects`` (N,) int64 (who performs
    each sample), ``durations`` (N,) int64 (each clip's length in frames at ``fps`` before it was resampled
    to fit T) and ``coord_channels`` (2 for its 2-D form: x, y, confidence)."""

    x: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    class_names: Tuple[str, ...]
    layout: str
    fps: float = 30.0
    subjects: Optional[np.ndarray] = None
    durations: Optional[np.ndarray] = None
    coord_channels: int = 3


# ------------------------------------------------------------------------------------------ the body


# face points around the head centre and the seated legs around the hips (metres, before the body size)
_FACE = {"nose": (0.0, -0.02, 0.1), "left_eye": (0.032, 0.02, 0.085), "right_eye": (-0.032, 0.02, 0.085),
         "left_ear": (0.075, 0.0, 0.0), "right_ear": (-0.075, 0.0, 0.0)}
_SEATED = {"left_knee": (0.12, 0.02, 0.45), "right_knee": (-0.12, 0.02, 0.45), "left_ankle": (0.12, -0.42, 0.45),
           "right_ankle": (-0.12, -0.42, 0.45), "left_foot": (0.12, -0.45, 0.55), "right_foot": (-0.12, -0.45, 0.55)}


def _rest_torso(size: float) -> Dict[str, np.ndarray]:
    p = {"spine_base": (0.0, 0.0, 0.0), "spine_mid": (0.0, 0.24, -0.01), "spine_shoulder": (0.0, 0.45, 0.0),
         "neck": (0.0, 0.52, 0.01), "head": (0.0, 0.64, 0.03), "left_shoulder": (0.18, 0.45, 0.0),
         "right_shoulder": (-0.18, 0.45, 0.0), "left_hip": (0.1, 0.0, 0.0), "right_hip": (-0.1, 0.0, 0.0)}
    return {k: np.asarray(v) * size for k, v in p.items()}


def _ease(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rx @ ry


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, upper: float, fore: float, side: float) -> np.ndarray:
    """Two-link IK per frame: the elbow at distance ``upper`` from the shoulder and ``fore`` from the wrist,
    on the circle of solutions, at its point farthest outward (x * side) and down."""
    d = wrist - shoulder
    dist = np.clip(np.linalg.norm(d, axis=-1, keepdims=True), 1e-6, upper + fore - 1e-4)
    axis = d / np.linalg.norm(d, axis=-1, keepdims=True).clip(1e-6)
    along = (upper**2 - fore**2 + dist**2) / (2 * dist)
    radius = np.sqrt(np.clip(upper**2 - along**2, 0.0, None))
    hint = np.broadcast_to(np.array([side * 0.6, -1.0, -0.2]), d.shape)
    perp = hint - (hint * axis).sum(-1, keepdims=True) * axis
    perp = perp / np.linalg.norm(perp, axis=-1, keepdims=True).clip(1e-6)
    return shoulder + axis * along + perp * radius


def _hand_points(elbow: np.ndarray, wrist: np.ndarray, size: float, side: float,
                 spread: np.ndarray) -> Dict[str, np.ndarray]:
    """Hand, tip, thumb and five fingertips continuing the forearm; ``spread`` (T,) opens the fingers."""
    fwd = wrist - elbow
    fwd = fwd / np.linalg.norm(fwd, axis=-1, keepdims=True).clip(1e-6)
    lateral = np.cross(fwd, np.array([0.0, 1.0, 0.0]))
    lateral = lateral / np.linalg.norm(lateral, axis=-1, keepdims=True).clip(1e-6) * side
    hand = wrist + fwd * 0.07 * size
    out = {"hand": hand, "hand_tip": hand + fwd * 0.09 * size, "thumb": wrist + (fwd * 0.05 + lateral * 0.05) * size}
    s = spread[:, None]
    for i, finger in enumerate(("thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")):
        offset = (i - 1.5) * (0.018 + 0.02 * s)
        reach = 0.06 if i == 0 else 0.085 - 0.008 * abs(i - 2)
        out[finger] = hand + fwd * reach * size + lateral * offset * size
    return out


# ------------------------------------------------------------------------------------------ gestures


def _profile(rng, L: int, repetitive: bool) -> Tuple[np.ndarray, np.ndarray]:
    """(engage (T,) in [0, 1]: approach, hold, return; oscillation (T,) in [-1, 1] during the hold)."""
    t = np.arange(L, dtype=np.float64)
    duration = rng.uniform(0.55, 0.95) * L
    onset = rng.uniform(0.0, L - duration)
    approach = rng.uniform(0.15, 0.25) * duration
    back = rng.uniform(0.15, 0.25) * duration
    engage = _ease((t - onset) / approach) * (1.0 - _ease((t - (onset + duration - back)) / back))
    hold_start, hold = onset + approach, max(duration - approach - back, 1.0)
    cycles = rng.integers(1, 5) if repetitive else rng.uniform(0.3, 0.8)
    phase = np.clip((t - hold_start) / hold, 0.0, 1.0)
    return engage, np.sin(2 * np.pi * cycles * phase) * (phase > 0) * (phase < 1)


def _sample(rng, label: int, T: int, L: int) -> Dict[str, np.ndarray]:
    name = CLASSES[label]
    size = rng.uniform(0.85, 1.15)
    limb = {"upper": 0.29 * size * rng.uniform(0.95, 1.05), "fore": 0.26 * size * rng.uniform(0.95, 1.05)}
    torso = _rest_torso(size)
    t = np.arange(L, dtype=np.float64)
    breath = 0.004 * np.sin(2 * np.pi * t / rng.uniform(60, 120) + rng.uniform(0, 2 * np.pi))
    sway = 0.01 * np.sin(2 * np.pi * t / rng.uniform(80, 200) + rng.uniform(0, 2 * np.pi))
    repetitive = name in ("scratch_head", "touch_neck", "rub_hands", "shrug", "nod", "tap_fingers")
    engage, wave = _profile(rng, L, repetitive)
    amp = rng.uniform(0.6, 1.4)

    pts = {k: np.repeat(v[None], L, axis=0) for k, v in torso.items()}
    upper_joints = ("spine_shoulder", "neck", "head", "left_shoulder", "right_shoulder")
    for k in upper_joints:
        pts[k] = pts[k] + np.stack([sway, breath, np.zeros(L)], axis=1)
    if name == "shrug":
        lift = (0.04 * engage + 0.015 * amp * wave * engage) * size
        for k in ("left_shoulder", "right_shoulder", "spine_shoulder"):
            pts[k][:, 1] += lift
        pts["neck"][:, 1] += 0.3 * lift
    pitch = np.zeros(L)
    if name == "nod":
        pitch = (0.12 * engage + 0.1 * amp * wave) * engage
    if name == "lean_back":
        angle = -0.25 * engage * amp
        c, s = np.cos(angle), np.sin(angle)
        for k in upper_joints + ("spine_mid",):
            y, z = pts[k][:, 1].copy(), pts[k][:, 2].copy()
            pts[k][:, 1], pts[k][:, 2] = c * y - s * z, s * y + c * z
    head_centre = pts["head"]
    cp, sp = np.cos(pitch), np.sin(pitch)
    for k, (dx, dy, dz) in _FACE.items():
        pts[k] = head_centre + np.stack([np.full(L, dx), cp * dy - sp * dz, sp * dy + cp * dz], 1) * size

    rest = {1.0: np.array([0.13, 0.05, 0.3]) * size, -1.0: np.array([-0.13, 0.05, 0.3]) * size}
    wrist = {side: np.repeat(rest[side][None], L, axis=0) + np.stack([sway, 0.5 * breath, np.zeros(L)], 1)
             for side in rest}
    spread = {1.0: np.zeros(L), -1.0: np.zeros(L)}
    e = engage[:, None]
    w = (amp * wave)[:, None]
    head = pts["head"]
    targets = {  # right-hand targets, relative to the moving head / neck (metres, before size)
        "scratch_head": (head + np.array([-0.02, 0.12, 0.0]) * size, np.array([0.025, 0.0, 0.0])),
        "touch_neck": (pts["neck"] + np.array([-0.05, -0.02, 0.06]) * size, np.array([0.0, 0.02, 0.0])),
        "touch_jaw": (head + np.array([-0.04, -0.08, 0.08]) * size, np.array([0.0, 0.005, 0.0])),
        "touch_nose": (pts["nose"] + np.array([-0.01, -0.02, 0.05]) * size, np.array([0.0, 0.004, 0.0])),
        "touch_ear": (pts["right_ear"] + np.array([-0.03, -0.02, 0.0]) * size, np.array([0.0, 0.008, 0.0])),
    }
    if name in targets:
        goal, wiggle = targets[name]
        wrist[-1.0] = wrist[-1.0] * (1 - e) + (goal + w * wiggle * size) * e
    elif name in ("rub_hands", "cross_fingers"):
        centre = np.array([0.0, 0.17, 0.3]) * size
        for side in (1.0, -1.0):
            offset = np.array([side * (0.04 if name == "rub_hands" else 0.025), 0.0, 0.0]) * size
            rub = np.array([0.0, 0.0, side * 0.02]) * size if name == "rub_hands" else np.zeros(3)
            wrist[side] = wrist[side] * (1 - e) + (centre + offset + w * rub) * e
            if name == "cross_fingers":
                spread[side] = engage
    elif name == "fold_arms":
        for side in (1.0, -1.0):
            goal = np.array([-side * 0.16, 0.27, 0.12]) * size
            wrist[side] = wrist[side] * (1 - e) + goal * e
    elif name == "tap_fingers":
        spread[-1.0] = 0.5 * engage * (1 + wave)
        wrist[-1.0] = wrist[-1.0] + np.array([0.0, 0.01, 0.0]) * size * (w * e)
    for side, key in ((1.0, "left"), (-1.0, "right")):
        shoulder = pts[f"{key}_shoulder"]
        elbow = _elbow(shoulder, wrist[side], limb["upper"], limb["fore"], side)
        reach = np.linalg.norm(wrist[side] - shoulder, axis=1, keepdims=True)
        limit = limb["upper"] + limb["fore"] - 1e-3  # a target out of reach: the wrist stops at full stretch
        wrist[side] = shoulder + (wrist[side] - shoulder) * np.minimum(1.0, limit / reach.clip(1e-6))
        pts[f"{key}_elbow"], pts[f"{key}_wrist"] = elbow, wrist[side]
        for part, value in _hand_points(elbow, wrist[side], size, side, spread[side]).items():
            pts[f"{key}_{part}"] = value
    for k, v in _SEATED.items():
        pts[k] = np.repeat((np.asarray(v) * size)[None], L, axis=0)
    return pts


def generate(num_samples: int, *, layout: str = "imigue22", frames: int = 48, num_persons: int = 1, seed: int = 0,
             min_fraction: float = 0.6, classes: Optional[Tuple[str, ...]] = None) -> SyntheticMG:
    """Draw ``num_samples`` micro-gesture sequences (balanced over ``classes``, default all of ``CLASSES``).

    Args:
        layout: ``"imigue22"`` or ``"ntu25"``.
        frames: T, the padded length; valid lengths are U{ceil(min_fraction * T)..T}.
        num_persons: M; persons past the first are absent (zero).
        seed: the seed of everything random.
    """
    check_int("num_samples", num_samples, low=1)
    T = check_int("frames", frames, low=8)
    M = check_int("num_persons", num_persons, low=1)
    min_fraction = check_float32("min_fraction", min_fraction, low=0.0, high=1.0, low_inclusive=False)
    if layout not in SUPPORTED_LAYOUTS:
        raise ValueError(f"layout: expected one of {SUPPORTED_LAYOUTS}, got {layout!r}")
    names = tuple(classes) if classes is not None else CLASSES
    unknown = [c for c in names if c not in CLASSES]
    if unknown or not names:
        raise ValueError(f"classes: expected a non-empty subset of {CLASSES}, got {list(names)}")
    joints = get_layout(layout).joint_names
    rng = np.random.default_rng(seed)
    labels = np.arange(num_samples) % len(names)
    rng.shuffle(labels)
    lo = int(np.ceil(min_fraction * T))
    lengths = rng.integers(lo, T + 1, size=num_samples)
    x = np.zeros((num_samples, 3, T, len(joints), M), dtype=np.float32)
    for n in range(num_samples):
        L = int(lengths[n])
        pts = _sample(rng, CLASSES.index(names[labels[n]]), T, L)
        body = np.stack([pts[j] for j in joints], axis=1)  # (L, V, 3)
        R = _rotation(rng.uniform(-np.pi / 6, np.pi / 6), rng.uniform(-0.1, 0.1))
        body = body @ R.T + rng.uniform(-0.05, 0.05, size=3)
        body = body + rng.normal(0.0, rng.uniform(0.002, 0.008), size=body.shape)
        x[n, :, :L, :, 0] = body.transpose(2, 0, 1)
    return SyntheticMG(x, lengths.astype(np.int64), labels.astype(np.int64), names, layout)
