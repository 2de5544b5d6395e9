"""Realistic synthetic micro-gestures: a generator grounded in measured facts about iMiGUE (issue 28).

:func:`mgclr.data.generate` (:mod:`mgclr.data.synthetic`) makes a task that a ridge classifier on the raw
joints solves (96 % top-1 on the demo's split): its gestures differ mainly by where the hand goes, with
nothing else moving. :func:`generate_realistic` keeps its body (the seated torso, the two-link arm IK, the
hands and face points, the layout mapping: imported from there) and draws the clips the way real micro-gesture
data looks, as far as the facts measured on the published iMiGUE label file and one real video say. Same
classes (``CLASSES``, plus ``"idle"`` on request), same :class:`SyntheticMG`, now with ``subjects``,
``durations`` and ``coord_channels``; deterministic from ``seed`` (NumPy ``SeedSequence`` streams: the people
depend only on ``seed`` and ``subjects``, each clip on its own stream, the 2-D form is the camera view of
exactly the 3-D clips).

**Statistics, each matched to a fact** (distances in shoulder widths, SW, the subject's median; measured back
by :func:`realism_statistics` on 1300 clips, 100 per class, 12 classes + idle, 24 subjects, seed 100, T = 64;
``benchmarks/synthetic_realism.py``; 3-D / 2-D where they differ):

=============================  ===========================  ===========================================================
statistic                      iMiGUE                       here: how matched -> measured
=============================  ===========================  ===========================================================
clip length (frames, 25 fps)   p10 20, p50 40, p90 130,     log-length piecewise linear in a standard normal through
                               p99 391                      the four quantiles (exact by construction), drawn stratified
                                                            -> 20 / 40 / 130 / 381 (p99 of 1300 draws)
idle motion, head              0.17-0.24 (p90)              posture shifts (torso lean / turn), head turns, drift with
                                                            each subject's time scale -> 0.25 / 0.21
idle motion, elbows            0.17-0.24 (p90)              the same; elbows follow by IK -> 0.18 / 0.15
idle motion, moving wrist      0.16 (p90)                   hands resting on a table, moved now and then -> 0.18 / 0.16
moving wrist inside MGs        0.51 (p90)                   NOT matched: 1.26 / 1.27. Per class: hands at the head
                                                            1.0-1.8, rub_hands / cross_fingers 0.46-0.51, shrug / nod /
                                                            lean_back / tap_fingers 0.20-0.25 (idle 0.16-0.18): the
                                                            pooled value is set by the class mix (5 of these 12 classes
                                                            hold a hand at the head, ~1.1 SW from a table); iMiGUE's
                                                            comes from one video's mix. Distances were not shrunk to
                                                            fit it
within-clip wrist motion       0.01 still (crossed          held gestures: the clip mostly shows the hold (approach,
                               fingers) .. 0.14 rubbing,    return inside it with p = 0.15 each), OpenPose-sized jitter
                               scratching                   -> cross_fingers 0.018 / 0.012, fold_arms 0.022 / 0.014,
                                                            touch_jaw 0.028 / 0.018; rub_hands 0.145 / 0.136,
                                                            scratch_head 0.155 / 0.142, touch_neck 0.107 / 0.106;
                                                            touch_nose (brief: there and back) 0.40 / 0.44
frames with no person (2-D)    ~1 %                         short runs of empty frames -> 0.97 %
an ear detected (2-D)          about half the time          the far ear disappears as the head turns from the camera
                                                            -> left 0.57, right 0.44
legs, hips (2-D)               never detected               imigue22 has none; ntu25 2-D: hips, legs, spine base and
                                                            mid are 0
class counts (long_tail)       2 .. 2880, median 132 over   geometric in the class order, largest / smallest 1440
                               32 classes                   (``long_tail=True``; a number sets it): 3000 clips ->
                                                            1447, 748, ..., 3, 2 (max / median 35, iMiGUE 22)
clips per subject              median 39 per video, up to   subject weights log-normal(0, 0.6) x per-class habits
                               282                          Gamma(2) -> median 40.5, max 108 (24 subjects)
=============================  ===========================  ===========================================================

How they are measured (the issue gives the numbers, not its exact definitions, so these are ours):
*amplitude* = per-frame distance of a joint from the subject's median position over its idle clips (the
"video's median pose"; ``reference="all"``: over all its clips, which gives 0.18-0.21 idle), pooled over the
frames of MG (or idle) clips, 90th percentile; of two wrists / elbows the one farther on average in that clip.
*Within-clip motion* = RMS distance of the moving wrist from its clip mean, median over a class's clips.

**What else varies** (not measured on real data: chosen as plausible and stated here). *Subjects* (default 24):
body size U[0.88, 1.12], shoulder width and neck length ±8 / ±15 %, limbs ±5 %; right-handed with p 0.85, the
dominant hand used for one-hand gestures with p U[0.6, 0.95] (the other hand mirrors it); habitual lean, twist
and head pose; where the hands rest on the table; the idle time scale (0.8-3 s), idle amplitude, how often
posture shifts (0.1-0.4 / s); gesture vigour and tempo; each class's habitual spot (±1.5 cm); in 2-D a camera
(yaw ±20°, pitch -3..14°, 1.8-3.5 m, focal 900-1400 px), OpenPose-like jitter 0.003-0.006 SW (more at low
confidence), a hand's keypoints seen in 60-90 % of frames (each tip in 90 % of those), face points less often
with a hand in front.
*Clips*: onset at any time (an approach inside the clip starts anywhere in its first 3/4; brief gestures
anywhere), ±1 cm target jitter, amplitude ×U[0.7, 1.3], oscillation frequency ×U[0.8, 1.25]. *Gestures* share
target regions and differ in small movements: touch_neck (rubbing the side of the neck) and touch_jaw (held)
are ~6 cm apart; scratch_head (scratching on top) and touch_ear (held at the ear); rub_hands (rubbing) and
cross_fingers (still, fingers interlaced) at the same place; shrug (brief lift, a raised hand also lifts its
shoulder), nod, lean_back and tap_fingers (fingertips only) look like idle posture changes. The 3-D form adds
a seat offset and sensor noise 1.5-4 mm (×1.5 on hand points).

**Ridge floor** (:func:`mgclr.train.evaluate.ridge_floor`: ridge on the joints resampled to 16 frames, no
encoder), 12 classes balanced overall, 2400 clips, 24 subjects, T = 64, 7 test subjects
(:func:`split_by_subject` 0.3), seeds 0 / 1: **2-D 43.2 / 45.3 %**, **3-D 62.5 / 62.2 %** (top-5 86-89 /
91-95); the old generator on the demo's split (1200 / 480, 40 frames): 96.0 / 94.8 %. For comparison, real
sets in mgclr: NW-UCLA 58 %, NW-UCLA-25 53 %, UTKinect 92 %. The 2-D form (the iMiGUE analogue: camera
projection, missing joints, no depth) is the harder; the 3-D form keeps depth, every joint and clean
fingertips (cross_fingers recall 96 % in 3-D, 52 % in 2-D, seed 0). Its errors are where real ones are: touch_neck /
touch_jaw, scratch_head / touch_ear, rub_hands / cross_fingers (2-D: rub_hands recall 3 %), and nod /
tap_fingers / lean_back (idle-like posture). Nothing was tuned toward pretraining.

**Encoder probes** (``mgclr demo``: 1,680 clips, 24 subjects split 17 / 7, 40 frames, AGCN 16-32-32-64 + Bi-GRU
2 x 64, 320 MoCo steps, seed 0; fused top-1, random init -> pretrained; benchmarks/RESULTS.md, "The demo on
realistic micro-gestures"): 2-D plain probe 36.9 -> 46.2, BatchNorm probe 50.3 -> 51.4, ridge 41.4; 3-D
(the old demo's recipe) plain 35.0 -> 53.3, BN 63.9 -> 61.3, ridge 55.1. Pretraining helps under the papers'
plain probe; a random encoder behind BatchNorm does as well (2-D) or better (3-D).

The iMiGUE facts (``FPS``, ``IDLE``, ``LENGTH_QUANTILES``, ``IMIGUE_IMBALANCE``) and :func:`realism_statistics`
live in :mod:`mgclr.data.realism`; this module re-exports them.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import check_float32, check_int
from ..skeleton import get_layout
from .normalise import normalise_openpose_video
from .realism import FPS, IDLE, IMIGUE_IMBALANCE, LENGTH_QUANTILES, realism_statistics
from .synthetic import _FACE, _SEATED, CLASSES, SUPPORTED_LAYOUTS, SyntheticMG, _ease, _elbow, _hand_points, _rest_torso

__all__ = ["FPS", "IDLE", "LENGTH_QUANTILES", "IMIGUE_IMBALANCE", "generate_realistic", "class_counts",
           "select", "split_by_subject", "realism_statistics"]

MIN_DURATION, MAX_DURATION = 6, 1000
FORMS = ("3d", "2d")

_RIGHT, _LEFT = -1.0, 1.0  # side: the sign of x (x points to the person's left)
_BRIEF = ("touch_nose", "shrug")
_P_APPROACH = _P_RETURN = 0.15  # how often a held gesture's approach (return) lies inside its clip
_Z = {q: NormalDist().inv_cdf(q) for q, _ in LENGTH_QUANTILES}
_PPF_P = np.linspace(0.0005, 0.9995, 1999)
_PPF_Z = np.array([NormalDist().inv_cdf(float(p)) for p in _PPF_P])  # the standard normal quantile, tabulated


def _ppf(p: np.ndarray) -> np.ndarray:
    return np.interp(p, _PPF_P, _PPF_Z)


# ------------------------------------------------------------------------------------------ durations


def _durations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clip lengths (frames at 25 fps): a standard normal z mapped by the piecewise-linear function of z whose
    log passes through every (z_q, log L_q) of ``LENGTH_QUANTILES`` (extended by its end segments), so each
    quantile of the real distribution is matched exactly; clipped to [MIN_DURATION, MAX_DURATION]. z is drawn
    stratified (one uniform draw in each of n equal slices of probability, shuffled), so that even a few hundred
    clips show the real quantiles."""
    zq = np.array([_Z[q] for q, _ in LENGTH_QUANTILES])
    lq = np.log([v for _, v in LENGTH_QUANTILES])
    u = (rng.permutation(n) + rng.random(n)) / n
    z = np.array([NormalDist().inv_cdf(min(max(float(v), 1e-12), 1 - 1e-12)) for v in u])
    slope_lo = (lq[1] - lq[0]) / (zq[1] - zq[0])
    slope_hi = (lq[-1] - lq[-2]) / (zq[-1] - zq[-2])
    log_l = np.interp(z, zq, lq)
    log_l = np.where(z < zq[0], lq[0] + (z - zq[0]) * slope_lo, log_l)
    log_l = np.where(z > zq[-1], lq[-1] + (z - zq[-1]) * slope_hi, log_l)
    return np.clip(np.round(np.exp(log_l)), MIN_DURATION, MAX_DURATION).astype(np.int64)


