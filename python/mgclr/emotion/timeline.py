"""Micro-gesture timelines: per video, the ordered MGs a person made, where they start and end.

A :class:`Timeline` is what both emotion tasks read: the video-level classifier turns it into a token
sequence (:mod:`mgclr.emotion.classifier`), the LLM protocol shows it to a model beside the interview
(:mod:`mgclr.emotion.llm`). It comes from annotations (the iMiGUE converter's ``timelines.json``, see
:func:`timelines_from_imigue`), from a trained recognizer run over a long skeleton sequence
(:func:`mgclr.emotion.recognize.predict_timeline`), or from the synthetic generator of the demo.

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

__all__ = ["MGEvent", "OUTCOMES", "Timeline", "TimelineError", "load_class_names", "normalise_outcome",
           "read_timelines", "timelines_from_imigue", "write_timelines"]

OUTCOMES = ("win", "lose")
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
    """Timelines from a file written by :func:`write_timelines` or from the iMiGUE converter's
    ``timelines.json`` (recognised by its form; ``class_names`` as in :func:`timelines_from_imigue`)."""
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, Mapping) and data.get("format") == FORMAT:
        if data.get("version") != VERSION:
            raise TimelineError(f"{path}: version {data.get('version')!r} of the timelines format; this mgclr "
                                f"reads version {VERSION}")
        videos = data.get("videos")
        if not isinstance(videos, Mapping):
            raise TimelineError(f"{path}: videos: expected an object")
        try:
            return [Timeline.from_dict(name, entry) for name, entry in videos.items()]
        except TimelineError as exc:
            raise TimelineError(f"{path}: {exc}") from None
    return timelines_from_imigue(path, class_names)


def timelines_from_imigue(path: Union[str, Path], class_names: Optional[Sequence[str]] = None,
                          include_no_mg: bool = False) -> List[Timeline]:
    """The annotated timelines of the iMiGUE converter's ``timelines.json`` (``mgclr prepare imigue``).

    Event labels are the MG ids of the annotation minus one (``MG1`` -> 0 ... ``MG32`` -> 31), whatever
    the converted dataset's classes, so timelines of all videos share one vocabulary; ``name`` comes from
    ``class_names[label]`` when given (e.g. descriptive names), else the converter's ``MG<k>``. Clips of
    label 99 ("no MG") are left out unless ``include_no_mg`` (then label 32, name ``no_mg``). The outcome is
    the file's ``win_or_lose``; ``num_frames`` is unknown (the files give clips, not video lengths)."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, Mapping) or "format" in data:
        raise TimelineError(f"{path}: neither an mgclr timelines file nor the iMiGUE converter's timelines.json")
    out = []
    for video, entry in data.items():
        where = f"{path}: video {video}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("clips"), list):
            raise TimelineError(f"{where}: expected an object with a list 'clips'")
        events = []
        for i, clip in enumerate(entry["clips"]):
            try:
                source_label = int(clip["source_label"])
                if source_label == 99:
                    if not include_no_mg:
                        continue
                    label, name = 32, "no_mg"
                elif 1 <= source_label <= 32:
                    label = source_label - 1
                    name = class_names[label] if class_names is not None else clip.get("name") or f"MG{source_label}"
                else:
                    raise TimelineError(f"source_label: expected 1..32 or 99, got {source_label}")
                events.append(MGEvent(label, name, int(clip["start_frame"]), int(clip["end_frame"])))
            except KeyError as exc:
                raise TimelineError(f"{where}: clips[{i}]: {exc.args[0]}: missing") from None
            except (TimelineError, TypeError, ValueError, IndexError) as exc:
                raise TimelineError(f"{where}: clips[{i}]: {exc}") from None
        try:
            out.append(Timeline(str(video), entry.get("fps", 30.0), events, None, entry.get("win_or_lose"),
                                entry.get("subject"), "annotation"))
        except TimelineError as exc:
            raise TimelineError(f"{path}: {exc}") from None
    return out


def load_class_names(path: Union[str, Path]) -> List[str]:
    """MG class names, one per line (line k names label k; blank lines and ``#`` comments skipped), or a JSON
    list: descriptive names for the iMiGUE converter's ``MG1``... ``MG32``, which an LLM cannot read."""
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
