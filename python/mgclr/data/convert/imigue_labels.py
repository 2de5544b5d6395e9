"""iMiGUE's protocol and its label files, for :mod:`mgclr.data.convert.imigue` (which re-exports the public names
and whose module docstring describes the files): the class ids and their names, the ``xsub`` split of
:data:`PROTOCOL`, the per-video plan (:class:`_Video` of :class:`_Clip`) and the official label CSV read into it,
its frame rate measured from the rows' times."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..timeline import TimelineError, normalise_outcome
from .common import ConversionError, is_number, parse_floats, parse_integer

__all__ = ["IMIGUE_FPS", "NON_MG_LABEL", "NON_MG_NAME", "NUM_CLASSES", "NUM_MG_CLASSES", "PROTOCOL",
           "XSUB_TRAIN_SUBJECTS", "class_names", "xsub_part"]

IMIGUE_FPS = 25.0  # start_frame / start_time of the official label CSV
NUM_MG_CLASSES = 31  # MG ids 1-31 in the official label CSV
NON_MG_LABEL = 99  # the non-MG clips; the official reader folds them into class 32
FOLDED_NON_MG_LABEL = 32
NUM_CLASSES = NUM_MG_CLASSES + 1  # the benchmark: 31 MGs and the non-MG class
NON_MG_NAME = "non_mg"
NUM_SUBJECTS = 72  # 37 + 35 in the protocol
# The iMiGUE evaluation protocol (the PDF published with the dataset): the MG cross-subject split's 37 training
# and 35 test subjects, and the emotion split's 102 training and 100 test videos, shipped with the package.
PROTOCOL: Dict[str, Any] = json.loads((Path(__file__).with_name("imigue_protocol.json")).read_text())
XSUB_TRAIN_SUBJECTS = frozenset(PROTOCOL["mg_recognition_cross_subject"]["train_subjects"])
STANDARD_FPS = (23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")

_COLUMN_ALIASES = {
    "video": ("video_id", "video"),
    "clip": ("label_id", "clip_id", "clip"),
    "class": ("class", "class_id", "mg_class", "label"),
    "start": ("start_frame",),
    "end": ("end_frame",),
    "start_time": ("start_time",),
    "end_time": ("end_time",),
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


def class_names(non_mg: str = "class") -> List[str]:
    """The dataset's class names: ``MG1`` ... ``MG31``, then ``non_mg`` unless ``non_mg="drop"``."""
    return [f"MG{k}" for k in range(1, NUM_MG_CLASSES + 1)] + ([NON_MG_NAME] if non_mg == "class" else [])


def _is_non_mg(source_label: int) -> bool:
    return source_label in (NON_MG_LABEL, FOLDED_NON_MG_LABEL)


def _class_of(source_label: int, non_mg: str) -> Optional[int]:
    """Class index of an id of the file (None: left out)."""
    if _is_non_mg(source_label):
        return NUM_MG_CLASSES if non_mg == "class" else None
    return source_label - 1


# ------------------------------------------------------------------------------------------------ plans


@dataclass
class _Clip:
    number: int  # label_id, or the row's order in its video
    source_label: int  # the class id of the file
    start: int
    end: int  # inclusive
    file: Path  # where it was read, for error messages
    line: str


@dataclass
class _Video:
    key: str  # id used for matching (leading zeros of numeric ids dropped)
    name: str  # id as written in the output
    source: Optional[Path] = None  # the skeleton CSV, or the folder of JSON frames
    label_file: Optional[Path] = None
    clips: List[_Clip] = field(default_factory=list)
    subject: Optional[int] = None
    win_or_lose: Optional[str] = None
    fps: Optional[float] = None  # an fps column's value; else measured from `times` in _resolve_fps
    fps_source: str = "assumed"
    times: List[Tuple[int, float, Path, str]] = field(default_factory=list)  # (frame, seconds, file, where)
    frames: Dict[int, Path] = field(default_factory=dict)  # form "openpose": frame number -> JSON file
    num_frames: int = 0
    error: Optional[ConversionError] = None
    converted: bool = False
    first_row: bool = True  # no table row read yet (the video's fields are set by its first row)


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


def _seconds(token: str, file: Path, where: str) -> float:
    """Seconds from ``12.48`` or ``[hh:]mm:ss[.f]``."""
    token = token.strip()
    match = _CLOCK.match(token)
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    value = parse_floats([token], file, where)[0]
    if value < 0:
        raise ConversionError(file, where, f"a time must be >= 0 s, got {token!r}", "non-numeric")
    return value


def _check_label(label: int, file: Path, where: str) -> None:
    if not (1 <= label <= FOLDED_NON_MG_LABEL or label == NON_MG_LABEL):
        raise ConversionError(file, where, f"class {label} is not an iMiGUE class (MGs 1-{NUM_MG_CLASSES}, "
                                           f"{NON_MG_LABEL} for a non-MG clip, or {FOLDED_NON_MG_LABEL} for one "
                                           f"already folded as the official reader does)", "unknown label")


def _add_clip(video: _Video, clip: _Clip) -> None:
    """Append ``clip``, refusing a second clip with the same number or the same class and frames."""
    for other in video.clips:
        if other.number == clip.number:
            raise ConversionError(clip.file, clip.line, f"clip {clip.number} of video {video.name} is also at "
                                                        f"{other.line}", "duplicate row")
        if (other.source_label, other.start, other.end) == (clip.source_label, clip.start, clip.end):
            raise ConversionError(clip.file, clip.line, f"class {clip.source_label}, frames {clip.start}-{clip.end} "
                                                        f"of video {video.name} are also at {other.line}",
                                  "duplicate row")
    video.clips.append(clip)


