"""UTKinect-Action3D -> an mgclr dataset of its 199 labelled action segments.

Source: a folder with ``joints_sXX_eYY.txt`` (subject ``XX`` 1-10, execution ``YY`` 1-2) and the label file
``actionLabel_modified.txt`` (the 7 corrected ranges; default) or ``actionLabel.txt`` (the original).

* ``joints_sXX_eYY.txt``: one line per skeleton frame, 61 numbers: the video frame id, then 20 joints x
  (x, y, z) in metres, Kinect v1 joint order (the ``kinect20`` layout). Skeleton frames are sampled
  irregularly and some frame ids repeat: the first line of a repeated id is kept (the repeats are counted in
  ``meta["provenance"]["repeated_frame_ids"]``). Frame ids must not go back.
* The label file: a line ``sXX_eYY``, then one ``action: start end`` line per action, inclusive video frame
  ids. A range given as ``NaN NaN`` (``s10_e02 carry`` in the published files) is a segment the authors did
  not annotate: it is left out and counted as ``no frame range in the label file``. Every other range is two
  integer frame ids, start <= end, within the video's skeleton frame ids (first to last id of its joint file:
  every range of both published label files is, with at least 6 frames to spare).

A segment is the skeleton frames whose id lies in its range. Output: ``data.npy`` (N, 3, ``frames``, 20, 1),
labels in :data:`ACTIONS` order, per-sample fields ``id`` (``s01_e01_walk``), ``subject``, ``execution``,
``action``, ``start_frame``, ``end_frame`` (the label file's range) and ``frame_ids`` (the video frame id of
each kept skeleton frame: the sampling is irregular). Benchmark ``xsub``: odd subjects train (100 segments),
even subjects test (99). A small dataset: a smoke test of real motion, not a benchmark.

Corrupt input raises :class:`~mgclr.data.convert.common.ConversionError` naming the file and line: a
malformed or inconsistent label file always (it is not one source among many), a bad frame range (not
integers, negative, beyond any video, start after end, outside the video's frame ids), a bad skeleton file or
an empty segment unless ``skip_bad`` (then that segment, or every segment of that file, is skipped and
counted).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..axes import KINECT
from ..normalise import centre_on_joint, centre_on_joint_spec
from .common import (
    PLAUSIBLE,
    ConversionError,
    ConversionReport,
    Option,
    Sample,
    declare_options,
    iter_lines,
    parse_floats,
    run_conversion,
)

__all__ = ["ACTIONS", "LABEL_FILES", "NORMALISATION", "Segment", "convert_utkinect", "read_joints", "read_labels"]

NUM_JOINTS = 20
SPINE = 1  # kinect20 "spine"
ACTIONS = ("walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands")
LABEL_FILES = {"modified": "actionLabel_modified.txt", "original": "actionLabel.txt"}
NORMALISATION = ("coordinates in metres, Kinect v1 camera space; every present point minus the spine joint (1) "
                 "of the segment's first frame where it is present; missing points (exactly 0, 0, 0) "
                 "stay zero")
_UNANNOTATED = "no frame range in the label file"
BAD_RANGE = "bad frame range"
OUTSIDE = "frame range outside the video"
_VIDEO = re.compile(r"^s(\d{2})_e(\d{2})$")


@dataclass(frozen=True)
class Segment:
    """One labelled range of one video: ``video`` ``sXX_eYY``, ``action``, inclusive frame ids, and the label
    file line it came from."""

    video: str
    action: str
    start: int
    end: int
    line: int

    @property
    def subject(self) -> int:
        return int(self.video[1:3])

    @property
    def execution(self) -> int:
        return int(self.video[5:7])


def read_labels(path: Union[str, Path], skipped: Optional[List[Tuple[str, str]]] = None
                ) -> Tuple[List[Segment], List[Tuple[str, str]]]:
    """A UTKinect label file -> (annotated segments, ``(reason, message)`` of the unannotated ``NaN NaN`` ones).

    Raises :class:`ConversionError` naming the line for anything else that is not ``sXX_eYY`` or
    ``action: start end`` with integer ids (0 to 1e6), start <= end, an action of :data:`ACTIONS` given once
    per video. ``skipped`` (a list, for ``skip_bad``): a line whose frame range is bad is appended to it as
    ``(reason, message)`` and left out instead (reason :data:`BAD_RANGE`); the rest always raises.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels: {path} does not exist")
    segments: List[Segment] = []
    unannotated: List[Tuple[str, str]] = []
    video: Optional[str] = None
    actions_of: Dict[str, Dict[str, int]] = {}
    for number, text in iter_lines(path):
        where = f"line {number}"
        if _VIDEO.match(text):
            video = text
            if video in actions_of:
                raise ConversionError(path, where, f"video {video} is listed twice", "bad label file")
            actions_of[video] = {}
            continue
        if video is None:
            raise ConversionError(path, where, f"expected a video name sXX_eYY first, got {text!r}", "bad label file")
        action, colon, rest = text.partition(":")
        action = action.strip()
        tokens = rest.split()
        if not colon or len(tokens) != 2:
            raise ConversionError(path, where, f"expected 'action: start end' or 'sXX_eYY', got {text!r}",
                                  "bad label file")
        if action not in ACTIONS:
            raise ConversionError(path, where, f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}",
                                  "bad label file")
        if action in actions_of[video]:
            raise ConversionError(path, where, f"{video} {action} already given on line {actions_of[video][action]}",
                                  "bad label file")
        actions_of[video][action] = number
        if all(t.lower() == "nan" for t in tokens):
            unannotated.append((_UNANNOTATED, f"{path}: {where}: {video} {action}: NaN NaN"))
            continue
        try:
            start, end = _frame_range(tokens, path, where)
        except ConversionError as exc:
            if skipped is None:
                raise
            skipped.append((exc.reason, str(exc)))
            continue
        segments.append(Segment(video, action, start, end, number))
    if not actions_of:
        raise ConversionError(path, "", "no video in it", "bad label file")
    return segments, unannotated