def class_counts(num_samples: int, num_classes: int, imbalance: float = 1.0) -> np.ndarray:
    """Per-class sample counts summing to ``num_samples``: balanced for ``imbalance`` 1, else geometric in the
    class index (count_k proportional to imbalance^(-k / (K - 1)): the first class the most frequent, the last
    ``imbalance`` times rarer), by largest remainders, at least one sample per class."""
    K = num_classes
    if num_samples < K:
        raise ValueError(f"num_samples: expected at least one sample per class ({K}), got {num_samples}")
    w = imbalance ** (-np.arange(K) / max(K - 1, 1))
    share = (num_samples - K) * w / w.sum()
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:num_samples - K - counts.sum()]] += 1
    return counts + 1


# ------------------------------------------------------------------------------------------ signals


def _smooth(rng: np.random.Generator, t: np.ndarray, scale: float, dims: int = 1, k: int = 12) -> np.ndarray:
    """(len(t), dims) smooth zero-mean unit-variance noise at times ``t`` (frames): random Fourier features of a
    Gaussian-kernel process with length scale ``scale`` frames (any time grid, so resampled clips keep it)."""
    omega = rng.normal(0.0, 1.0 / scale, size=(dims, k))
    phase = rng.uniform(0.0, 2 * np.pi, size=(dims, k))
    return np.sqrt(2.0 / k) * np.cos(t[:, None, None] * omega + phase).sum(-1)


