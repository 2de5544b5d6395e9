"""iMiGUE (Liu et al., CVPR 2021) -> mgclr dataset: one sample per annotated clip, on the ``imigue22`` OpenPose
upper body, 3 channels (x, y, confidence; 2 coordinate channels), one person, 25 fps.

Two input forms (``form="auto"`` picks "light_hand" when ``*_light_hand.csv`` files are under ``src``, else
"openpose"):

* ``"openpose"``: per-frame OpenPose JSON, one folder per video (``frames_dir``, default ``src``:
  ``<frames_dir>/<video>/<video>_<frame:012d>_keypoints.json``), and the official label CSV of all videos
  (``labels``, default the only ``*.csv`` directly in ``src``).
* ``"light_hand"``: the MiGA challenge files, per video ``<video>_light_hand.csv`` (a frame column, then 35
  points x (x, y, confidence)) and ``<video>_label.csv`` (rows ``class,start,end``). The subject (for the
  ``xsub`` split), win/lose and the frame rate are not in these files: pass the label CSV of the first form
  as ``labels`` to get them (only ``video_id`` and ``subject_id`` are then required); without it no sample
  has a subject and no split is written.

The official label CSV (facts observed on the published file of all 359 videos)
--------------------------------------------------------------------------------
* Header ``video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,subject_gender,
  subject_nationality,win_or_lose`` (18,498 rows, 359 videos, 72 subjects). Header names are matched
  case-insensitively, spaces and hyphens read as ``_``; the columns may come in any order; columns not named
  here are ignored.
* ``label_id`` is the running number of the clip within its video (1, 2, ... up to 282), **not** its class:
  it becomes the per-sample field ``clip`` and the sample id ``<video>_<label_id>``; two rows of a video with
  the same ``label_id`` are an error. Without the column, a clip's number is its row's order in its video
  (0-based, the official MiGA reader's sample names).
* The class is the column ``class``: MG ids 1-31 and 99, the non-MG class (5,715 rows). The official reader
  folds 99 into class 32 (``if int(gestureID) == 99: gestureID = 32``), so the benchmark is 32-way with the
  non-MG clips as its 32nd class: by default (``non_mg="class"``) ids 1-31 become classes 0-30 (``MG1`` ...
  ``MG31``) and 99 (or an already folded 32) becomes class 31, ``non_mg``. ``non_mg="drop"`` leaves the non-MG
  clips out (31 classes; every dropped clip counted in the report). A file holding both 32 and 99 is an
  error: there is no telling whether 32 is a 32nd MG or the folded 99. In the ``_label.csv`` form the class
  is the first value of each row.
* ``start_frame`` / ``end_frame`` are the numbers in the JSON file names (numbered from 0), both inclusive
  (``end_frame >= start_frame`` on every row; in video 298 the last clip ends at frame 20,195 of 21,068
  files). The official converter reads ``range(startFrame, endFrame + 1)``.
* ``start_frame / start_time`` is 25.0 (median over all rows, range 24.35-25.0): **the videos are 25 fps**.
  The frame rate of each video is measured from its rows: the least-squares slope of frames over seconds
  (``start_frame`` against ``start_time`` and ``end_frame`` against ``end_time``; times in seconds or
  ``[hh:]mm:ss[.f]``), snapped to the nearest standard rate (23.976, 24, 25, 29.97, 30, 50, 59.94, 60) within
  1 %. Every row must agree with it (``|frame - fps * time| <= 2 + 1 %`` of the frame), else the video is a
  named error. An ``fps`` column, when present, gives the rate instead (and the times are checked against
  it). Without times or ``fps`` (the ``_label.csv`` form alone), 25 is assumed; ``meta.json``'s provenance
  says which (``fps_source``). Seconds in the timelines are ``frame / fps``.
* ``win_or_lose`` is ``Win`` or ``Lose`` (13,751 / 4,747 rows), written ``win`` / ``lose``.

Output
------
Layout ``imigue22`` (BODY_25 0-7, 15-18, then the person's right hand's five fingertips, then the left
hand's, thumb to little finger), ``C = 3`` (``channel_names`` x, y, confidence; ``coord_channels = 2``),
``M = 1``, ``fps`` as measured (a per-sample ``fps`` column as well when videos differ).

Per-sample fields: ``id`` (``<video>_<clip>``), ``video``, ``clip``, ``subject``, ``start_frame``,
``end_frame`` (0-based, both inclusive), ``win_or_lose`` when known, ``norm_origin`` and ``norm_scale``
(below). Split ``xsub``: subjects in :data:`XSUB_TRAIN_SUBJECTS` train, the other 35 of subjects 1-72 test,
anything else in neither part.

``timelines.json`` in ``dst`` (written after the dataset, through :func:`mgclr.data.timeline.write_timelines`,
the one timeline schema) holds every converted video's annotated MG timeline for the emotion work: the MG
clips (classes ``MG1`` ... ``MG31``; the non-MG clips are background, not MGs) with their frames, the video's
fps, length, subject and outcome.

Normalisation (per video, so all clips of a video share one frame of reference)
-------------------------------------------------------------------------------
:func:`mgclr.data.normalise.normalise_openpose_video` (recorded in ``meta["normalise"]`` so that ``mgclr
recognize`` can apply it to a new video): a point is *detected* when its confidence is > 0 and it is not at
x = y = 0 (OpenPose writes (0, 0, 0) for a missed point). Over the video's frames, ``origin`` is the median
neck (imigue22 joint 1) position of the frames where the neck is detected, and ``scale`` the median shoulder
width (joints 2 and 5) of the frames where both are detected. Then ``x' = (x - origin_x) / scale`` and ``y' =
(origin_y - y) / scale`` (y up; x grows to the person's left for a person facing the camera), the confidence
is kept, and every undetected point is exactly 0 in all three channels. A video without a detected neck or
without a frame with both shoulders is skipped (reason ``"no person detected"``). ``norm_origin`` ([x, y] in
pixels) and ``norm_scale`` (pixels) are stored per sample, so the pixel coordinates can be recovered. Frames
missing from a folder of JSON files count as frames with nobody detected.

What was verified, and where
----------------------------
* Form "light_hand", ``<video>_light_hand.csv``: column 0 is not a coordinate; then BODY_25 in its order
  (25 x (x, y, confidence)), then five ``RightFinger1-5``, then five ``LeftFinger1-5`` (106 columns) --
  mikecheninoulu/SMG, classification/iMiGUE/stgcn_imigue/tools/iMiGUEaccessSample.py (``Skeleton``, ``pos =
  1``), and the same list in imigue_gendata.py (``used_joints``). The same file names BODY_25's RShoulder
  (point 2) ``ShoulderLeft``, REye ``EyeLeft``, ... : its names are from the image's side.
* Which hand the first five finger points belong to is not stated anywhere authoritative. Evidence that the
  first five (``RightFinger``, image right) are the person's *left* hand: the same file's ``toImage`` draws
  ``HandLeft`` (BODY_25 RWrist) to ``LeftFinger1-5``; a third-party MiGA loader in the code corpus
  (``sk_maga_schema.py``, ``CANONICAL_22_FROM_LIGHT_HAND``) reads points 25-29 as the left hand's
  thumb..pinky tips and pairs them with BODY_25 LWrist. Against it: the official ST-GCN graph
  (stgcn_imigue/net/utils/graph.py, ``openpose22``) joins the wrist it lists first to the first finger
  group, but that edge list is off by one elsewhere. We therefore read the first five as the person's left
  fingertips (``csv_first_hand="left"``, the default) and the next five as the right; pass
  ``csv_first_hand="right"`` if your files say otherwise. The five points are read as thumb, index, middle,
  ring, little fingertips (OpenPose hand points 4, 8, 12, 16, 20): assumed, not verified.
* ``<video>_label.csv``: rows ``gestureID,start,end`` without header, frames 0-based and inclusive
  (iMiGUEaccessSample.py, imigue_gendata.py). The official reader parses the skeleton CSV with
  ``header=None``, while third-party MiGA loaders skip a first (header) row: we skip a first row that is not
  all numbers or is the pandas column numbering (0, 1, 2, ... or an empty first cell), and frame k is the
  k-th data row.
* Form "openpose": real iMiGUE OpenPose output (linuxsino/iMiGUE, Data/skeleton/raw/298/
  298_000000000000_keypoints.json): version 1.3, ``people`` with ``pose_keypoints_2d`` (75),
  ``face_keypoints_2d``, ``hand_left_keypoints_2d`` and ``hand_right_keypoints_2d`` (63 each), files
  numbered from 0; 21,068 files for video 298. In that frame the ``hand_right`` wrist (213, 628) lies at
  BODY_25 RWrist (173, 631): in the JSON, left and right are the person's sides, as in OpenPose.
* The official converter keeps at most the last 90 frames of a clip (``max_frame = 90``); we keep every
  frame (T is the longest clip). The xsub subjects (37 train, 35 test) and the emotion split's videos are the
  protocol PDF's (:data:`PROTOCOL`, ``imigue_protocol.json`` in the package); the MG class names are not in
  the official tools, hence ``MG1`` ... ``MG31``.

The protocol's names (class ids, :data:`PROTOCOL`, :func:`xsub_part`, :func:`class_names`) and the reading of the
label CSV live in :mod:`mgclr.data.convert.imigue_labels`; this module re-exports the public ones.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..axes import CANONICAL_2D
from ..normalise import NormalisationError, normalise_openpose_video, openpose_video_spec
from ..timeline import MGEvent, Timeline, write_timelines
from .common import (
    IMPLAUSIBLE,
    PLAUSIBLE,
    TIMELINES,
    ConversionError,
    ConversionReport,
    Option,
    Sample,
    declare_options,
    iter_label_rows,
    iter_lines,
    parse_float_row,
    read_text,
    run_conversion,
    sorted_files,
)
from .imigue_labels import (
    FOLDED_NON_MG_LABEL,
    IMIGUE_FPS,
    NON_MG_LABEL,
    NON_MG_NAME,
    NUM_CLASSES,
    NUM_MG_CLASSES,
    PROTOCOL,
    XSUB_TRAIN_SUBJECTS,
    Skips,
    _add_clip,
    _check_clip,
    _check_label,
    _class_of,
    _Clip,
    _find_table,
    _is_header,
    _is_non_mg,
    _read_table,
    _resolve_fps,
    _Video,
    _video_key,
    class_names,
    xsub_part,
)
from .imigue_labels import NUM_SUBJECTS as NUM_SUBJECTS  # public, outside __all__ as before
from .imigue_labels import STANDARD_FPS as STANDARD_FPS

__all__ = ["IMIGUE_FPS", "NON_MG_LABEL", "NON_MG_NAME", "NUM_CLASSES", "NUM_MG_CLASSES", "PROTOCOL",
           "XSUB_TRAIN_SUBJECTS", "class_names", "convert_imigue", "xsub_part"]

MAX_FRAMES = 10**6  # frames per video (11 hours at 25 fps; iMiGUE's longest has 21,068): a bound on allocation
_NON_MG_POLICIES = ("class", "drop")

# Internal 35-point order shared by both forms: BODY_25 0-24, the person's right fingertips 25-29, the
# person's left fingertips 30-34 (each thumb, index, middle, ring, little).
_POINTS = 35
_RIGHT_TIPS = slice(25, 30)
_LEFT_TIPS = slice(30, 35)
_HAND_TIPS = (4, 8, 12, 16, 20)  # OpenPose hand model
_TO_IMIGUE22 = (0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 18, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34)

_FORMS = ("auto", "openpose", "light_hand")
_DROPPED_REASON = "non-MG clip (class 99), dropped (non_mg='drop')"
_LIGHT_HAND_SUFFIX = "_light_hand.csv"
_FRAME_NAME = re.compile(r"_(\d+)_keypoints\.json$")


# ------------------------------------------------------------------------------------------ form openpose


def _keypoints(person: Any, key: str, count: int, file: Path, index: int, allow_empty: bool) -> np.ndarray:
    where = f"field 'people[{index}].{key}'"
    if key not in person:
        raise ConversionError(file, where, "missing", "missing key")
    values = person[key]
    if not isinstance(values, list):
        raise ConversionError(file, where, f"expected a list, got {type(values).__name__}", "wrong type")
    if allow_empty and not values:
        return np.zeros((count // 3, 3))
    if len(values) != count:
        raise ConversionError(file, where, f"expected {count} values, got {len(values)}", "wrong number of values")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConversionError(file, where, f"value {i + 1} is not a number: {v!r}", "non-numeric")
        if not math.isfinite(v):
            raise ConversionError(file, where, f"value {i + 1} is {v!r}", "NaN or infinite value")
        if abs(v) > PLAUSIBLE:
            raise ConversionError(file, where, f"value {i + 1} is {v!r}: beyond {PLAUSIBLE:g} px, implausible for "
                                               f"OpenPose", IMPLAUSIBLE)
    return np.asarray(values, dtype=np.float64).reshape(-1, 3)


def _read_openpose_frame(file: Path) -> np.ndarray:
    """The 35 points of the most confident person (highest mean BODY_25 confidence); zeros when nobody."""
    try:
        doc = json.loads(read_text(file))
    except UnicodeDecodeError:
        raise ConversionError(file, "", "not UTF-8 text", "malformed JSON") from None
    except json.JSONDecodeError as exc:
        raise ConversionError(file, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}",
                              "malformed JSON") from None
    except RecursionError:
        raise ConversionError(file, "", "not valid JSON: nested too deeply", "malformed JSON") from None
    if not isinstance(doc, dict) or "people" not in doc:
        raise ConversionError(file, "field 'people'", "missing", "missing key")
    people = doc["people"]
    if not isinstance(people, list):
        raise ConversionError(file, "field 'people'", f"expected a list, got {type(people).__name__}", "wrong type")
    best, best_score = np.zeros((_POINTS, 3)), -math.inf
    for i, person in enumerate(people):
        if not isinstance(person, dict):
            raise ConversionError(file, f"field 'people[{i}]'", "expected an object", "wrong type")
        pose = _keypoints(person, "pose_keypoints_2d", 75, file, i, allow_empty=False)
        right = _keypoints(person, "hand_right_keypoints_2d", 63, file, i, allow_empty=True)
        left = _keypoints(person, "hand_left_keypoints_2d", 63, file, i, allow_empty=True)
        score = float(pose[:, 2].mean())
        if score > best_score:  # ties keep the first listed
            best_score = score
            best = np.concatenate([pose, right[list(_HAND_TIPS)], left[list(_HAND_TIPS)]])
    return best


def _scan_openpose(frames_dir: Path, videos: Dict[str, _Video], skips: Skips, skip_bad: bool) -> None:
    by_folder: Dict[Path, List[Path]] = {}
    for file in sorted_files(frames_dir, "*_keypoints.json", skips if skip_bad else None):
        by_folder.setdefault(file.parent, []).append(file)
    for folder, files in by_folder.items():
        video = videos.get(_video_key(folder.name))
        if video is None:
            skips.append(("no clips in the label file", f"{folder}: {len(files)} frames, no row in the label CSV"))
            continue
        video.name, video.source = folder.name, folder
        for file in files:
            match = _FRAME_NAME.search(file.name)
            if match is None:
                video.error = video.error or ConversionError(file, "", "no frame number in the file name",
                                                             "bad file name")
                continue
            number = int(match.group(1))
            if number >= MAX_FRAMES:
                video.error = video.error or ConversionError(file, "", f"frame number {number} in the file name is "
                                                                       f"beyond {MAX_FRAMES:,} frames per video (a "
                                                                       f"renamed file?)", "bad file name")
                continue
            if number in video.frames:
                video.error = video.error or ConversionError(file, "", f"frame {number} also in "
                                                                       f"{video.frames[number].name}",
                                                             "duplicate frame")
            video.frames[number] = file
        video.num_frames = max(video.frames, default=-1) + 1


def _read_openpose_video(video: _Video) -> np.ndarray:
    points = np.zeros((video.num_frames, _POINTS, 3))
    for number, file in video.frames.items():
        points[number] = _read_openpose_frame(file)
    return points


# ---------------------------------------------------------------------------------------- form light_hand


def _light_hand_rows(file: Path) -> Iterator[Tuple[int, List[str]]]:
    first = True
    for number, text in iter_lines(file):
        tokens = text.split(",")
        if first:
            first = False
            if _is_header(tokens):
                continue
        yield number, tokens


def _read_light_hand(file: Path, first_hand: str) -> np.ndarray:
    rows = [parse_float_row(tokens, file, f"line {number}", 1 + 3 * _POINTS)
            for number, tokens in _light_hand_rows(file)]
    if not rows:
        raise ConversionError(file, "", "no frame in it", "empty")
    points = np.stack(rows)[:, 1:].reshape(len(rows), _POINTS, 3)
    first, second = points[:, 25:30].copy(), points[:, 30:35].copy()
    right, left = (second, first) if first_hand == "left" else (first, second)
    points[:, _RIGHT_TIPS], points[:, _LEFT_TIPS] = right, left
    return points


def _read_light_hand_labels(file: Path, video: _Video) -> None:
    for where, label, start, end in iter_label_rows(file):
        _check_label(label, file, where)
        _add_clip(video, _Clip(len(video.clips), label, start, end, file, where))
    if not video.clips:
        raise ConversionError(file, "", "no clip in it", "empty")


def _scan_light_hand(src: Path, videos: Dict[str, _Video], table: Dict[str, _Video], skips: Optional[Skips]
                     ) -> None:
    for file in sorted_files(src, "*" + _LIGHT_HAND_SUFFIX, skips):
        name = file.name[:-len(_LIGHT_HAND_SUFFIX)]
        meta = table.get(_video_key(name))
        video = _Video(_video_key(name), name, source=file, label_file=file.parent / f"{name}_label.csv")
        if meta is not None:
            video.subject, video.win_or_lose, video.error = meta.subject, meta.win_or_lose, meta.error
            video.fps, video.fps_source, video.times = meta.fps, meta.fps_source, meta.times
        if video.key in videos:  # both stay: the first is converted, this one is counted as skipped
            video.error = ConversionError(file, "", f"video {name} also at {videos[video.key].source}",
                                          "duplicate video")
            videos[f"{video.key}@{file}"] = video
            continue
        videos[video.key] = video
        if video.error is not None:
            continue
        try:
            if not video.label_file.is_file():
                raise ConversionError(video.label_file, "", "missing (every _light_hand.csv needs its _label.csv)",
                                      "missing label file")
            _read_light_hand_labels(video.label_file, video)
            video.num_frames = sum(1 for _ in _light_hand_rows(file))
        except ConversionError as exc:
            video.error = exc


# ------------------------------------------------------------------------------------------------ convert


def _check_non_mg_ids(videos: Sequence[_Video]) -> None:
    """A dataset holding both 32 and 99 is ambiguous (32 may be a 32nd MG or the folded 99): an error."""
    first: Dict[int, _Clip] = {}
    for video in videos:
        for clip in video.clips:
            first.setdefault(clip.source_label, clip)
    if FOLDED_NON_MG_LABEL in first and NON_MG_LABEL in first:
        a, b = first[FOLDED_NON_MG_LABEL], first[NON_MG_LABEL]
        raise ConversionError(b.file, b.line, f"class {NON_MG_LABEL} (non-MG) here and class {FOLDED_NON_MG_LABEL} at "
                                              f"{a.file}: {a.line}: the official reader folds 99 into 32, so a file "
                                              f"holding both cannot say whether 32 is a 32nd MG or a non-MG clip",
                              "ambiguous non-MG class")


@declare_options(
    Option("form", "source form", choices=_FORMS),
    Option("frames_dir", "folder of per-video JSON folders", when="openpose"),
    Option("labels", "the label/annotation CSV"),
    Option("non_mg", "the non-MG clips (class 99): the 32nd class non_mg, as the official protocol (class, the "
                     "default), or left out and counted (drop)", choices=_NON_MG_POLICIES),
    Option("csv_first_hand", "the person's side of the first five fingertips", choices=("left", "right"),
           when="light_hand"),
)
def convert_imigue(src: Union[str, Path], dst: Union[str, Path], *, skip_bad: bool = False, overwrite: bool = False,
                   progress: bool = True, splits: Optional[Sequence[str]] = None, form: str = "auto",
                   frames_dir: Union[str, Path, None] = None, labels: Union[str, Path, None] = None,
                   non_mg: str = "class", csv_first_hand: str = "left") -> ConversionReport:
    """Convert iMiGUE skeletons under ``src`` into an mgclr dataset at ``dst`` (see the module docstring).

    Args:
        src, dst, skip_bad, overwrite, progress: as every converter (:mod:`mgclr.data.convert.common`).
        splits: the benchmarks to record in meta.json (default: all; iMiGUE has ``xsub``).
        form: ``"auto"``, ``"openpose"`` (per-frame JSON + one label CSV) or ``"light_hand"`` (MiGA CSVs).
        frames_dir: form "openpose": the folder of per-video JSON folders (default ``src``).
        labels: form "openpose": the label CSV (default: the only ``*.csv`` directly in ``src``); form
            "light_hand": optional label CSV giving each video's subject (and win/lose, frame rate).
        non_mg: ``"class"`` (default, the official protocol: the non-MG clips, id 99, are the 32nd class
            ``non_mg``) or ``"drop"`` (left out and counted; 31 classes).
        csv_first_hand: ``"left"`` or ``"right"``, the person's side of the first five fingertip points of a
            ``_light_hand.csv``.

    Returns the report; written to ``dst`` besides the dataset: ``timelines.json``.
    """
    src = Path(src)
    if form not in _FORMS:
        raise ValueError(f"form: expected one of {', '.join(_FORMS)}, got {form!r}")
    if non_mg not in _NON_MG_POLICIES:
        raise ValueError(f"non_mg: expected one of {', '.join(_NON_MG_POLICIES)}, got {non_mg!r}")
    if csv_first_hand not in ("left", "right"):
        raise ValueError(f"csv_first_hand: expected 'left' or 'right', got {csv_first_hand!r}")
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not a folder")
    if form == "auto":
        form = "light_hand" if sorted_files(src, "*" + _LIGHT_HAND_SUFFIX, []) else "openpose"  # the scan reports
    if form == "light_hand" and frames_dir is not None:
        raise ValueError("frames_dir: only form 'openpose' reads a folder of JSON frames")

    skips: Skips = []
    videos: Dict[str, _Video] = {}
    if form == "openpose":
        table_file = Path(labels) if labels is not None else _find_table(src)
        _read_table(table_file, videos, need_clips=True, skip_bad=skip_bad, skips=skips)
        frames_dir = Path(frames_dir) if frames_dir is not None else src
        _scan_openpose(frames_dir, videos, skips, skip_bad)
        for video in videos.values():
            video.label_file = table_file
            if video.source is None and video.error is None:
                video.error = ConversionError(frames_dir, "", f"no folder of *_keypoints.json for video "
                                                              f"{video.name} (listed in {table_file.name})",
                                              "missing skeleton files")
    else:
        table: Dict[str, _Video] = {}
        if labels is not None:
            _read_table(Path(labels), table, need_clips=False, skip_bad=skip_bad, skips=skips)
        _scan_light_hand(src, videos, table, skips if skip_bad else None)
        if not videos:
            raise FileNotFoundError(f"{src}: no *{_LIGHT_HAND_SUFFIX}")
    if not videos:
        raise FileNotFoundError(f"{src}: no iMiGUE video found")
    _check_non_mg_ids(list(videos.values()))

    names = class_names(non_mg)
    sources: List[_Video] = []
    longest = 1
    for video in sorted(videos.values(), key=lambda v: v.name):
        if video.error is None:
            try:
                _resolve_fps(video)
                for clip in video.clips:
                    _check_clip(clip, video.num_frames)
            except ConversionError as exc:
                video.error = exc
        if video.error is not None:
            if not skip_bad:
                raise video.error
            sources.append(video)  # run_conversion counts it
            continue
        written = []
        for clip in video.clips:
            if _class_of(clip.source_label, non_mg) is None:
                skips.append((_DROPPED_REASON, f"{clip.file}: {clip.line}: clip {video.name}_{clip.number}"))
            else:
                written.append(clip)
        if written:
            sources.append(video)
            longest = max([longest] + [c.end - c.start + 1 for c in written])
        else:
            video.converted = True  # nothing to read; its timeline is still valid
    fps_values = sorted({v.fps for v in videos.values() if v.error is None})
    fps = fps_values[0] if len(fps_values) == 1 else None

    def parse(video: _Video) -> Iterator[Sample]:
        if video.error is not None:
            raise video.error
        if form == "openpose":
            points = _read_openpose_video(video)
        else:
            points = _read_light_hand(video.source, csv_first_hand)
            if len(points) != video.num_frames:  # the file changed since it was counted
                raise ConversionError(video.source, "", f"{len(points)} frames, counted {video.num_frames} "
                                                        f"before", "changed while reading")
        body = points[:, list(_TO_IMIGUE22)].transpose(2, 0, 1)[..., None]  # (3, T, 22, 1)
        try:
            norm, origin, scale = normalise_openpose_video(body)
        except NormalisationError as exc:
            raise ConversionError(video.source, "", str(exc), "no person detected") from None
        norm = norm.astype(np.float32)
        samples = []
        for clip in video.clips:
            label = _class_of(clip.source_label, non_mg)
            if label is None:
                continue
            x = norm[:, clip.start:clip.end + 1]
            fields = {"id": f"{video.name}_{clip.number}", "video": video.name, "clip": clip.number,
                      "subject": video.subject, "start_frame": clip.start, "end_frame": clip.end,
                      "norm_origin": [origin[0], origin[1]], "norm_scale": scale}
            if video.win_or_lose is not None:
                fields["win_or_lose"] = video.win_or_lose
            if fps is None:
                fields["fps"] = video.fps
            samples.append(Sample(np.ascontiguousarray(x), label, fields))
        video.converted = True
        return iter(samples)

    no_subject = sum(1 for v in sources if v.error is None and v.subject is None)
    fps_sources = sorted({v.fps_source for v in videos.values() if v.error is None})
    provenance = {"source": str(src), "form": form, "files": len(sources), "non_mg": non_mg,
                  "class_ids": f"MG ids 1-{NUM_MG_CLASSES} -> classes 0-{NUM_MG_CLASSES - 1}; non-MG ({NON_MG_LABEL}, "
                               f"or {FOLDED_NON_MG_LABEL} folded) -> " +
                               (f"class {NUM_MG_CLASSES} '{NON_MG_NAME}'" if non_mg == "class" else "dropped"),
                  "csv_first_hand": csv_first_hand if form == "light_hand" else None,
                  "frames": "0-based, start and end inclusive", "fps_source": fps_sources,
                  "fps_per_video": None if fps is not None else fps_values,
                  "videos_without_subject": no_subject}
    report = run_conversion(
        "imigue", dst, sources, parse,
        writer_args={"channels": 3, "frames": longest, "joints": len(_TO_IMIGUE22), "persons": 1,
                     "layout": "imigue22", "class_names": names, "coord_channels": 2,
                     "channel_names": ["x", "y", "confidence"], "fps": fps, "normalise": openpose_video_spec(),
                     "axes": CANONICAL_2D},
        split_of=lambda s: {"xsub": xsub_part(s.fields.get("subject"))}, provenance=provenance,
        normalisation=openpose_video_spec()["description"], skip_bad=skip_bad, overwrite=overwrite,
        progress=progress, splits=splits,
        describe=lambda v: str(v.source if v.source is not None else v.label_file), skipped_before=skips)
    _write_timelines(Path(dst), videos, names)
    return report


def _write_timelines(dst: Path, videos: Dict[str, _Video], names: Sequence[str]) -> None:
    """The annotated MG timeline of every converted video (the non-MG clips are background, not MGs)."""
    timelines = []
    for video in sorted(videos.values(), key=lambda v: v.name):
        if not video.converted:
            continue
        events = [MGEvent(clip.source_label - 1, names[clip.source_label - 1], clip.start, clip.end)
                  for clip in video.clips if not _is_non_mg(clip.source_label)]
        timelines.append(Timeline(video.name, video.fps, events, num_frames=video.num_frames,
                                  outcome=video.win_or_lose, subject=video.subject, source="annotation"))
    write_timelines(dst / TIMELINES, timelines)
