"""Micro-gesture timelines: per video, the ordered MGs a person made, where they start and end.

A :class:`Timeline` is what both emotion tasks read: the video-level classifier turns it into a token
sequence (:mod:`mgclr.emotion.classifier`), the LLM protocol shows it to a model beside the interview
(:mod:`mgclr.emotion.llm`). It comes from annotations (the iMiGUE converter writes ``timelines.json`` with
:func:`write_timelines`), from a trained recognizer run over a long skeleton sequence
(:func:`mgclr.emotion.recognize.predict_timeline`), or from the synthetic generator of the demo. There is
one schema, this module's, whoever writes it; the frame rate is the data's (iMiGUE: 25 fps, measured by the
converter), never a default here.

The data type lives with the data (the converters write it; it imports nothing of mgclr but ``_files``), so
that ``mgclr.data`` needs nothing above it; :mod:`mgclr.emotion.timeline` re-exports every name, and is where
users import them from.

Frames are 0-based and both ends inclusive (like the converters' ``start_frame`` / ``end_frame``); seconds
are ``frame / fps`` for the start and ``(end_frame + 1) / fps`` for the end, so an MG of one frame lasts
``1 / fps`` seconds.

Two JSON forms:

* the **file form** (:func:`write_timelines` / :func:`read_timelines`): ``{"format": "mgclr-timelines",
  "version": 1, "videos": {name: {"fps", "source", "num_frames", "outcome", "subject", "events": [{"label",
  "name", "start_frame", "end_frame", "start_s", "end_s", "confidence"}]}}}`` -- everything, outcome
  included; the seconds are written for the reader, and an event written by hand may give only
  ``start_s`` / ``end_s`` (converted to frames at the video's fps);
* the **prompt form** (:meth:`Timeline.to_prompt`): what an LLM sees -- MG names and times in seconds,
  never the outcome, the subject or the video name (identities are what the protocol hides).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from .._files import write_text_atomic

__all__ = ["BACKGROUND_NAMES", "MGEvent", "OUTCOMES", "Timeline", "TimelineError", "load_class_names",
           "normalise_outcome", "read_timelines", "write_timelines"]

OUTCOMES = ("win", "lose")
# Class names that mean "no micro-gesture here" (iMiGUE's non-MG class): background, never an MG event.
BACKGROUND_NAMES = ("non_mg", "no_mg")
FORMAT = "mgclr-timelines"
VERSION = 1

_OUTCOME_WORDS = {"win": "win", "won": "win", "winner": "win", "w": "win", "victory": "win",
                  "lose": "lose", "lost": "lose", "loss": "lose", "loser": "lose", "l": "lose", "defeat": "lose"}


class TimelineError(ValueError):
    """A timeline (or a timelines file) that cannot be read; the message names the video and the field."""


def normalise_outcome(value: Any, where: str = "outcome") -> Optional[str]:
    """``"win"`` / ``"lose"`` from the spellings found in annotation files (win, won, winner, lose, lost,
    loss, loser, any case); ``None`` stays ``None``. Anything else raises :class:`TimelineError` naming
    ``where``: a digit such as ``1`` is refused rather than guessed."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text == "":
        return None
    if text not in _OUTCOME_WORDS:
        raise TimelineError(f"{where}: expected 'win' or 'lose' (or won/lost/winner/loser), got {value!r}")
    return _OUTCOME_WORDS[text]


