"""Northwestern-UCLA Multiview Action3D (the ``all_sqe`` JSON set) -> an mgclr dataset.

Source: a folder (searched recursively) of ``aAA_sSS_eEE_vVV.json`` files, action ``AA``, subject ``SS``,
execution ``EE``, view ``VV`` (1-3), each ``{"file_name": "aAA_sSS_eEE_vVV", "skeletons": [T][20][3],
"label": action label + 1}``: one person, 20 Kinect v1 joints (the ``kinect20`` layout), x, y, z in metres
(camera space, z = depth). Output: ``data.npy`` (N, 3, ``frames``, 20, 1), labels 0-9 in :data:`ACTIONS`
order (the ten actions have ids a01-a06, a08, a09, a11, a12), per-sample fields ``id``, ``action`` (the
file's action id), ``subject``, ``execution``, ``view``.

Benchmark ``xview`` (CTR-GCN, InfoGCN and the skeleton self-supervised papers): views 1 and 2 train, view 3
test.

Every value is checked: a frame that does not hold 20 joints of 3 finite numbers, a file name that is not
``aAA_sSS_eEE_vVV`` or disagrees with ``file_name``, an action id outside the ten, a ``label`` that does not
match the action id, or an empty sequence raises :class:`~mgclr.data.convert.common.ConversionError` naming
the file and the frame or field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..axes import KINECT
from ..normalise import centre_on_joint, centre_on_joint_spec
from .common import (
    IMPLAUSIBLE,
    PLAUSIBLE,
    ConversionError,
    ConversionReport,
    FirstSeen,
    Option,
    Sample,
    declare_options,
    read_text,
    run_conversion,
    sorted_files,
)

__all__ = ["ACTIONS", "ACTION_IDS", "NORMALISATION", "TRAIN_VIEWS", "convert_nw_ucla", "parse_name", "read_sequence"]

NUM_JOINTS = 20
SPINE = 1  # kinect20 "spine"
ACTION_IDS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
ACTIONS = ("pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down", "stand up",
           "donning", "doffing", "throw", "carry")
TRAIN_VIEWS = (1, 2)
NORMALISATION = ("coordinates in metres, Kinect v1 camera space; every present point minus the spine joint (1) "
                 "of the first frame where it is present; missing points (exactly 0, 0, 0) stay zero")

_NAME = re.compile(r"^a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})$")


def parse_name(path: Union[str, Path]) -> Dict[str, Any]:
    """``aAA_sSS_eEE_vVV[.json]`` -> ``{"id", "action", "subject", "execution", "view"}``."""
    stem = Path(path).name
    stem = stem[:-len(".json")] if stem.endswith(".json") else stem
    match = _NAME.match(stem)
    if match is None:
        raise ConversionError(path, "file name", f"expected aAA_sSS_eEE_vVV.json, got {Path(path).name!r}",
                              "bad file name")
    action, subject, execution, view = (int(g) for g in match.groups())
    if action not in ACTION_IDS:
        raise ConversionError(path, "file name", f"action a{action:02d} is not one of the ten NW-UCLA actions "
                              f"({', '.join(f'a{a:02d}' for a in ACTION_IDS)})", "unknown action")
    if view not in (1, 2, 3):
        raise ConversionError(path, "file name", f"view v{view:02d} is not 1, 2 or 3", "bad file name")
    return {"id": stem, "action": action, "subject": subject, "execution": execution, "view": view}


def read_sequence(path: Union[str, Path]) -> np.ndarray:
    """One NW-UCLA JSON file -> (T, 20, 3) float32, every value checked; the label field is checked against
    the file name."""
    path = Path(path)
    fields = parse_name(path)
    try:
        text = read_text(path)
        content = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ConversionError(path, "", f"not UTF-8 text ({exc.reason})", "not JSON") from None
    except json.JSONDecodeError as exc:
        raise ConversionError(path, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}",
                              "not JSON") from None
    except RecursionError:
        raise ConversionError(path, "", "not valid JSON: nested too deeply", "not JSON") from None
    if not isinstance(content, dict):
        raise ConversionError(path, "", f"expected a JSON object, got {type(content).__name__}", "missing field")
    for key in ("skeletons", "label"):
        if key not in content:
            raise ConversionError(path, f"field {key!r}", f"missing (the file has {sorted(content)})", "missing field")
    if "file_name" in content and content["file_name"] != fields["id"]:
        raise ConversionError(path, "field 'file_name'", f"{content['file_name']!r} does not match the file name "
                              f"{fields['id']!r}", "name mismatch")
    expected_label = ACTION_IDS.index(fields["action"]) + 1
    label = content["label"]
    if isinstance(label, bool) or not isinstance(label, int) or label != expected_label:
        raise ConversionError(path, "field 'label'", f"{label!r} does not match action a{fields['action']:02d} "
                              f"(expected {expected_label})", "label mismatch")
    frames = content["skeletons"]
    if not isinstance(frames, list):
        raise ConversionError(path, "field 'skeletons'", f"expected a list of frames, got {type(frames).__name__}",
                              "missing field")
    if not frames:
        raise ConversionError(path, "field 'skeletons'", "no frame", "empty")
    # One NumPy conversion for the common case; the slow walk only when it cannot be trusted.
    # (Strings and nulls give a str / object array; JSON booleans alone would quietly become 1.0 / 0.0.)
    try:
        xyz = None if "true" in text or "false" in text else np.array(frames)
    except ValueError:  # ragged
        xyz = None
    if xyz is None or xyz.dtype.kind not in "fi" or xyz.shape != (len(frames), NUM_JOINTS, 3):
        _check_values(path, frames)  # raises, naming the frame and joint of the first bad value
        xyz = np.array(frames, dtype=np.float64)
    bad = np.argwhere(~np.isfinite(xyz) | (np.abs(np.nan_to_num(xyz, posinf=0, neginf=0)) > PLAUSIBLE))
    if len(bad):
        t, v, c = (int(i) for i in bad[0])
        value = xyz[t, v, c]
        if not np.isfinite(value):
            raise ConversionError(path, f"field 'skeletons', frame {t}, joint {v}", f"value {c + 1} is {value}",
                                  "NaN or infinite value")
        raise ConversionError(path, f"field 'skeletons', frame {t}, joint {v}", f"value {c + 1} is {value:g}: "
                                                                                f"beyond {PLAUSIBLE:g}, implausible "
                                                                                f"for this format", IMPLAUSIBLE)
    xyz = xyz.astype(np.float32)
    if not np.any(xyz):
        raise ConversionError(path, "field 'skeletons'", "every joint of every frame is at (0, 0, 0)", "empty")
    return xyz


def _check_values(path: Path, frames: List[Any]) -> None:
    for t, frame in enumerate(frames):
        where = f"field 'skeletons', frame {t}"
        if not isinstance(frame, list) or len(frame) != NUM_JOINTS:
            got = f"{len(frame)} joints" if isinstance(frame, list) else type(frame).__name__
            raise ConversionError(path, where, f"expected {NUM_JOINTS} joints, got {got}", "wrong joint count")
        for v, joint in enumerate(frame):
            if not isinstance(joint, list) or len(joint) != 3:
                raise ConversionError(path, f"{where}, joint {v}", f"expected [x, y, z], got {joint!r}",
                                      "wrong number of values")
            for c, value in enumerate(joint):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConversionError(path, f"{where}, joint {v}", f"value {c + 1} is not a number: {value!r}",
                                          "non-numeric")


def _longest(files: List[Path]) -> int:
    longest = 1
    for f in files:
        try:
            longest = max(longest, len(json.loads(read_text(f)).get("skeletons", ())))
        except (ValueError, AttributeError, TypeError, OSError, RecursionError):
            continue  # reported when the file is converted
    return longest


@declare_options(Option("frames", "T of data.npy", type=int, default_text="the longest sequence"))
def convert_nw_ucla(src: Union[str, Path], dst: Union[str, Path], *, skip_bad: bool = False,
                    overwrite: bool = False, progress: bool = True, splits: Optional[Sequence[str]] = None,
                    frames: Optional[int] = None) -> ConversionReport:
    """Convert a folder of NW-UCLA ``aAA_sSS_eEE_vVV.json`` files into an mgclr dataset at ``dst``.

    Args:
        src: folder searched recursively for ``*.json``.
        dst: the dataset folder to write.
        skip_bad: skip (and count) corrupt files instead of stopping at the first.
        overwrite: replace a dataset already at ``dst``.
        progress: show a progress bar.
        splits: the benchmarks to record in meta.json (default: all).
        frames: T of ``data.npy``; None: the longest sequence (201 in ``all_sqe``). Longer sequences are cut,
            counted in ``meta["provenance"]``.

    Returns the :class:`ConversionReport`; ``data.npy`` is (N, 3, frames, 20, 1).
    """
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"src: {src} is not a folder (expected the NW-UCLA aAA_sSS_eEE_vVV.json files)")
    unreadable: List[Tuple[str, str]] = []
    files = sorted_files(src, "*.json", unreadable if skip_bad else None)
    if not files:
        raise FileNotFoundError(f"src: no .json file under {src}")
    if frames is None:
        frames = _longest(files)
    elif isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames: expected a positive int or None, got {frames!r}")
    frames = int(frames)
    cut_key = f"cut_to_{frames}_frames"
    provenance: Dict[str, Any] = {"source": str(src), "files": len(files), cut_key: 0, "frames_cut": 0,
                                  "benchmarks": "xview: views 1,2 train, view 3 test"}
    seen = FirstSeen()

    def parse(path: Path) -> List[Sample]:
        fields = parse_name(path)
        seen.check(fields["id"], path)
        xyz = read_sequence(path)
        if len(xyz) > frames:
            provenance[cut_key] += 1
            provenance["frames_cut"] += len(xyz) - frames
            xyz = xyz[:frames]
        seen.add(fields["id"], path)
        x = xyz.transpose(2, 0, 1)[..., None]  # (T, V, C) -> (C, T, V, 1)
        return [Sample(centre_on_joint(x, SPINE), ACTION_IDS.index(fields["action"]), fields)]

    return run_conversion(
        "nw_ucla", dst, files, parse,
        writer_args=dict(channels=3, frames=frames, joints=NUM_JOINTS, persons=1, layout="kinect20",
                         class_names=ACTIONS, coord_channels=3, fps=None,
                         normalise=centre_on_joint_spec(SPINE, "spine"), axes=KINECT),
        split_of=lambda s: {"xview": "train" if s.fields["view"] in TRAIN_VIEWS else "test"},
        provenance=provenance, normalisation=NORMALISATION, skip_bad=skip_bad, overwrite=overwrite,
        progress=progress, splits=splits, skipped_before=unreadable)