def _frame_range(tokens: Sequence[str], path: Path, where: str) -> Tuple[int, int]:
    values = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value != int(value) or value < 0:
            raise ConversionError(path, where, f"frame id {token!r} is not a non-negative integer (or both NaN)",
                                  BAD_RANGE)
        if value > PLAUSIBLE:
            raise ConversionError(path, where, f"frame id {token!r} is beyond {PLAUSIBLE:g}, implausible for a video "
                                               f"frame", BAD_RANGE)
        values.append(int(value))
    start, end = values
    if start > end:
        raise ConversionError(path, where, f"start {start} is after end {end}", BAD_RANGE)
    return start, end


def read_joints(path: Union[str, Path]) -> Tuple[np.ndarray, np.ndarray, int]:
    """A ``joints_sXX_eYY.txt`` file -> (frame ids (F,) int64, joints (F, 20, 3) float32, repeated ids dropped).

    The first line of a repeated frame id is kept; every value is checked (61 per line, finite, integer
    non-decreasing frame ids)."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(path, "", "missing (named by the label file)", "missing skeleton file")
    ids: List[int] = []
    rows: List[List[float]] = []
    repeated = 0
    for number, text in iter_lines(path):
        where = f"line {number}"
        values = parse_floats(text.split(), path, where, expected=1 + 3 * NUM_JOINTS, limit=PLAUSIBLE)
        frame = values[0]
        if frame != int(frame) or frame < 0:
            raise ConversionError(path, where, f"frame id {frame} is not a non-negative integer", "bad frame id")
        frame = int(frame)
        if ids and frame < ids[-1]:
            raise ConversionError(path, where, f"frame id {frame} goes back (previous {ids[-1]})", "bad frame id")
        if ids and frame == ids[-1]:
            repeated += 1
            continue
        ids.append(frame)
        rows.append(values[1:])
    if not rows:
        raise ConversionError(path, "", "no skeleton frame in it", "empty")
    return np.asarray(ids, dtype=np.int64), np.asarray(rows, dtype=np.float32).reshape(-1, NUM_JOINTS, 3), repeated


@declare_options(
    Option("labels", "modified (default), original or a label file"),
    Option("frames", "T of data.npy", type=int, default_text="the longest sequence"),
)
def convert_utkinect(src: Union[str, Path], dst: Union[str, Path], *, skip_bad: bool = False,
                     overwrite: bool = False, progress: bool = True, splits: Optional[Sequence[str]] = None,
                     labels: Union[str, Path] = "modified", frames: Optional[int] = None) -> ConversionReport:
    """Convert UTKinect-Action3D's ``joints_sXX_eYY.txt`` files into an mgclr dataset of action segments.

    Args:
        src: the folder with the joint files and the label files.
        dst: the dataset folder to write.
        skip_bad: skip (and count) the segments of corrupt joint files and empty segments instead of stopping.
        overwrite: replace a dataset already at ``dst``.
        progress: show a progress bar.
        splits: the benchmarks to record in meta.json (default: all).
        labels: ``"modified"`` (``actionLabel_modified.txt``, 7 ranges corrected), ``"original"``
            (``actionLabel.txt``) or the path of a label file.
        frames: T of ``data.npy``; None: the longest segment. Longer segments are cut (counted in provenance).

    Returns the :class:`ConversionReport`; ``data.npy`` is (N, 3, frames, 20, 1).
    """
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"src: {src} is not a folder (expected joints_sXX_eYY.txt and actionLabel*.txt)")
    label_file = src / LABEL_FILES[labels] if isinstance(labels, str) and labels in LABEL_FILES else Path(labels)
    if isinstance(labels, str) and labels not in LABEL_FILES and not label_file.is_file():
        raise ValueError(f"labels: expected 'modified', 'original' or a label file, got {labels!r}")
    bad_ranges: List[Tuple[str, str]] = []
    segments, unannotated = read_labels(label_file, bad_ranges if skip_bad else None)
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1):
        raise ValueError(f"frames: expected a positive int or None, got {frames!r}")

    joints: Dict[str, Any] = {}  # video -> (ids, xyz) or the ConversionError its file raised
    provenance: Dict[str, Any] = {"source": str(src), "labels": str(label_file.resolve()), "repeated_frame_ids": 0,
                                  "frames": "video frame ids, start and end inclusive",
                                  "benchmarks": "xsub: odd subjects train, even subjects test"}
    for video in sorted({s.video for s in segments}):
        try:
            ids, xyz, repeated = read_joints(src / f"joints_{video}.txt")
            joints[video] = (ids, xyz)
            provenance["repeated_frame_ids"] += repeated
        except ConversionError as exc:
            if not skip_bad:
                raise
            joints[video] = exc
    provenance["files"] = len(joints)

    def outside(segment: Segment) -> Optional[ConversionError]:
        """The error of a range that does not lie within the video's frame ids (it would take frames of the
        segments after it, or none), else None."""
        ids = joints[segment.video][0]
        if ids[0] <= segment.start and segment.end <= ids[-1]:
            return None
        return ConversionError(label_file, f"line {segment.line}", f"{segment.video} {segment.action}: frames "
                               f"{segment.start}..{segment.end} are not within the frame ids of joints_"
                               f"{segment.video}.txt ({ids[0]}..{ids[-1]})", OUTSIDE)

    def frames_of(segment: Segment) -> Tuple[np.ndarray, np.ndarray]:
        ids, xyz = joints[segment.video]
        keep = (ids >= segment.start) & (ids <= segment.end)
        return ids[keep], xyz[keep]

    longest = max((len(frames_of(s)[0]) for s in segments
                   if not isinstance(joints[s.video], ConversionError) and outside(s) is None), default=1)
    frames = int(frames) if frames is not None else max(1, longest)
    cut_key = f"cut_to_{frames}_frames"
    provenance[cut_key] = 0
    provenance["frames_cut"] = 0

    def parse(segment: Segment) -> List[Sample]:
        if isinstance(joints[segment.video], ConversionError):
            raise joints[segment.video]
        error = outside(segment)
        if error is not None:
            raise error
        ids, xyz = frames_of(segment)
        if len(ids) == 0:
            raise ConversionError(label_file, f"line {segment.line}", f"{segment.video} {segment.action}: no "
                                  f"skeleton frame has an id in {segment.start}..{segment.end}", "empty segment")
        if len(ids) > frames:
            provenance[cut_key] += 1
            provenance["frames_cut"] += len(ids) - frames
            ids, xyz = ids[:frames], xyz[:frames]
        x = xyz.transpose(2, 0, 1)[..., None]  # (T, V, C) -> (C, T, V, 1)
        fields = {"id": f"{segment.video}_{segment.action}", "subject": segment.subject,
                  "execution": segment.execution, "action": segment.action, "start_frame": segment.start,
                  "end_frame": segment.end, "frame_ids": [int(i) for i in ids]}
        return [Sample(centre_on_joint(x, SPINE), ACTIONS.index(segment.action), fields)]

    return run_conversion(
        "utkinect", dst, segments, parse,
        writer_args=dict(channels=3, frames=frames, joints=NUM_JOINTS, persons=1, layout="kinect20",
                         class_names=ACTIONS, coord_channels=3, fps=None,
                         normalise=centre_on_joint_spec(SPINE, "spine"), axes=KINECT),
        split_of=lambda s: {"xsub": "train" if s.fields["subject"] % 2 == 1 else "test"},
        provenance=provenance, normalisation=NORMALISATION, skip_bad=skip_bad, overwrite=overwrite,
        progress=progress, splits=splits, describe=lambda s: f"{s.video} {s.action}",
        skipped_before=unannotated + bad_ranges)