@dataclass(frozen=True)
class MGEvent:
    """One micro-gesture: class ``label`` (index into the recognizer's / dataset's classes) called
    ``name``, frames ``start_frame``..``end_frame`` (inclusive), and a ``confidence`` in [0, 1] when it
    was predicted."""

    label: int
    name: str
    start_frame: int
    end_frame: int
    confidence: Optional[float] = None

    def __post_init__(self):
        for key in ("label", "start_frame", "end_frame"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TimelineError(f"{key}: expected an int, got {value!r}")
        if self.label < 0:
            raise TimelineError(f"label: expected >= 0, got {self.label}")
        if not isinstance(self.name, str) or not self.name:
            raise TimelineError(f"name: expected a non-empty string, got {self.name!r}")
        if self.start_frame < 0 or self.end_frame < self.start_frame:
            raise TimelineError(f"start_frame/end_frame: expected 0 <= start <= end, got "
                                f"{self.start_frame}..{self.end_frame}")
        if self.confidence is not None:
            c = float(self.confidence)
            if not (0.0 <= c <= 1.0):
                raise TimelineError(f"confidence: expected a value in [0, 1], got {self.confidence!r}")
            object.__setattr__(self, "confidence", c)

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame + 1

    def start_seconds(self, fps: float) -> float:
        return self.start_frame / fps

    def end_seconds(self, fps: float) -> float:
        return (self.end_frame + 1) / fps

    def to_dict(self, fps: Optional[float] = None) -> Dict[str, Any]:
        out: Dict[str, Any] = {"label": self.label, "name": self.name, "start_frame": self.start_frame,
                               "end_frame": self.end_frame}
        if fps is not None:  # for the reader of the file; frames stay the exact values
            out["start_s"] = round(self.start_seconds(fps), 3)
            out["end_s"] = round(self.end_seconds(fps), 3)
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


@dataclass
class Timeline:
    """The MGs of one video, sorted by start frame.

    Attributes:
        video: the video's name (never shown to an LLM).
        fps: frames per second of the frame numbers.
        events: the MGs, sorted by (start_frame, end_frame, label) on construction.
        num_frames: the video's length in frames when known (the classifier uses it for the trailing gap).
        outcome: ``"win"``, ``"lose"`` or ``None`` (unknown / hidden).
        subject: the person's id when known.
        source: ``"annotation"``, ``"predicted"`` or ``"synthetic"``.
    """

    video: str
    fps: float
    events: List[MGEvent] = field(default_factory=list)
    num_frames: Optional[int] = None
    outcome: Optional[str] = None
    subject: Optional[str] = None
    source: str = "annotation"

    def __post_init__(self):
        if not isinstance(self.video, str) or not self.video:
            raise TimelineError(f"video: expected a non-empty name, got {self.video!r}")
        fps = float(self.fps) if not isinstance(self.fps, bool) else math.nan
        if not (math.isfinite(fps) and fps > 0):
            raise TimelineError(f"video {self.video}: fps: expected a finite value > 0, got {self.fps!r}")
        self.fps = fps
        self.outcome = normalise_outcome(self.outcome, f"video {self.video}: outcome")
        self.events = sorted(self.events, key=lambda e: (e.start_frame, e.end_frame, e.label))
        if self.num_frames is not None:
            if isinstance(self.num_frames, bool) or not isinstance(self.num_frames, int) or self.num_frames < 1:
                raise TimelineError(f"video {self.video}: num_frames: expected an int >= 1, got {self.num_frames!r}")
            late = [e for e in self.events if e.end_frame >= self.num_frames]
            if late:
                raise TimelineError(f"video {self.video}: an MG ends at frame {late[0].end_frame}, past the "
                                    f"video's {self.num_frames} frames")
        if self.subject is not None:
            self.subject = str(self.subject)

    @property
    def duration_seconds(self) -> Optional[float]:
        """The video's length, or the end of its last MG when ``num_frames`` is unknown (None if empty)."""
        if self.num_frames is not None:
            return self.num_frames / self.fps
        return self.events[-1].end_seconds(self.fps) if self.events else None

    def names(self) -> List[str]:
        return [e.name for e in self.events]

    def without_outcome(self) -> Timeline:
        return replace(self, outcome=None)

    def to_prompt(self, decimals: int = 1) -> Dict[str, Any]:
        """The prompt form: ``{"duration_s": ..., "micro_gestures": [{"mg": name, "start_s", "end_s"
        [, "confidence"]}]}`` -- times in seconds rounded to ``decimals``, no outcome, no identity."""
        out: Dict[str, Any] = {}
        duration = self.duration_seconds
        if duration is not None:
            out["duration_s"] = round(duration, decimals)
        rows = []
        for e in self.events:
            row: Dict[str, Any] = {"mg": e.name.replace("_", " "),
                                   "start_s": round(e.start_seconds(self.fps), decimals),
                                   "end_s": round(e.end_seconds(self.fps), decimals)}
            if e.confidence is not None:
                row["confidence"] = round(e.confidence, 2)
            rows.append(row)
        out["micro_gestures"] = rows
        return out

    def prompt_json(self, decimals: int = 1) -> str:
        """:meth:`to_prompt` as compact JSON text, one MG per line (what the LLM request carries)."""
        form = self.to_prompt(decimals)
        lines = [json.dumps(row, ensure_ascii=False) for row in form["micro_gestures"]]
        head = f'{{"duration_s": {json.dumps(form["duration_s"])}, ' if "duration_s" in form else "{"
        if not lines:
            return head + '"micro_gestures": []}'
        return head + '"micro_gestures": [\n  ' + ",\n  ".join(lines) + "\n]}"

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"fps": self.fps, "source": self.source}
        for key in ("num_frames", "outcome", "subject"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["events"] = [e.to_dict(self.fps) for e in self.events]
        return out

    @classmethod
    def from_dict(cls, video: str, data: Mapping[str, Any]) -> Timeline:
        if not isinstance(data, Mapping):
            raise TimelineError(f"video {video}: expected an object, got {type(data).__name__}")
        unknown = set(data) - {"fps", "source", "num_frames", "outcome", "subject", "events"}
        if unknown:
            raise TimelineError(f"video {video}: unknown fields {sorted(unknown)}")
        if "fps" not in data:
            raise TimelineError(f"video {video}: fps: missing")
        events = data.get("events", [])
        if not isinstance(events, list):
            raise TimelineError(f"video {video}: events: expected a list, got {type(events).__name__}")
        parsed = []
        for i, row in enumerate(events):
            if not isinstance(row, Mapping):
                raise TimelineError(f"video {video}: events[{i}]: expected an object, got {row!r}")
            try:
                if "start_frame" in row or "end_frame" in row:
                    start, end = row["start_frame"], row["end_frame"]
                else:  # a timeline written by hand in seconds: [start_s, end_s) -> frames at this fps
                    start_s, end_s = float(row["start_s"]), float(row["end_s"])
                    if not (math.isfinite(start_s) and math.isfinite(end_s)):
                        raise TimelineError(f"start_s/end_s: expected finite seconds, got {start_s}, {end_s}")
                    start = int(round(start_s * float(data["fps"])))
                    end = max(start, int(round(end_s * float(data["fps"]))) - 1)
                parsed.append(MGEvent(row["label"], row["name"], start, end, row.get("confidence")))
            except KeyError as exc:
                raise TimelineError(f"video {video}: events[{i}]: {exc.args[0]}: missing") from None
            except (TimelineError, TypeError, ValueError) as exc:
                raise TimelineError(f"video {video}: events[{i}]: {exc}") from None
        return cls(video, data["fps"], parsed, data.get("num_frames"), data.get("outcome"), data.get("subject"),
                   data.get("source", "annotation"))


def write_timelines(path: Union[str, Path], timelines: Iterable[Timeline]) -> Path:
    """Write timelines in the file form (atomically: a temporary file, then a rename)."""
    path = Path(path)
    videos: Dict[str, Any] = {}
    for t in timelines:
        if t.video in videos:
            raise TimelineError(f"video {t.video}: appears twice")
        videos[t.video] = t.to_dict()
    return write_text_atomic(path, json.dumps({"format": FORMAT, "version": VERSION, "videos": videos}, indent=1))


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"timelines: {path} does not exist")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TimelineError(f"{path}: not valid JSON: {exc}") from None