def _steps(rng: np.random.Generator, t: np.ndarray, duration: int, rate: float, width: float,
           dims: int = 1) -> np.ndarray:
    """(len(t), dims): a sum of smooth steps (posture shifts, head turns, a hand moved) at Poisson times
    (``rate`` per frame) over the clip and ``width`` frames before it, each of size N(0, 1) per dim."""
    count = rng.poisson(rate * (duration + width))
    at = rng.uniform(-width, duration, size=count)
    size = rng.normal(0.0, 1.0, size=(count, dims))
    width_i = width * rng.uniform(0.5, 1.5, size=count)
    out = np.zeros((len(t), dims))
    for a, s, w in zip(at, size, width_i):
        out += _ease((t - a) / w)[:, None] * s
    return out


def _rot(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(L, 3, 3) = Ry(yaw) Rx(pitch) Rz(roll); pitch > 0 tips the top forward (+z), yaw > 0 turns +z to +x
    (the person's left), roll > 0 tips the top towards -x."""
    L = len(pitch)
    cp, sp, cy, sy, cr, sr = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll)
    one, zero = np.ones(L), np.zeros(L)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, -sp], -1), np.stack([zero, sp, cp], -1)], 1)
    ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1), np.stack([-sy, zero, cy], -1)], 1)
    rz = np.stack([np.stack([cr, -sr, zero], -1), np.stack([sr, cr, zero], -1), np.stack([zero, zero, one], -1)], 1)
    return ry @ rx @ rz


