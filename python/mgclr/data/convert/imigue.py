"""iMiGUE (Liu et al., CVPR 2021) -> mgclr dataset: one sample per annotated micro-gesture (MG) clip, on the
``imigue22`` OpenPose upper body, 3 channels (x, y, confidence), one person.

Two input forms (``form="auto"`` picks "light_hand" when ``*_light_hand.csv`` files are under ``src``, else
"openpose"):

* ``"openpose"``: per-frame OpenPose JSON, one folder per video (``frames_dir``, default ``src``:
  ``<frames_dir>/<video>/<video>_<frame:012d>_keypoints.json``), and one label CSV for all videos (``labels``,
  default the only ``*.csv`` directly in ``src``) with a header naming its columns: ``video_id``,
  ``label_id`` (or ``label``), ``start_frame``, ``end_frame``, ``subject_id`` (or ``subject``), optionally
  ``win_or_lose`` and ``fps``; other columns (``start_time``, ``end_time``, ``class``, ...) are ignored.
  Header names are matched case-insensitively, spaces and hyphens read as ``_``. A video's clip index is
  the order of its rows in the CSV.
* ``"light_hand"``: the MiGA challenge files, per video ``<video>_light_hand.csv`` (a frame column, then 35
  points x (x, y, confidence)) and ``<video>_label.csv`` (rows ``label,start,end``). The subject (for the
  ``xsub`` split) and win/lose are not in these files: pass the annotation CSV of the first form as
  ``labels`` to get them (only ``video_id`` and ``subject_id`` are then required); without it no sample has
  a subject and no split is written.

Output
------
Layout ``imigue22`` (BODY_25 0-7, 15-18, then the person's right hand's five fingertips, then the left
hand's, thumb to little finger), ``C = 3`` (``channel_names`` x, y, confidence; ``coord_channels = 2``),
``M = 1``, fps 30 unless the label CSV has an ``fps`` column. Labels: ``MG1`` ... ``MG32`` (label ids 1-32 ->
classes 0-31). Label 99 ("no MG", form "light_hand") is not written and is counted in the report as
``"label 99 (no MG)"``, unless ``keep_no_mg=True``, which adds a 33rd class ``"no_mg"``.

Per-sample fields: ``id`` (``<video>_<clip index>``, the official converter's sample names), ``video``,
``subject``, ``start_frame``, ``end_frame`` (0-based, both inclusive), ``win_or_lose`` when known,
``norm_origin`` and ``norm_scale`` (below). Split ``xsub``: subjects in :data:`XSUB_TRAIN_SUBJECTS` train,
the other 35 of subjects 1-72 test, anything else in neither part.

``timelines.json`` in ``dst`` (written after the dataset) gives every converted video's MG timeline for the
emotion work: ``{video: {"subject", "win_or_lose" (when known), "fps", "clips": [{"label" (class index in
the dataset, None when not written), "source_label" (the id in the file), "name", "start_frame",
"end_frame", "id" (sample id, None when not written)}]}}``.

Normalisation (per video, so all clips of a video share one frame of reference)
-------------------------------------------------------------------------------
A point is *detected* when its confidence is > 0 and it is not at x = y = 0 (OpenPose writes (0, 0, 0) for
a missed point). Over the video's frames, ``origin`` is the median neck (BODY_25 1) position of the frames
where the neck is detected, and ``scale`` the median shoulder width (distance RShoulder-LShoulder, BODY_25 2
and 5) of the frames where both are detected. Then ``x' = (x - origin_x) / scale`` and ``y' = (origin_y - y)
/ scale`` (y negated so that it points up, like mgclr's synthetic ``imigue22`` data and Kinect data; x grows
to the person's left for a person facing the camera), the confidence is kept, and every undetected point
is exactly 0 in all three channels. A video without a detected neck or without a frame with both shoulders
is skipped (reason ``"no person detected"``). ``norm_origin`` ([x, y] in pixels) and ``norm_scale`` (pixels)
are stored per sample, so the pixel coordinates can be recovered. Frames missing from a folder of JSON files
count as frames with nobody detected.

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
  ``csv_first_hand="right"`` if your files say otherwise. Note this puts the left fingertips at imigue22
  joints 17-21, where the official converter's array has ``RightFinger1-5`` at 12-16. The five points are
  read as thumb, index, middle, ring, little fingertips (OpenPose hand points 4, 8, 12, 16, 20): assumed,
  not verified.
* ``<video>_label.csv``: rows ``gestureID,start,end`` without header; ids 1-32, and 99 which the official
  reader folds into class 32 (``if int(gestureID) == 99: gestureID = 32``; we keep it apart); frames are
  0-based and inclusive: the reader adds 1 for its 1-based ``getSkeleton`` and imigue_gendata.py reads
  ``range(startFrame, endFrame + 1)`` -- iMiGUEaccessSample.py, imigue_gendata.py. The official reader
  parses the skeleton CSV with ``header=None``, while third-party MiGA loaders (``prebuild`` cache and
  ``IJCAI_MiGA_Track1`` dataset in the code corpus) skip a first (header) row: we skip a first row that is
  not all numbers or is the pandas column numbering (0, 1, 2, ... or an empty first cell), and frame k is
  the k-th data row.
* Form "openpose": real iMiGUE OpenPose output is in linuxsino/iMiGUE (Data/skeleton/raw/298/
  298_000000000000_keypoints.json): version 1.3, ``people`` with ``pose_keypoints_2d`` (75),
  ``face_keypoints_2d``, ``hand_left_keypoints_2d`` and ``hand_right_keypoints_2d`` (63 each), files
  numbered from 0. In that frame the ``hand_right`` wrist (213, 628) lies at BODY_25 RWrist (173, 631) and
  ``hand_left``'s (441, 630) at LWrist (426, 633): in the JSON, left and right are the person's sides, as in
  OpenPose, and map directly.
* The official converter keeps at most the last 90 frames of a clip (``max_frame = 90``,
  imigue_gendata.py); we keep every frame (T is the longest clip).
* The xsub subject list is the one given in the project brief; the class names are not in the official
  tools (a third-party list exists but is unverified), hence ``MG1`` ... ``MG32``.

Not verified (no copy in the corpus): the label CSV of form "openpose" (its header, whether its frame numbers
are 0-based like the JSON file numbers -- we assume so -- and what ``win_or_lose`` holds; kept as the text
given), the frame column of ``_light_hand.csv`` (read, not used), and the fps (30 assumed).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..._files import write_text_atomic
from .common import (
    ConversionError,
    ConversionReport,
    Sample,
    is_number,
    iter_label_rows,
    iter_lines,
    parse_float_row,
    parse_floats,
    parse_integer,
    run_conversion,
    sorted_files,
)

__all__ = ["IMIGUE_FPS", "NO_MG_LABEL", "NUM_CLASSES", "XSUB_TRAIN_SUBJECTS", "convert_imigue", "xsub_part"]

IMIGUE_FPS = 30.0
NUM_CLASSES = 32
NO_MG_LABEL = 99
NUM_SUBJECTS = 72
XSUB_TRAIN_SUBJECTS = frozenset((2, 4, 5, 6, 9, 10, 12, 13, 14, 15, 17, 18, 20, 21, 22, 23, 25, 28, 29, 30, 31, 35,
                                 36, 38, 39, 41, 42, 43, 44, 46, 47, 48, 52, 53, 59, 61, 62))

# Internal 35-point order shared by both forms: BODY_25 0-24, the person's right fingertips 25-29, the
# person's left fingertips 30-34 (each thumb, index, middle, ring, little).
_POINTS = 35
_RIGHT_TIPS = slice(25, 30)
_LEFT_TIPS = slice(30, 35)
_HAND_TIPS = (4, 8, 12, 16, 20)  # OpenPose hand model
_TO_IMIGUE22 = (0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 18, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34)
_NECK, _RSHOULDER, _LSHOULDER = 1, 2, 5

_FORMS = ("auto", "openpose", "light_hand")
_NO_MG_REASON = "label 99 (no MG)"
_LIGHT_HAND_SUFFIX = "_light_hand.csv"
_FRAME_NAME = re.compile(r"_(\d+)_keypoints\.json$")

_COLUMN_ALIASES = {
    "video": ("video_id", "video"),
    "label": ("label_id", "label", "class_id"),
    "start": ("start_frame",),
    "end": ("end_frame",),
    "subject": ("subject_id", "subject"),
    "win_or_lose": ("win_or_lose", "win_lose", "winorlose", "win/lose"),
    "fps": ("fps",),
}


def xsub_part(subject: Optional[int]) -> Optional[str]:
    """The ``xsub`` part of a subject: ``"train"``, ``"test"`` (the other subjects 1-72) or None."""
    if subject is None:
        return None
    if subject in XSUB_TRAIN_SUBJECTS:
        return "train"
    return "test" if 1 <= subject <= NUM_SUBJECTS else None


# ------------------------------------------------------------------------------------------------ plans


@dataclass
class _Clip:
    index: int
    source_label: int
    start: int
    end: int  # inclusive
    line: str  # where it was read, for error messages


@dataclass
class _Video:
    key: str  # id used for matching (leading zeros of numeric ids dropped)
    name: str  # id as written in the output
    source: Optional[Path] = None  # the skeleton CSV, or the folder of JSON frames
    label_file: Optional[Path] = None
    clips: List[_Clip] = field(default_factory=list)
    subject: Optional[int] = None
    win_or_lose: Optional[str] = None
    fps: float = IMIGUE_FPS
    frames: Dict[int, Path] = field(default_factory=dict)  # form "openpose": frame number -> JSON file
    num_frames: int = 0
    error: Optional[ConversionError] = None
    converted: bool = False


def _video_key(name: str) -> str:
    name = name.strip()
    return str(int(name)) if name.isdigit() else name


# (reason, message) of what is left out before run_conversion's loop; counted there like any skip.
Skips = List[Tuple[str, str]]


# ------------------------------------------------------------------------------------------ small parsers


def _is_header(tokens: Sequence[str]) -> bool:
    """A first row of names only, or pandas' column numbering (0, 1, 2, ... after an empty index cell or not),
    is a header. Anything else is data, so that a bad token in the first frame is reported, not dropped."""
    if not any(is_number(t) for t in tokens):
        return True
    numbers = list(tokens[1:]) if not tokens[0].strip() else list(tokens)
    if len(numbers) < 4 or not all(is_number(t) for t in numbers):
        return False
    values = [float(t) for t in numbers]
    return values[0] in (0.0, 1.0) and values == [values[0] + i for i in range(len(values))]


def _subject(token: str, file: Path, where: str) -> int:
    match = re.search(r"(\d+)\s*$", token)
    if not match:
        raise ConversionError(file, where, f"subject is not a number: {token!r}", "non-numeric")
    return int(match.group(1))


def _check_label(label: int, file: Path, where: str) -> None:
    if not (1 <= label <= NUM_CLASSES or label == NO_MG_LABEL):
        raise ConversionError(file, where, f"label {label} is not an iMiGUE class (1-{NUM_CLASSES}, or "
                                           f"{NO_MG_LABEL} for no MG)", "unknown label")


def _check_clip(clip: _Clip, num_frames: int, file: Path) -> None:
    if clip.end < clip.start:
        raise ConversionError(file, clip.line, f"empty clip: end frame {clip.end} before start frame {clip.start}",
                              "empty clip")
    if clip.start < 0 or clip.end >= num_frames:
        raise ConversionError(file, clip.line, f"clip frames {clip.start}-{clip.end} outside the video's "
                                               f"{num_frames} frames (0-{num_frames - 1})", "clip outside video")


# ---------------------------------------------------------------------------------- the annotation table


def _read_table(path: Path, videos: Dict[str, _Video], *, need_clips: bool, skip_bad: bool,
                skips: Skips) -> None:
    """Read the annotation CSV into ``videos`` (created as met). A bad row is charged to its video (the video is
    then skipped whole, its timeline being incomplete) or, when even its video is unknown, raised or counted."""
    required = ("video", "label", "start", "end", "subject") if need_clips else ("video", "subject")
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        columns: Dict[str, int] = {}
        header: List[str] = []
        for row in reader:
            where = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if not header:
                header = [re.sub(r"[\s\-]+", "_", cell.strip().lower()) for cell in row]
                for key, aliases in _COLUMN_ALIASES.items():
                    found = [header.index(a) for a in aliases if a in header]
                    if found:
                        columns[key] = found[0]
                missing = [_COLUMN_ALIASES[k][0] for k in required if k not in columns]
                if missing:
                    raise ConversionError(path, where, f"no column {', '.join(missing)} in the header "
                                                       f"({', '.join(header)})", "missing column")
                continue
            video_cell = row[columns["video"]].strip() if len(row) > columns["video"] else ""
            video = videos.get(_video_key(video_cell)) if video_cell else None
            if video_cell and video is None:
                video = videos[_video_key(video_cell)] = _Video(_video_key(video_cell), video_cell)
            try:
                if len(row) != len(header):
                    raise ConversionError(path, where, f"expected {len(header)} values, got {len(row)}",
                                          "wrong number of values")
                if video is None:
                    raise ConversionError(path, where, "empty video_id", "missing value")
                _table_row(path, where, row, columns, video, need_clips)
            except ConversionError as exc:
                if video is not None:
                    video.error = video.error or exc
                elif not skip_bad:
                    raise
                else:
                    skips.append((exc.reason, str(exc)))
        if not header:
            raise ConversionError(path, "", "no header and no rows", "empty")


def _table_row(path: Path, where: str, row: List[str], columns: Dict[str, int], video: _Video,
               need_clips: bool) -> None:
    def cell(key: str) -> str:
        return row[columns[key]].strip() if key in columns else ""

    subject = _subject(cell("subject"), path, f"{where}, field 'subject_id'")
    win = cell("win_or_lose") or None
    fps = float(parse_floats([cell("fps")], path, f"{where}, field 'fps'")[0]) if cell("fps") else IMIGUE_FPS
    if fps <= 0:
        raise ConversionError(path, f"{where}, field 'fps'", f"fps must be positive, got {fps}", "non-numeric")
    first = not video.clips and video.subject is None
    if not first and (subject != video.subject or win != video.win_or_lose or fps != video.fps):
        raise ConversionError(path, where, f"subject/win_or_lose/fps of video {video.name} differ from its earlier "
                                           f"rows ({subject}, {win}, {fps} vs {video.subject}, "
                                           f"{video.win_or_lose}, {video.fps})", "inconsistent video fields")
    video.subject, video.win_or_lose, video.fps = subject, win, fps
    if need_clips:
        label = parse_integer(cell("label"), path, f"{where}, field 'label_id'", "label_id")
        _check_label(label, path, f"{where}, field 'label_id'")
        start = parse_integer(cell("start"), path, f"{where}, field 'start_frame'", "start_frame")
        end = parse_integer(cell("end"), path, f"{where}, field 'end_frame'", "end_frame")
        video.clips.append(_Clip(len(video.clips), label, start, end, where))


def _find_table(src: Path) -> Path:
    tables = sorted(p for p in src.glob("*.csv") if p.is_file())
    if len(tables) != 1:
        found = ", ".join(p.name for p in tables) or "none"
        raise FileNotFoundError(f"{src}: expected one label CSV directly in it (found {found}); pass labels=")
    return tables[0]


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
    return np.asarray(values, dtype=np.float64).reshape(-1, 3)


def _read_openpose_frame(file: Path) -> np.ndarray:
    """The 35 points of the most confident person (highest mean BODY_25 confidence); zeros when nobody."""
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConversionError(file, "", "not UTF-8 text", "malformed JSON") from None
    except json.JSONDecodeError as exc:
        raise ConversionError(file, f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}",
                              "malformed JSON") from None
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


def _scan_openpose(frames_dir: Path, videos: Dict[str, _Video], skips: Skips) -> None:
    by_folder: Dict[Path, List[Path]] = {}
    for file in sorted_files(frames_dir, "*_keypoints.json"):
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
        video.clips.append(_Clip(len(video.clips), label, start, end, where))
    if not video.clips:
        raise ConversionError(file, "", "no clip in it", "empty")


def _scan_light_hand(src: Path, videos: Dict[str, _Video], table: Dict[str, _Video]) -> None:
    for file in sorted_files(src, "*" + _LIGHT_HAND_SUFFIX):
        name = file.name[:-len(_LIGHT_HAND_SUFFIX)]
        meta = table.get(_video_key(name))
        video = _Video(_video_key(name), name, source=file, label_file=file.parent / f"{name}_label.csv")
        if meta is not None:
            video.subject, video.win_or_lose, video.fps, video.error = (meta.subject, meta.win_or_lose, meta.fps,
                                                                        meta.error)
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


def _normalise(points: np.ndarray, file: Path) -> Tuple[np.ndarray, Tuple[float, float], float]:
    x, y, c = points[..., 0], points[..., 1], points[..., 2]
    detected = (c > 0) & ~((x == 0) & (y == 0))
    neck = detected[:, _NECK]
    both = detected[:, _RSHOULDER] & detected[:, _LSHOULDER]
    if not neck.any():
        raise ConversionError(file, "", "the neck (BODY_25 point 1) is detected in no frame; cannot normalise",
                              "no person detected")
    if not both.any():
        raise ConversionError(file, "", "no frame has both shoulders detected; cannot normalise",
                              "no person detected")
    ox, oy = float(np.median(x[neck, _NECK])), float(np.median(y[neck, _NECK]))
    scale = float(np.median(np.hypot(x[both, _RSHOULDER] - x[both, _LSHOULDER],
                                     y[both, _RSHOULDER] - y[both, _LSHOULDER])))
    if not scale > 0:
        raise ConversionError(file, "", "median shoulder width is 0; cannot normalise", "no person detected")
    out = np.zeros_like(points)
    out[..., 0] = np.where(detected, (x - ox) / scale, 0.0)
    out[..., 1] = np.where(detected, (oy - y) / scale, 0.0)
    out[..., 2] = np.where(detected, c, 0.0)
    return out, (ox, oy), scale


def _class_names(keep_no_mg: bool) -> List[str]:
    return [f"MG{k}" for k in range(1, NUM_CLASSES + 1)] + (["no_mg"] if keep_no_mg else [])


def _class_of(source_label: int, keep_no_mg: bool) -> Optional[int]:
    if source_label == NO_MG_LABEL:
        return NUM_CLASSES if keep_no_mg else None
    return source_label - 1


def convert_imigue(src: Union[str, Path], dst: Union[str, Path], *, skip_bad: bool = False, overwrite: bool = False,
                   progress: bool = True, splits: Optional[Sequence[str]] = None, form: str = "auto",
                   frames_dir: Union[str, Path, None] = None, labels: Union[str, Path, None] = None,
                   keep_no_mg: bool = False, csv_first_hand: str = "left") -> ConversionReport:
    """Convert iMiGUE skeletons under ``src`` into an mgclr dataset at ``dst`` (see the module docstring).

    Args:
        src, dst, skip_bad, overwrite, progress: as every converter (:mod:`mgclr.data.convert.common`).
        splits: the benchmarks to record in meta.json (default: all; iMiGUE has ``xsub``).
        form: ``"auto"``, ``"openpose"`` (per-frame JSON + one label CSV) or ``"light_hand"`` (MiGA CSVs).
        frames_dir: form "openpose": the folder of per-video JSON folders (default ``src``).
        labels: form "openpose": the label CSV (default: the only ``*.csv`` directly in ``src``); form
            "light_hand": optional annotation CSV giving each video's subject (and win/lose, fps).
        keep_no_mg: write label-99 clips as a class ``"no_mg"`` instead of skipping (and counting) them.
        csv_first_hand: ``"left"`` or ``"right"``, the person's side of the first five fingertip points of a
            ``_light_hand.csv``.

    Returns the report; written to ``dst`` besides the dataset: ``timelines.json``.
    """
    src = Path(src)
    if form not in _FORMS:
        raise ValueError(f"form: expected one of {', '.join(_FORMS)}, got {form!r}")
    if csv_first_hand not in ("left", "right"):
        raise ValueError(f"csv_first_hand: expected 'left' or 'right', got {csv_first_hand!r}")
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not a folder")
    if form == "auto":
        form = "light_hand" if sorted_files(src, "*" + _LIGHT_HAND_SUFFIX) else "openpose"
    if form == "light_hand" and frames_dir is not None:
        raise ValueError("frames_dir: only form 'openpose' reads a folder of JSON frames")

    skips: Skips = []
    videos: Dict[str, _Video] = {}
    if form == "openpose":
        table_file = Path(labels) if labels is not None else _find_table(src)
        _read_table(table_file, videos, need_clips=True, skip_bad=skip_bad, skips=skips)
        frames_dir = Path(frames_dir) if frames_dir is not None else src
        _scan_openpose(frames_dir, videos, skips)
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
        _scan_light_hand(src, videos, table)
        if not videos:
            raise FileNotFoundError(f"{src}: no *{_LIGHT_HAND_SUFFIX}")
    if not videos:
        raise FileNotFoundError(f"{src}: no iMiGUE video found")

    sources: List[_Video] = []
    longest = 1
    for video in sorted(videos.values(), key=lambda v: v.name):
        if video.error is None:
            try:
                for clip in video.clips:
                    _check_clip(clip, video.num_frames, video.label_file)
            except ConversionError as exc:
                video.error = exc
        if video.error is not None:
            if not skip_bad:
                raise video.error
            sources.append(video)  # run_conversion counts it
            continue
        written = []
        for clip in video.clips:
            if _class_of(clip.source_label, keep_no_mg) is None:
                skips.append((_NO_MG_REASON, f"{video.label_file}: {clip.line}: clip {video.name}_{clip.index}"))
            else:
                written.append(clip)
        if written:
            sources.append(video)
            longest = max([longest] + [c.end - c.start + 1 for c in written])
        else:
            video.converted = True  # nothing to read; its timeline is still valid

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
        norm, origin, scale = _normalise(points, video.source)
        body = norm[:, list(_TO_IMIGUE22)].astype(np.float32)  # (T, 22, 3)
        samples = []
        for clip in video.clips:
            label = _class_of(clip.source_label, keep_no_mg)
            if label is None:
                continue
            x = body[clip.start:clip.end + 1].transpose(2, 0, 1)[..., None]  # (3, T, 22, 1)
            fields = {"id": f"{video.name}_{clip.index}", "video": video.name, "subject": video.subject,
                      "start_frame": clip.start, "end_frame": clip.end, "norm_origin": [origin[0], origin[1]],
                      "norm_scale": scale}
            if video.win_or_lose is not None:
                fields["win_or_lose"] = video.win_or_lose
            samples.append(Sample(np.ascontiguousarray(x), label, fields))
        video.converted = True
        return iter(samples)

    fps_values = {v.fps for v in videos.values() if v.error is None}
    fps = fps_values.pop() if len(fps_values) == 1 else None
    no_subject = sum(1 for v in sources if v.error is None and v.subject is None)
    provenance = {"source": str(src), "form": form, "files": len(sources), "keep_no_mg": keep_no_mg,
                  "csv_first_hand": csv_first_hand if form == "light_hand" else None,
                  "frames": "0-based, start and end inclusive",
                  "videos_without_subject": no_subject}
    normalisation = ("per video: x' = (x - origin_x) / scale, y' = (origin_y - y) / scale (y up); origin = median "
                     "neck (BODY_25 1) position over the frames where it is detected, scale = median RShoulder-"
                     "LShoulder distance over the frames where both are detected (pixels; per-sample norm_origin, "
                     "norm_scale); confidence kept; undetected points (confidence 0 or x = y = 0) are 0 in all "
                     "channels; the most confident person (highest mean BODY_25 confidence) of each frame")
    report = run_conversion(
        "imigue", dst, sources, parse,
        writer_args={"channels": 3, "frames": longest, "joints": len(_TO_IMIGUE22), "persons": 1,
                     "layout": "imigue22", "class_names": _class_names(keep_no_mg), "coord_channels": 2,
                     "channel_names": ["x", "y", "confidence"], "fps": fps},
        split_of=lambda s: {"xsub": xsub_part(s.fields.get("subject"))}, provenance=provenance,
        normalisation=normalisation, skip_bad=skip_bad, overwrite=overwrite, progress=progress, splits=splits,
        describe=lambda v: str(v.source if v.source is not None else v.label_file), skipped_before=skips)
    _write_timelines(Path(dst), videos, keep_no_mg)
    return report


def _write_timelines(dst: Path, videos: Dict[str, _Video], keep_no_mg: bool) -> None:
    names = _class_names(True)
    timelines: Dict[str, Any] = {}
    for video in sorted(videos.values(), key=lambda v: v.name):
        if not video.converted:
            continue
        entry: Dict[str, Any] = {"subject": video.subject}
        if video.win_or_lose is not None:
            entry["win_or_lose"] = video.win_or_lose
        entry["fps"] = video.fps
        clips = []
        for clip in video.clips:
            label = _class_of(clip.source_label, keep_no_mg)
            name = names[NUM_CLASSES] if clip.source_label == NO_MG_LABEL else names[clip.source_label - 1]
            clips.append({"label": label, "source_label": clip.source_label, "name": name,
                          "start_frame": clip.start, "end_frame": clip.end,
                          "id": f"{video.name}_{clip.index}" if label is not None else None})
        entry["clips"] = clips
        timelines[video.name] = entry
    write_text_atomic(dst / "timelines.json", json.dumps(timelines, indent=1))