def read_timelines(path: Union[str, Path], class_names: Optional[Sequence[str]] = None) -> List[Timeline]:
    """Timelines from a file written by :func:`write_timelines` (by ``mgclr recognize``, ``mgclr prepare
    imigue`` or by hand). ``class_names``: names by label (e.g. descriptive names for iMiGUE's ``MG1`` ...)
    that replace the events' names; a label without a name there is an error naming the video."""
    path = Path(path)
    data = _load_json(path)
    if not (isinstance(data, Mapping) and data.get("format") == FORMAT):
        hint = (" (an iMiGUE timelines.json of an earlier mgclr: convert the dataset again with mgclr prepare imigue)"
                if isinstance(data, Mapping) and any(isinstance(v, Mapping) and "clips" in v for v in data.values())
                else "")
        raise TimelineError(f"{path}: not an mgclr timelines file (expected \"format\": \"{FORMAT}\"){hint}")
    if data.get("version") != VERSION:
        raise TimelineError(f"{path}: version {data.get('version')!r} of the timelines format; this mgclr "
                            f"reads version {VERSION}")
    videos = data.get("videos")
    if not isinstance(videos, Mapping):
        raise TimelineError(f"{path}: videos: expected an object")
    try:
        timelines = [Timeline.from_dict(name, entry) for name, entry in videos.items()]
    except TimelineError as exc:
        raise TimelineError(f"{path}: {exc}") from None
    if class_names is not None:
        timelines = [_renamed(t, class_names, path) for t in timelines]
    return timelines


def _renamed(timeline: Timeline, class_names: Sequence[str], path: Path) -> Timeline:
    events = []
    for e in timeline.events:
        if e.label >= len(class_names):
            raise TimelineError(f"{path}: video {timeline.video}: label {e.label} ({e.name}) has no name among the "
                                f"{len(class_names)} class names given")
        events.append(replace(e, name=class_names[e.label]))
    return replace(timeline, events=events)


def load_class_names(path: Union[str, Path]) -> List[str]:
    """MG class names, one per line (line k names label k; blank lines and ``#`` comments skipped), or a JSON
    list: descriptive names for the iMiGUE converter's ``MG1``... ``MG31``, which an LLM cannot read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class names: {path} does not exist")
    text = path.read_text()
    if text.lstrip().startswith("["):
        try:
            names = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TimelineError(f"class names: {path}: not valid JSON: {exc}") from None
    else:
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise TimelineError(f"class names: {path}: expected a non-empty list of non-empty names")
    if len(set(names)) != len(names):
        raise TimelineError(f"class names: {path}: a name appears twice")
    return [n.strip() for n in names]
