"""Which way is up: every dataset declares the direction of its coordinate axes.

Sources disagree: Kinect camera space has y up and x to the *camera's* left (so the left of a person facing
the camera is -x); the 2s-AGCN pre-normalisation of NTU turns the spine onto +z and the shoulders onto x (the
person's left is -x); image keypoints (pyskl, OpenPose before mgclr's normalisation) grow y downward. A
dataset's ``meta["axes"]`` says which, so that the viewer draws people upright and an augmentation that
assumes an axis can check it::

    {"up": "+y", "left": "-x", "handedness": "right"}

* ``up``: the signed axis that points from the feet to the head.
* ``left``: the signed axis that points to the person's left -- for a person facing the camera in camera
  coordinates (Kinect, images), or in the body frame a normalisation builds (NTU's 2s-AGCN frame).
* ``handedness`` (3-D only): ``"right"`` when the coordinates form a right-handed system (Kinect camera space
  does, and rotations keep it), ``"left"`` when mirrored. It fixes the third direction: the way the person
  faces is ``left x up`` in a right-handed system and ``-(left x up)`` in a left-handed one. 2-D data has none.

mgclr's canonical frame (:data:`CANONICAL`: the synthetic generator's and the viewer's) is x to the person's
left, y up and, in 3-D, z the way the person faces (toward a camera it faces): right-handed.
:func:`canonical_matrix` maps declared coordinates into it.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import numpy as np

__all__ = ["CANONICAL", "CANONICAL_2D", "IMAGE", "KINECT", "NTU_2S_AGCN", "canonical_matrix", "check_axes",
           "lateral_channel"]

CANONICAL: Dict[str, Any] = {"up": "+y", "left": "+x", "handedness": "right"}
CANONICAL_2D: Dict[str, Any] = {"up": "+y", "left": "+x", "handedness": None}
# Kinect v1 / v2 camera space (NW-UCLA, UTKinect, SMG; centring keeps it). Measured on the real NW-UCLA and
# UTKinect files: left shoulder - right shoulder = (-0.24, 0.00, 0.01) / (-0.28, 0.01, -0.02) m, head - hip
# centre = (0.01, 0.53, -0.13) / (0.01, 0.58, -0.08) m, and left x up points to -z, toward the camera the
# people face: right-handed (tests/test_data_axes.py checks it on those files).
KINECT: Dict[str, Any] = {"up": "+y", "left": "-x", "handedness": "right"}
# NTU after the 2s-AGCN pre-normalisation (spine onto +z, right shoulder - left shoulder onto +x; real samples:
# head - spine base = (0.04, 0.05, 0.64), right - left shoulder = (+0.26, ...)); a rotation of Kinect v2's
# right-handed camera space.
NTU_2S_AGCN: Dict[str, Any] = {"up": "+z", "left": "-x", "handedness": "right"}
# Image pixels (pyskl's 2-D keypoints, raw OpenPose): y grows downward; a person facing the camera has their
# left on the image's right.
IMAGE: Dict[str, Any] = {"up": "-y", "left": "+x", "handedness": None}
_NAMES = ("x", "y", "z")
_KEYS = ("up", "left", "handedness")


def _signed_axis(value: Any, key: str, coord_channels: int, where: str):
    names = _NAMES[:coord_channels]
    choices = [f"{s}{n}" for n in names for s in "+-"]
    if not (isinstance(value, str) and value in choices):
        raise ValueError(f"{where}: axes.{key}: expected one of {', '.join(choices)}, got {value!r}")
    return (1 if value[0] == "+" else -1), names.index(value[1])


def check_axes(spec: Optional[Mapping[str, Any]], coord_channels: int,
               where: str = "dataset description") -> Optional[Dict[str, Any]]:
    """``spec`` checked against ``coord_channels`` (2 or 3) and returned as a plain dict; None stays None
    (the source does not say)."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: axes: expected a mapping with up, left and handedness, got "
                         f"{type(spec).__name__}")
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown:
        raise ValueError(f"{where}: axes: unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}")
    for key in ("up", "left"):
        if key not in spec:
            raise ValueError(f"{where}: axes.{key}: missing")
    up = _signed_axis(spec["up"], "up", coord_channels, where)
    left = _signed_axis(spec["left"], "left", coord_channels, where)
    if up[1] == left[1]:
        raise ValueError(f"{where}: axes: up ({spec['up']}) and left ({spec['left']}) are the same axis")
    handedness = spec.get("handedness")
    if coord_channels == 3 and handedness not in ("right", "left"):
        raise ValueError(f"{where}: axes.handedness: expected 'right' or 'left' for 3-D coordinates, got "
                         f"{handedness!r}")
    if coord_channels == 2 and handedness is not None:
        raise ValueError(f"{where}: axes.handedness: 2-D coordinates have none (null), got {handedness!r}")
    return {"up": spec["up"], "left": spec["left"], "handedness": handedness}


def canonical_matrix(axes: Mapping[str, Any], coord_channels: int) -> np.ndarray:
    """The ``(k, k)`` matrix (k = ``coord_channels``) taking declared coordinates to mgclr's canonical frame
    (rows: the person's left, up, and in 3-D the way the person faces); a reflection when the declared
    system is left-handed."""
    axes = check_axes(axes, coord_channels)
    rows = []
    for key in ("left", "up"):
        sign, index = _signed_axis(axes[key], key, coord_channels, "axes")
        row = np.zeros(coord_channels)
        row[index] = sign
        rows.append(row)
    if coord_channels == 3:
        # The facing direction, in declared coordinates: left x up in a right-handed system.
        facing = np.cross(rows[0], rows[1]) * (1.0 if axes["handedness"] == "right" else -1.0)
        rows.append(facing)
    return np.stack(rows)


def lateral_channel(axes: Optional[Mapping[str, Any]]) -> Optional[int]:
    """The channel along the person's left-right direction (0 for x), or None when the axes are unknown."""
    if axes is None:
        return None
    return _NAMES.index(axes["left"][1])