def _check_clip(clip: _Clip, num_frames: int) -> None:
    if clip.end < clip.start:
        raise ConversionError(clip.file, clip.line, f"empty clip: end frame {clip.end} before start frame "
                                                    f"{clip.start}", "empty clip")
    if clip.start < 0 or clip.end >= num_frames:
        raise ConversionError(clip.file, clip.line, f"clip frames {clip.start}-{clip.end} outside the video's "
                                                    f"{num_frames} frames (0-{num_frames - 1})", "clip outside video")


def _snap_fps(fps: float) -> float:
    nearest = min(STANDARD_FPS, key=lambda s: abs(fps - s))
    return nearest if abs(fps - nearest) <= 0.01 * nearest else round(fps, 3)


def _agrees(frame: int, seconds: float, fps: float) -> bool:
    return abs(frame - fps * seconds) <= 2 + 0.01 * frame


def _resolve_fps(video: _Video) -> None:
    """The video's frame rate: its ``fps`` column, else measured from its (frame, seconds) pairs, else the
    iMiGUE rate (assumed); every pair must agree with it (see :mod:`mgclr.data.convert.imigue`). The measurement is
    robust to a wrong row: the median of frame / time gives a first rate, the least-squares slope through the
    origin over the rows that agree with it the final one (large frames weigh most, where rounding of the
    times matters least), so that the row named in an error is the wrong one."""
    if video.fps is None:
        ratios = [f / t for f, t, _, _ in video.times if t > 0 and f > 0]
        if ratios:
            first = float(np.median(ratios))
            agree = [(f, t) for f, t, _, _ in video.times if t > 0 and _agrees(f, t, first)]
            slope = sum(f * t for f, t in agree) / sum(t * t for _, t in agree) if agree else first
            video.fps, video.fps_source = _snap_fps(slope), "start_frame/start_time, end_frame/end_time"
        else:
            video.fps, video.fps_source = IMIGUE_FPS, "assumed (no times in the label file)"
    for frame, seconds, file, where in video.times:
        if not _agrees(frame, seconds, video.fps):
            raise ConversionError(file, where, f"frame {frame} at {seconds:g} s contradicts video {video.name}'s "
                                               f"{video.fps:g} fps ({video.fps_source}; expected frame "
                                               f"{video.fps * seconds:.0f} +- {2 + 0.01 * frame:.0f})",
                                  "inconsistent fps")


# ---------------------------------------------------------------------------------- the annotation table


def _read_table(path: Path, videos: Dict[str, _Video], *, need_clips: bool, skip_bad: bool,
                skips: Skips) -> None:
    """Read the label CSV into ``videos`` (created as met). A bad row is charged to its video (the video is
    then skipped whole, its timeline being incomplete) or, when even its video is unknown, raised or counted."""
    required = ("video", "class", "start", "end", "subject") if need_clips else ("video", "subject")
    try:
        fh = open(path, newline="", encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ConversionError(path, "", f"cannot be read ({exc.strerror or exc})", "unreadable") from None
    with fh:
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
                    hint = (" (label_id is the clip's number within its video; the MG class is the column "
                            "'class')" if "class" in missing and "clip" in columns else "")
                    raise ConversionError(path, where, f"no column {', '.join(missing)} in the header "
                                                       f"({', '.join(header)}){hint}", "missing column")
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
    try:
        win = normalise_outcome(cell("win_or_lose") or None, "win_or_lose")
    except TimelineError as exc:
        raise ConversionError(path, f"{where}, field 'win_or_lose'", str(exc), "unknown outcome") from None
    fps = None
    if cell("fps"):
        fps = float(parse_floats([cell("fps")], path, f"{where}, field 'fps'")[0])
        if not fps > 0:
            raise ConversionError(path, f"{where}, field 'fps'", f"fps must be positive, got {fps:g}", "non-numeric")
    if not video.first_row and (subject != video.subject or win != video.win_or_lose or
                                (fps is not None and fps != video.fps)):
        raise ConversionError(path, where, f"subject/win_or_lose/fps of video {video.name} differ from its earlier "
                                           f"rows ({subject}, {win}, {fps} vs {video.subject}, "
                                           f"{video.win_or_lose}, {video.fps})", "inconsistent video fields")
    video.first_row = False
    video.subject, video.win_or_lose = subject, win
    if fps is not None:
        video.fps, video.fps_source = fps, "the label file's fps column"
    frames = {}
    for key, name in (("start", "start_frame"), ("end", "end_frame")):
        if cell(key) or need_clips:
            frames[key] = parse_integer(cell(key), path, f"{where}, field '{name}'", name)
    for key in ("start", "end"):
        time_key = f"{key}_time"
        if cell(time_key) and key in frames:
            seconds = _seconds(cell(time_key), path, f"{where}, field '{time_key}'")
            video.times.append((frames[key], seconds, path, f"{where}, field '{time_key}'"))
    if need_clips:
        label = parse_integer(cell("class"), path, f"{where}, field 'class'", "class")
        _check_label(label, path, f"{where}, field 'class'")
        number = parse_integer(cell("clip"), path, f"{where}, field 'label_id'", "label_id") \
            if "clip" in columns else len(video.clips)
        _add_clip(video, _Clip(number, label, frames["start"], frames["end"], path, where))


def _find_table(src: Path) -> Path:
    tables = sorted(p for p in src.glob("*.csv") if p.is_file())
    if len(tables) != 1:
        found = ", ".join(p.name for p in tables) or "none"
        raise FileNotFoundError(f"{src}: expected one label CSV directly in it (found {found}); pass labels=")
    return tables[0]
