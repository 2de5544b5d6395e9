"""What the converters do to coordinates, as functions a recognizer can apply again to new skeletons.

Each converter writes, beside the prose of ``meta["normalisation"]``, a machine-readable ``meta["normalise"]``
spec ``{"kind", "scope", <arguments>, "description"}``; the dataset's description carries it into every
checkpoint and recognizer, and :func:`apply_normalisation` replays it (``mgclr recognize`` on a new long
sequence). ``scope`` says what the converter normalised at once:

* ``"sample"``: each sample (clip) on its own -- :func:`centre_on_joint` (NW-UCLA, UTKinect, SMG) and the
  2s-AGCN pre-normalisation (NTU). ``mgclr recognize`` applies it to each window of a raw sequence, as
  training saw clips. Both are invariant to a translation of the input.
* ``"video"``: the whole video, so that its clips share one frame of reference -- the per-video OpenPose
  normalisation of iMiGUE (:func:`normalise_openpose_video`). Applied once to a new raw video.

Not every normalisation is idempotent (the OpenPose one flips y; 2s-AGCN's second rotation moves the spine off
+z, so a second pass rotates again), so :func:`is_normalised` tells input that already had one from raw input
by the normalisation's own signature (the centre joint at the origin, the median neck at the origin and the
median shoulder width 1, ...), which camera coordinates never show.

Arrays are ``(C, T, V, M)``; points exactly 0 in every coordinate channel are missing and stay 0.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["NORMALISATIONS", "NormalisationError", "apply_normalisation", "centre_on_joint", "centre_on_joint_spec",
           "check_normalise_spec", "is_normalised", "normalise_openpose_video", "ntu_pre_normalise", "ntu_spec",
           "openpose_video_spec"]


class NormalisationError(ValueError):
    """A sequence cannot be normalised (no person detected), or a spec is not one this mgclr knows."""


# ----------------------------------------------------------------------------------------- centre on joint


def centre_on_joint(x: np.ndarray, joint: int, coord_channels: int = 3) -> np.ndarray:
    """Subtract the position of ``joint`` at the first frame where it is present (first person) from every
    present point; points that are exactly zero (missing) stay zero. x: (C, T, V, M).

    Not idempotent in general: the origin is exactly 0 afterwards, which reads as missing, so a second pass
    takes the joint's next frame; :func:`is_normalised` recognises centred input instead."""
    coords = x[:coord_channels]
    present = np.any(coords != 0, axis=0)  # (T, V, M)
    frames = np.flatnonzero(present[:, joint, 0])
    if len(frames) == 0:
        return x
    origin = coords[:, frames[0], joint, 0].copy()
    out = x.copy()
    out[:coord_channels] = np.where(present[None], coords - origin[:, None, None, None], 0.0)
    return out


def centre_on_joint_spec(joint: int, joint_name: str, coord_channels: int = 3) -> Dict[str, Any]:
    return {"kind": "centre_on_joint", "scope": "sample", "joint": int(joint), "coord_channels": int(coord_channels),
            "description": f"per sample: every present point minus the {joint_name} joint ({joint}) of the first "
                           f"frame where it is present; missing points (exactly 0) stay zero"}


# ------------------------------------------------------------------------------------- NTU (2s-AGCN) steps

SPINE_BASE, SPINE_MID, LEFT_SHOULDER, RIGHT_SHOULDER = 0, 1, 4, 8  # ntu25 indices (0-based)