def _apply(R: np.ndarray, p: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    return pivot + np.einsum("lij,lj->li", R, p - pivot)


def _engagement(rng: np.random.Generator, t: np.ndarray, duration: int, brief: bool, tempo: float) -> np.ndarray:
    """e(t) in [0, 1]. Held gestures (most): the clip mostly shows the hold (the approach lies inside the clip
    with probability 0.15, at any time; so does the return); brief ones (touch_nose, shrug): approach, a short
    hold and the return, placed anywhere in the clip."""
    approach = rng.uniform(8.0, 20.0) / tempo
    back = rng.uniform(8.0, 20.0) / tempo
    if brief:
        hold = rng.uniform(4.0, 15.0) / tempo
        total = approach + hold + back
        squeeze = min(1.0, 0.9 * duration / total)
        approach, hold, back = approach * squeeze, hold * squeeze, back * squeeze
        onset = rng.uniform(0.0, max(duration - approach - hold - back, 0.0))
        off = onset + approach + hold
    else:
        u = rng.random(4)
        onset = 0.75 * duration * u[1] if u[0] < _P_APPROACH else -approach - 10.0 * u[1]
        lo = min(max(onset + approach, 0.0), float(duration))
        off = lo + (duration - lo) * u[3] if u[2] < _P_RETURN else duration + 10.0
    return _ease((t - onset) / approach) * (1.0 - _ease((t - off) / back))


# ------------------------------------------------------------------------------------------ subjects


def _subject(rng: np.random.Generator, num_classes: int) -> Dict[str, Any]:
    """One person: body proportions, handedness, habitual posture, idle rhythm, gesture style, camera."""
    size = rng.uniform(0.88, 1.12)
    s: Dict[str, Any] = {
        "size": size, "shoulder": rng.uniform(0.92, 1.08), "neck": rng.uniform(0.85, 1.15),
        "head": rng.uniform(0.92, 1.08),
        "upper": 0.29 * size * rng.uniform(0.95, 1.05), "fore": 0.26 * size * rng.uniform(0.95, 1.05),
        "dominant": _RIGHT if rng.random() < 0.85 else _LEFT, "dominance": rng.uniform(0.6, 0.95),
        # habitual posture (radians): leaning forward, sideways, turned; the head's own pitch / yaw / roll
        "lean": rng.normal(0.06, 0.06), "roll": rng.normal(0.0, 0.03), "twist": rng.normal(0.0, 0.06),
        "head_pitch": rng.normal(0.05, 0.08), "head_yaw": rng.normal(0.0, 0.10), "head_roll": rng.normal(0.0, 0.05),
        # where the hands rest: on a table, the height, depth and spread of each hand its own
        "table": rng.uniform(0.16, 0.30) * size, "depth": rng.uniform(0.26, 0.38) * size,
        "spread": rng.uniform(0.05, 0.17, size=2) * size, "rest_jitter": rng.normal(0.0, 0.02, size=(2, 3)),
        # idle rhythm: the time scale of drift (frames), how often posture / head / hands shift (per frame)
        "tau": rng.uniform(20.0, 75.0), "idle": rng.uniform(0.6, 1.4), "shift_rate": rng.uniform(0.004, 0.016),
        "breath": rng.uniform(75.0, 125.0),
        # gesture style: vigour (amplitude), tempo (speed), habitual spot of each class's target (metres)
        "vigour": rng.uniform(0.7, 1.3), "tempo": rng.uniform(0.75, 1.35),
        "spot": rng.normal(0.0, 0.015, size=(num_classes, 3)) * size,
        # 3-D sensor noise; 2-D camera (yaw, pitch, distance, focal length, principal point), detections
        "noise": rng.uniform(0.0015, 0.004),
        "cam_yaw": rng.uniform(-0.35, 0.35), "cam_pitch": rng.uniform(-0.05, 0.25),
        "cam_dist": rng.uniform(1.8, 3.5), "focal": rng.uniform(900.0, 1400.0),
        "centre": np.array([640.0, 360.0]) + rng.normal(0.0, 40.0, size=2), "seat": rng.normal(0.0, 0.03, size=3),
        "jitter": rng.uniform(0.003, 0.006), "ear_bias": rng.uniform(0.3, 0.7), "hand_rate": rng.uniform(0.6, 0.9),
        "gap_rate": 0.005 * rng.uniform(0.3, 1.7),
    }
    return s


# ------------------------------------------------------------------------------------------ one clip


def _clip(rng: np.random.Generator, s: Dict[str, Any], name: str, class_index: int, t: np.ndarray,
          duration: int) -> Dict[str, np.ndarray]:
    """Every joint (L, 3) of one clip in the body frame (metres, x left, y up, z forward, hips at 0)."""
    L = len(t)
    size, tempo, vigour = s["size"], s["tempo"], s["vigour"]
    act = s["dominant"] if rng.random() < s["dominance"] else -s["dominant"]  # the hand that gestures
    torso = _rest_torso(size)
    torso["left_shoulder"][0] *= s["shoulder"]
    torso["right_shoulder"][0] *= s["shoulder"]
    for k in ("neck", "head"):
        torso[k] = torso["spine_shoulder"] + (torso[k] - torso["spine_shoulder"]) * s["neck"]
    pts = {k: np.repeat(v[None], L, axis=0) for k, v in torso.items()}
    idle, tau, shifts = s["idle"], s["tau"], s["shift_rate"]

    e = np.zeros(L) if name == IDLE else _engagement(rng, t, duration, name in _BRIEF, tempo)
    amp = vigour * rng.uniform(0.7, 1.3)
    hz = tempo * rng.uniform(0.8, 1.25)
    phase = rng.uniform(0.0, 2 * np.pi)

    def wave(freq_hz: float) -> np.ndarray:
        return np.sin(2 * np.pi * freq_hz * hz * t / FPS + phase)

    # breathing and a shrug lift the shoulder girdle
    breath = 0.003 * size * np.sin(2 * np.pi * t / s["breath"] + rng.uniform(0, 2 * np.pi))
    lift = breath.copy()
    if name == "shrug":
        repeated = rng.random() < 0.5
        height = 0.035 * size * amp
        lift = lift + height * e * ((0.5 - 0.5 * np.cos(2 * np.pi * 1.2 * hz * t / FPS + phase)) if repeated else 1.0)
    for k in ("left_shoulder", "right_shoulder", "spine_shoulder"):
        pts[k][:, 1] += lift
    for k in ("left_shoulder", "right_shoulder"):  # each shoulder settles on its own now and then
        pts[k][:, 1] += 0.008 * size * idle * _steps(rng, t, duration, shifts, 15.0)[:, 0]
    pts["neck"][:, 1] += 0.3 * lift + 0.7 * breath
    pts["head"][:, 1] += 0.3 * lift + 0.7 * breath

    # the head turns about the neck: habit + this clip's posture + drift + looking around (+ a nod)
    look = _steps(rng, t, duration, shifts, 12.0, dims=2)
    drift = _smooth(rng, t, tau, dims=6)
    head_pitch = s["head_pitch"] + rng.normal(0, 0.06) + idle * (0.03 * drift[:, 0] + 0.08 * look[:, 0])
    head_yaw = s["head_yaw"] + rng.normal(0, 0.10) + idle * (0.05 * drift[:, 1] + 0.18 * look[:, 1])
    head_roll = s["head_roll"] + rng.normal(0, 0.03) + idle * 0.02 * drift[:, 2]
    if name == "nod":
        head_pitch = head_pitch + e * 0.2 * amp * (0.5 - 0.5 * np.cos(2 * np.pi * 1.6 * hz * t / FPS + phase))
    Rh = _rot(head_pitch, head_yaw, head_roll)
    neck = pts["neck"]
    head = _apply(Rh, pts["head"], neck)
    pts["head"] = head
    for k, offset in _FACE.items():
        pts[k] = head + np.einsum("lij,j->li", Rh, np.asarray(offset) * size * s["head"])

    # the upper body turns about the hips: habit + this clip's posture + drift + posture shifts (+ lean_back)
    shift = _steps(rng, t, duration, shifts, 20.0, dims=2)
    pitch = s["lean"] + rng.normal(0, 0.03) + idle * (0.02 * drift[:, 3] + 0.06 * shift[:, 0])
    yaw = s["twist"] + rng.normal(0, 0.04) + idle * (0.03 * drift[:, 4] + 0.05 * shift[:, 1])
    roll = s["roll"] + rng.normal(0, 0.02) + idle * 0.015 * drift[:, 5]
    if name == "lean_back":
        pitch = pitch - e * 0.18 * amp
    Rt = _rot(pitch, yaw, roll)
    hips = np.zeros((L, 3))
    upper_body = ("spine_mid", "spine_shoulder", "neck", "head", "left_shoulder", "right_shoulder") + tuple(_FACE)
    for k in upper_body:
        pts[k] = _apply(Rt, pts[k], hips)

    # the hands rest on the table (world frame: they stay when the body moves) and are moved now and then
    wrist, spread = {}, {}
    for i, side in enumerate((_LEFT, _RIGHT)):
        rest = np.array([side * s["spread"][i], s["table"], s["depth"]]) + s["rest_jitter"][i] * size
        shuffle = _steps(rng, t, duration, 0.5 * shifts, 10.0, dims=3) * np.array([0.02, 0.004, 0.02])
        rest = rest + rng.normal(0.0, 1.0, size=3) * np.array([0.01, 0.004, 0.01]) + idle * shuffle
        wrist[side] = rest + 0.003 * idle * _smooth(rng, t, tau, dims=3)
        spread[side] = np.zeros(L)

    def spot(offset: np.ndarray, side: float) -> np.ndarray:
        """A right-hand offset (metres before size) mirrored for the left hand, plus the habit and a jitter."""
        habit = s["spot"][class_index] * np.array([-side, 1.0, 1.0])
        return np.array([-side * offset[0], offset[1], offset[2]]) * size + habit + rng.normal(0, 0.01, 3) * size

    def local(p: np.ndarray) -> np.ndarray:  # a point fixed to the torso
        return _apply(Rt, np.repeat(p[None], L, axis=0), hips)

    ec = e[:, None]
    ear = "right_ear" if act == _RIGHT else "left_ear"
    one_hand = {  # right-hand target relative to a moving anchor, its oscillation (direction, Hz) if any
        "scratch_head": (pts["head"], (-0.045, 0.10, 0.0), (0.05, 0.03, 0.02), 4.0),
        "touch_ear": (pts[ear], (-0.025, -0.01, 0.0), None, 0.0),
        "touch_neck": (pts["neck"], (-0.05, -0.01, 0.055), (0.0, 0.045, 0.01), 2.0),
        "touch_jaw": (pts["head"], (-0.03, -0.085, 0.075), None, 0.0),
        "touch_nose": (pts["nose"], (-0.01, -0.025, 0.05), None, 0.0),
    }
    if name in one_hand:
        anchor, offset, osc, freq = one_hand[name]
        goal = anchor + spot(np.asarray(offset), act)
        if osc is not None:
            direction = np.array([-act * osc[0], osc[1], osc[2]]) * size * amp
            goal = goal + wave(freq)[:, None] * direction
            if name == "scratch_head":
                spread[act] = 0.6 * (1 + wave(freq))
        else:
            goal = goal + 0.002 * _smooth(rng, t, 6.0, dims=3)
        wrist[act] = wrist[act] * (1 - ec) + goal * ec
    elif name in ("rub_hands", "cross_fingers"):
        centre = np.array([0.0, s["table"] + 0.04 * size, s["depth"] - 0.02 * size])
        centre = centre + spot(np.zeros(3), _RIGHT) * np.array([0.0, 1.0, 1.0])
        for side in (_LEFT, _RIGHT):
            goal = centre + np.array([side * (0.045 if name == "rub_hands" else 0.03), 0.0, 0.0]) * size
            if name == "rub_hands":
                goal = goal + side * wave(2.5)[:, None] * np.array([0.062, 0.0, -0.037]) * size * amp
            else:
                goal = goal + 0.002 * _smooth(rng, t, 6.0, dims=3)
                spread[side] = e.copy()
            wrist[side] = wrist[side] * (1 - ec) + goal * ec
    elif name == "fold_arms":
        for side in (_LEFT, _RIGHT):
            goal = local(np.array([-side * 0.15, 0.27, 0.13]) * size) + spot(np.zeros(3), side)
            wrist[side] = wrist[side] * (1 - ec) + goal * ec
    elif name == "tap_fingers":
        spread[act] = 0.7 * e * amp * (0.5 + 0.5 * wave(5.0))
        wrist[act] = wrist[act] + np.array([0.0, 0.004, 0.0]) * size * (e * wave(5.0))[:, None]

    for side, key in ((_LEFT, "left"), (_RIGHT, "right")):
        # a raised hand lifts its shoulder (the shoulder blade turns up): up to 3 cm with the hand at the head
        raised = np.clip((wrist[side][:, 1] - s["table"]) / (0.45 * size), 0.0, 1.0)
        pts[f"{key}_shoulder"] = pts[f"{key}_shoulder"] + np.outer(0.03 * size * raised, [0.0, 1.0, 0.0])
        shoulder = pts[f"{key}_shoulder"]
        reach = np.linalg.norm(wrist[side] - shoulder, axis=1, keepdims=True)
        limit = s["upper"] + s["fore"] - 1e-3  # a target out of reach: the wrist stops at full stretch
        w = shoulder + (wrist[side] - shoulder) * np.minimum(1.0, limit / reach.clip(1e-6))
        elbow = _elbow(shoulder, w, s["upper"], s["fore"], side)
        pts[f"{key}_elbow"], pts[f"{key}_wrist"] = elbow, w
        for part, value in _hand_points(elbow, w, size, side, spread[side]).items():
            pts[f"{key}_{part}"] = value
    for k, v in _SEATED.items():
        pts[k] = np.repeat((np.asarray(v) * size)[None], L, axis=0)
    pts["spine_base"] = hips
    return pts


# ------------------------------------------------------------------------------------------ 2-D


def _project(s: Dict[str, Any], body: np.ndarray) -> np.ndarray:
    """(L, V, 3) body frame -> (L, V, 2) pixels (y down) of the subject's camera, in front of the person."""
    target = np.array([0.0, 0.35, 0.0]) * s["size"]
    yaw, pitch, dist = s["cam_yaw"], s["cam_pitch"], s["cam_dist"]
    centre = target + dist * np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    forward = (target - centre) / dist
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    rel = body + s["seat"] - centre
    depth = rel @ forward
    return s["centre"] + s["focal"] * np.stack([rel @ right, -(rel @ up)], -1) / depth[..., None]


def _detect(rng: np.random.Generator, s: Dict[str, Any], pts: Dict[str, np.ndarray], joints: Sequence[str],
            t: np.ndarray) -> np.ndarray:
    """(L, V) detection confidence, 0 = not detected: OpenPose-like rates, correlated in time."""
    L, V = len(t), len(joints)
    conf = np.zeros((L, V))
    latent = _smooth(rng, t, 4.0, dims=V)  # ~N(0, 1) per frame, correlated over a few frames
    base = rng.uniform(0.5, 0.9, size=V)[None] + 0.05 * _smooth(rng, t, 10.0, dims=V)  # (L, V)
    # which way the head faces relative to the camera: the ear on the far side disappears
    face = pts["nose"] - pts["head"] if "nose" in pts else np.tile([0.0, 0.0, 1.0], (L, 1))
    facing = np.arctan2(face[:, 0], face[:, 2]) - s["cam_yaw"]
    hands_at_face = np.minimum(np.linalg.norm(pts["left_wrist"] - pts["head"], axis=1),
                               np.linalg.norm(pts["right_wrist"] - pts["head"], axis=1)) < 0.15 * s["size"]
    hand_seen = {k: _smooth(rng, t, 6.0)[:, 0] < _ppf(s["hand_rate"]) for k in ("left", "right")}
    for v, j in enumerate(joints):
        p = np.full(L, 0.99)
        if j.endswith("_ear"):
            side = _RIGHT if j.startswith("right") else _LEFT
            p = np.clip(s["ear_bias"] - 2.5 * side * facing, 0.02, 0.98)
        elif j.endswith("_eye") or j == "nose":
            p = np.where(hands_at_face, 0.7, 0.97)
        elif j.endswith(("_elbow",)):
            p = np.full(L, 0.96)
        elif j.endswith("_wrist"):
            p = np.full(L, 0.94)
        elif j.endswith(("_tip", "_thumb", "_hand")):
            p = np.where(hand_seen["left" if j.startswith("left") else "right"], 0.9, 0.0)
            base[:, v] -= 0.3
        elif j.endswith(("_hip", "_knee", "_ankle", "_foot")) or j in ("spine_base", "spine_mid"):
            p = np.zeros(L)  # seated behind a table: legs and hips are never detected
        seen = (latent[:, v] < _ppf(p)) & (p > 0)
        conf[:, v] = np.where(seen, np.clip(base[:, v] + 0.06 * rng.standard_normal(L), 0.05, 1.0), 0.0)
    gaps = rng.poisson(s["gap_rate"] * L)  # frames with nobody: short runs
    for _ in range(gaps):
        start = rng.integers(0, L)
        conf[start:start + 1 + rng.geometric(0.5) - 1] = 0.0
    return conf


# ------------------------------------------------------------------------------------------ the dataset


def generate_realistic(num_samples: int, *, layout: str = "imigue22", form: str = "3d", frames: int = 64,
                       seed: int = 0, subjects: int = 24, long_tail: Union[bool, float] = False,
                       classes: Optional[Sequence[str]] = None, num_persons: int = 1) -> SyntheticMG:
    """Draw ``num_samples`` micro-gesture clips grounded in iMiGUE's measured statistics (module docstring).

    Args:
        layout: ``"imigue22"`` or ``"ntu25"``.
        form: ``"3d"`` (metres, mgclr's canonical body frame: x to the person's left, y up, z forward, hips at
            the origin) or ``"2d"`` (x, y, confidence: a camera's pixels normalised like iMiGUE's converter,
            per subject: the median neck at 0, the median shoulder width 1, y up; undetected points are 0).
        frames: T, the padded length. A clip of ``duration`` frames at 25 fps longer than T is sampled at T
            evenly spaced times over its duration (the motion is a function of time, nothing interpolated);
            ``durations`` keeps the drawn length, ``lengths`` the stored one.
        seed: the seed of everything random (the subjects depend on ``seed`` and ``subjects`` only).
        subjects: how many people perform the clips; each has their own body, handedness, posture, idle
            rhythm, gesture style and camera. Split by :func:`split_by_subject` (cross-subject).
        long_tail: ``False`` balanced; ``True`` iMiGUE's imbalance (largest / smallest class 1440); a number:
            that imbalance. Class counts are geometric in the order of ``classes`` (:func:`class_counts`).
        classes: a subset of ``CLASSES``, optionally with ``"idle"`` (no micro-gesture: idle motion only).
        num_persons: M; persons past the first are absent (zero).
    """
    N = check_int("num_samples", num_samples, low=1)
    T = check_int("frames", frames, low=8)
    M = check_int("num_persons", num_persons, low=1)
    S = check_int("subjects", subjects, low=1)
    if layout not in SUPPORTED_LAYOUTS:
        raise ValueError(f"layout: expected one of {SUPPORTED_LAYOUTS}, got {layout!r}")
    if form not in FORMS:
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    names = tuple(classes) if classes is not None else CLASSES
    known = CLASSES + (IDLE,)
    if not names or any(c not in known for c in names) or len(set(names)) != len(names):
        raise ValueError(f"classes: expected distinct names from {known}, got {list(names)}")
    if isinstance(long_tail, bool):
        imbalance = IMIGUE_IMBALANCE if long_tail else 1.0
    else:
        imbalance = check_float32("long_tail", long_tail, low=1.0)
    K = len(names)
    counts = class_counts(N, K, imbalance)

    root = np.random.SeedSequence([int(seed), 0x6D67])
    people_seq, draw_seq, clip_seq = root.spawn(3)
    people_rng = np.random.default_rng(people_seq)
    people = [_subject(people_rng, len(CLASSES) + 1) for _ in range(S)]
    weight = people_rng.lognormal(0.0, 0.6, size=S)  # some people appear in many more clips than others
    taste = people_rng.gamma(2.0, 1.0, size=(S, len(known)))  # and each has their habitual gestures

    rng = np.random.default_rng(draw_seq)
    labels = np.repeat(np.arange(K), counts)
    rng.shuffle(labels)
    subject_of = np.empty(N, dtype=np.int64)
    for c in range(K):
        p = weight * taste[:, known.index(names[c])]
        members = np.flatnonzero(labels == c)
        subject_of[members] = rng.choice(S, size=len(members), p=p / p.sum())
    durations = _durations(rng, N)
    lengths = np.minimum(durations, T)

    joints = get_layout(layout).joint_names
    V = len(joints)
    x = np.zeros((N, 3, T, V, M), dtype=np.float32)
    clip_rngs = [np.random.default_rng(c) for c in clip_seq.spawn(N)]
    raw = []  # 2-D: pixels and confidences, normalised per subject below
    for n in range(N):
        crng, s, L, D = clip_rngs[n], people[subject_of[n]], int(lengths[n]), int(durations[n])
        t = np.arange(D, dtype=np.float64) if D <= T else np.linspace(0.0, D - 1.0, L)
        name = names[labels[n]]
        pts = _clip(crng, s, name, known.index(name), t, D)
        body = np.stack([pts[j] for j in joints], axis=1)  # (L, V, 3)
        if form == "3d":
            noise = crng.normal(0.0, s["noise"], size=body.shape)
            noise *= np.array([1.5 if j.endswith(("_tip", "_thumb", "_hand")) else 1.0 for j in joints])[:, None]
            x[n, :, :L, :, 0] = (body + s["seat"] + crng.normal(0.0, 0.02, size=3) + noise).transpose(2, 0, 1)
        else:
            pix = _project(s, body + crng.normal(0.0, 0.02, size=3) * np.array([1.0, 0.3, 1.0]))
            conf = _detect(crng, s, pts, joints, t)
            sw_pixels = s["focal"] * 0.36 * s["size"] * s["shoulder"] / s["cam_dist"]
            jitter = s["jitter"] * sw_pixels * (2.0 - conf)[..., None]  # less confident, noisier
            pix = pix + crng.normal(0.0, 1.0, size=pix.shape) * jitter
            raw.append(np.concatenate([pix, conf[..., None]], -1).transpose(2, 0, 1))  # (3, L, V)
    if form == "2d":
        neck, shoulders = joints.index("neck"), (joints.index("right_shoulder"), joints.index("left_shoulder"))
        for subject in np.unique(subject_of):
            members = np.flatnonzero(subject_of == subject)
            video = np.concatenate([raw[n] for n in members], axis=1)[..., None]  # this person's "video"
            normed, _, _ = normalise_openpose_video(video, neck, shoulders)
            start = 0
            for n in members:
                L = int(lengths[n])
                x[n, :, :L, :, 0] = normed[:, start:start + L, :, 0]
                start += L
    return SyntheticMG(x, lengths.astype(np.int64), labels.astype(np.int64), names, layout, FPS,
                       subjects=subject_of, durations=durations, coord_channels=3 if form == "3d" else 2)


# ------------------------------------------------------------------------------------------ splits


def select(data: SyntheticMG, index: np.ndarray) -> SyntheticMG:
    """The samples ``index`` (integer indices or a boolean mask) of ``data``."""
    index = np.asarray(index)

    def pick(a):
        return None if a is None else a[index]

    return SyntheticMG(data.x[index], data.lengths[index], data.labels[index], data.class_names, data.layout,
                       data.fps, pick(data.subjects), pick(data.durations), data.coord_channels)


def split_by_subject(data: SyntheticMG, test_fraction: float = 0.3, seed: int = 0
                     ) -> Tuple[SyntheticMG, SyntheticMG]:
    """(train, test) with disjoint subjects (the cross-subject protocol): ``round(test_fraction * S)`` of the
    S subjects present, at least one each side, drawn with ``seed``, go to test."""
    if data.subjects is None:
        raise ValueError("data: has no subjects (made by mgclr.data.generate?); use generate_realistic")
    test_fraction = check_float32("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False,
                                  high_inclusive=False)
    present = np.unique(data.subjects)
    if len(present) < 2:
        raise ValueError(f"data: a cross-subject split needs 2 subjects or more, got {len(present)}")
    k = int(np.clip(round(test_fraction * len(present)), 1, len(present) - 1))
    test_subjects = np.random.default_rng(seed).choice(present, size=k, replace=False)
    is_test = np.isin(data.subjects, test_subjects)
    return select(data, ~is_test), select(data, is_test)