def _rotation_onto(v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 rotation by the smallest angle (about ``v x target``) that turns ``v`` onto the unit vector
    ``target`` (Rodrigues' formula); the identity when ``v`` is too short to define a direction."""
    norm = float(np.linalg.norm(v))
    if norm < 1e-6:
        return np.eye(3)
    u = v / norm
    axis = np.cross(u, target)
    sin, cos = float(np.linalg.norm(axis)), float(np.dot(u, target))
    if sin < 1e-12:
        if cos > 0:
            return np.eye(3)
        # Opposite: any half turn about an axis perpendicular to target works; pick one deterministically.
        helper = np.array([0.0, 1.0, 0.0]) if abs(target[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
        p = np.cross(target, helper)
        p /= np.linalg.norm(p)
        return 2.0 * np.outer(p, p) - np.eye(3)
    k = axis / sin
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sin * K + (1.0 - cos) * (K @ K)


def ntu_pre_normalise(x: np.ndarray) -> np.ndarray:
    """Steps 2-4 of the NTU converter's ``NORMALISATION`` (2s-AGCN's pre-normalisation: per-frame centring on
    person 0's spine mid, then two rotations) on ``x`` (T, M, 25, 3) float64, person 0 first; returns a new
    array. Joints at exactly (0, 0, 0) are missing and stay so."""
    x = np.array(x, dtype=np.float64)
    present = np.any(x != 0, axis=-1)  # (T, M, V), before centring moves a real joint onto the origin
    has_centre = present[:, 0, SPINE_MID]
    if has_centre.any():
        # Hold person 0's last known spine mid through frames where it is missing, so the other person is
        # still expressed relative to it rather than left in camera coordinates.
        frame_of = np.where(has_centre, np.arange(len(x)), -1)
        frame_of = np.maximum.accumulate(frame_of)
        frame_of[frame_of < 0] = int(np.argmax(has_centre))
        centre = x[frame_of, 0, SPINE_MID]  # (T, 3)
        x = np.where(present[..., None], x - centre[:, None, None, :], 0.0)
    person0 = np.flatnonzero(present[:, 0].any(axis=1))
    if len(person0) == 0:
        return x
    t0 = int(person0[0])
    x = x @ _rotation_onto(x[t0, 0, SPINE_MID] - x[t0, 0, SPINE_BASE], np.array([0.0, 0.0, 1.0])).T
    x = x @ _rotation_onto(x[t0, 0, RIGHT_SHOULDER] - x[t0, 0, LEFT_SHOULDER], np.array([1.0, 0.0, 0.0])).T
    return np.where(present[..., None], x, 0.0)  # rotations keep zeros zero; this only cleans -0.0 / rounding


def ntu_spec() -> Dict[str, Any]:
    return {"kind": "ntu_2s_agcn", "scope": "sample",
            "description": "per sample: 2s-AGCN pre-normalisation (centre on person 0's spine mid per frame, rotate "
                           "its spine onto +z and its shoulder line onto +x); see mgclr.data.convert.ntu"}


# ------------------------------------------------------------------------------------- OpenPose per video


def _detected(x: np.ndarray) -> np.ndarray:
    """(T, V, M): confidence > 0 and not at x = y = 0 (OpenPose writes (0, 0, 0) for a missed point)."""
    return (x[2] > 0) & ~((x[0] == 0) & (x[1] == 0))


def _openpose_reference(x: np.ndarray, neck: int, shoulders: Sequence[int]) -> Tuple[float, float, float]:
    detected = _detected(x)[..., 0]
    right, left = shoulders
    has_neck = detected[:, neck]
    both = detected[:, right] & detected[:, left]
    if not has_neck.any():
        raise NormalisationError(f"the neck (joint {neck}) is detected in no frame; cannot normalise")
    if not both.any():
        raise NormalisationError("no frame has both shoulders detected; cannot normalise")
    ox, oy = float(np.median(x[0, has_neck, neck, 0])), float(np.median(x[1, has_neck, neck, 0]))
    scale = float(np.median(np.hypot(x[0, both, right, 0] - x[0, both, left, 0],
                                     x[1, both, right, 0] - x[1, both, left, 0])))
    if not scale > 0:
        raise NormalisationError("the median shoulder width is 0; cannot normalise")
    return ox, oy, scale


def normalise_openpose_video(x: np.ndarray, neck: int = 1, shoulders: Sequence[int] = (2, 5)
                             ) -> Tuple[np.ndarray, Tuple[float, float], float]:
    """Per-video OpenPose normalisation of ``x`` (3, T, V, M) pixels (x, y, confidence; person 0 drives it):
    ``x' = (x - origin_x) / scale``, ``y' = (origin_y - y) / scale`` (y up), confidence kept, undetected points
    0 in every channel, where origin = the median detected ``neck`` and scale = the median width between the
    two ``shoulders`` over the frames where both are detected. Returns (x', (origin_x, origin_y), scale);
    raises :class:`NormalisationError` when nobody is detected."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4 or x.shape[0] < 3:
        raise NormalisationError(f"x: expected (3, T, V, M) x, y, confidence, got shape {x.shape}")
    ox, oy, scale = _openpose_reference(x, neck, shoulders)
    detected = _detected(x)
    out = np.zeros_like(x)
    out[0] = np.where(detected, (x[0] - ox) / scale, 0.0)
    out[1] = np.where(detected, (oy - x[1]) / scale, 0.0)
    out[2:] = np.where(detected[None], x[2:], 0.0)
    return out, (ox, oy), scale


def openpose_video_spec(neck: int = 1, shoulders: Sequence[int] = (2, 5)) -> Dict[str, Any]:
    return {"kind": "openpose_video", "scope": "video", "neck": int(neck), "shoulders": [int(s) for s in shoulders],
            "description": ("per video: x' = (x - origin_x) / scale, y' = (origin_y - y) / scale (y up); origin = "
                            f"median neck (joint {neck}) position over the frames where it is detected, scale = "
                            f"median distance between joints {shoulders[0]} and {shoulders[1]} (the shoulders) over "
                            "the frames where both are detected (pixels; per-sample norm_origin, norm_scale); "
                            "confidence kept; undetected points (confidence 0 or x = y = 0) are 0 in all channels; "
                            "the most confident person (highest mean BODY_25 confidence) of each frame")}


# ------------------------------------------------------------------------------------------------ specs

NORMALISATIONS = ("centre_on_joint", "ntu_2s_agcn", "openpose_video")


def check_normalise_spec(spec: Any, where: str = "normalise") -> Optional[Dict[str, Any]]:
    """``spec`` checked (None stays None): a mapping with a known ``kind`` and ``scope`` and its arguments."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or spec.get("kind") not in NORMALISATIONS:
        kind = spec.get("kind") if isinstance(spec, Mapping) else spec
        raise NormalisationError(f"{where}: expected a normalisation of kind {', '.join(NORMALISATIONS)}, got {kind!r}")
    expected = {"centre_on_joint": "sample", "ntu_2s_agcn": "sample", "openpose_video": "video"}[spec["kind"]]
    if spec.get("scope") != expected:
        raise NormalisationError(f"{where}: scope of {spec['kind']!r}: expected {expected!r}, got "
                                 f"{spec.get('scope')!r}")
    needs = {"centre_on_joint": ("joint",), "ntu_2s_agcn": (), "openpose_video": ("neck", "shoulders")}[spec["kind"]]
    missing = [k for k in needs if k not in spec]
    if missing:
        raise NormalisationError(f"{where}: {spec['kind']}: missing {', '.join(missing)}")
    return dict(spec)


def apply_normalisation(x: np.ndarray, spec: Optional[Mapping[str, Any]]) -> np.ndarray:
    """``x`` (C, T, V, M) normalised as ``spec`` says (a new array; ``None``: unchanged). The caller picks the
    scope: one clip or window for ``"sample"`` specs, a whole video for ``"video"`` ones."""
    spec = check_normalise_spec(spec)
    if spec is None:
        return np.array(x)
    if spec["kind"] == "centre_on_joint":
        return centre_on_joint(np.asarray(x), spec["joint"], spec.get("coord_channels", 3))
    if spec["kind"] == "ntu_2s_agcn":
        x = np.asarray(x)
        out = np.array(x, dtype=x.dtype)
        out[:3] = ntu_pre_normalise(x[:3].transpose(1, 3, 2, 0)).transpose(3, 0, 2, 1)
        return out
    return normalise_openpose_video(x, spec["neck"], spec["shoulders"])[0].astype(np.asarray(x).dtype)


def is_normalised(x: np.ndarray, spec: Optional[Mapping[str, Any]], tolerance: float = 1e-3) -> bool:
    """Whether ``x`` (C, T, V, M) already shows the signature of ``spec``'s output: ``centre_on_joint``: the
    centre joint at the origin (or missing) at the person's first frame; ``ntu_2s_agcn``: person 0's spine mid at the
    origin in every frame where the person is present; ``openpose_video``: the median neck at the origin and
    the median shoulder width 1. Camera coordinates (metres, pixels) do not show these."""
    spec = check_normalise_spec(spec)
    if spec is None:
        return True
    x = np.asarray(x, dtype=np.float64)
    if spec["kind"] == "openpose_video":
        try:
            ox, oy, scale = _openpose_reference(x, spec["neck"], spec["shoulders"])
        except NormalisationError:
            return False
        return abs(ox) <= tolerance and abs(oy) <= tolerance and abs(scale - 1.0) <= tolerance
    coord = spec.get("coord_channels", 3)
    person = np.any(x[:coord, :, :, 0] != 0, axis=(0, 2))  # frames where person 0 is present
    if not person.any():
        return False
    if spec["kind"] == "centre_on_joint":
        first = int(np.flatnonzero(person)[0])
        return bool(np.abs(x[:coord, first, spec["joint"], 0]).max() <= tolerance)
    return bool(np.abs(x[:3, person, SPINE_MID, 0]).max() <= tolerance)
