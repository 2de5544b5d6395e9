"""Interview transcripts: timestamped utterances read from plain text, SRT or JSON, written back as plain text.

A :class:`Transcript` is what the masking step rewrites and what the inference prompt carries beside the MG
timeline. Its ``video`` (the file's stem by default) is how it is paired with a :class:`~mgclr.emotion.Timeline`.

Plain text (``.txt``), one utterance a line::

    # a comment; blank lines are skipped too
    [00:01:02] Q: How did the second set feel?
    [00:01:05.5 - 00:01:09] A: It was a long one.
    00:01:10.2 Player: Next question.
    [01:15] A: minutes:seconds works as well
    [-] an utterance explicitly without a time

The timestamp is ``H:MM:SS[.f]`` or ``MM:SS[.f]``, bracketed or bare, optionally a range (``start - end``,
``start --> end``). A speaker is a short label (at most three words, letters, digits, ``[]._'-``) before the
first ``": "``; anything longer stays part of the text. A line with no timestamp is an error naming the file
and line, unless ``untimed="none"`` (the utterance gets no time) or ``untimed="append"`` (it continues the
previous utterance, e.g. a transcript wrapped at a fixed width).

SRT (``.srt``): the usual numbered blocks, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, text lines joined by a space.

JSON (``.json``): a list of objects, or an object holding such a list under ``"utterances"`` or ``"segments"``
(the form speech-recognition tools write). Each object has ``text`` and a start (``start`` / ``start_s``,
seconds or a timestamp string), optionally ``end`` / ``end_s`` and ``speaker``; other keys are ignored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ..._files import write_text_atomic

__all__ = ["TRANSCRIPT_SUFFIXES", "Transcript", "TranscriptError", "Utterance", "format_timestamp",
           "parse_srt_transcript", "parse_text_transcript", "parse_timestamp", "read_transcript",
           "read_transcripts", "split_speaker", "write_transcript"]

TRANSCRIPT_SUFFIXES = (".txt", ".srt", ".json")
UNTIMED_CHOICES = ("error", "none", "append")


class TranscriptError(ValueError):
    """A transcript that cannot be read; the message names the file and line (or list index)."""


@dataclass(frozen=True)
class Utterance:
    """One line of the interview: times in seconds from the video's start (``None`` when unknown), the
    speaker's label when given, and the text."""

    start_s: Optional[float]
    end_s: Optional[float]
    speaker: Optional[str]
    text: str

    def __post_init__(self):
        for key in ("start_s", "end_s"):
            value = getattr(self, key)
            if value is not None:
                value = float(value)
                if not (math.isfinite(value) and value >= 0):
                    raise TranscriptError(f"{key}: expected a finite time >= 0 s, got {getattr(self, key)!r}")
                object.__setattr__(self, key, value)
        if self.end_s is not None and (self.start_s is None or self.end_s < self.start_s):
            raise TranscriptError(f"end_s: expected >= start_s ({self.start_s}), got {self.end_s}")
        if not isinstance(self.text, str):
            raise TranscriptError(f"text: expected a string, got {self.text!r}")

    def line(self) -> str:
        """The plain-text form (what :func:`write_transcript` writes and the prompts show)."""
        if self.start_s is None:
            stamp = "[-]"
        elif self.end_s is None:
            stamp = f"[{format_timestamp(self.start_s)}]"
        else:
            stamp = f"[{format_timestamp(self.start_s)} - {format_timestamp(self.end_s)}]"
        speaker = f"{self.speaker}: " if self.speaker else ""
        return f"{stamp} {speaker}{self.text}".rstrip()


@dataclass
class Transcript:
    """The utterances of one video, in file order; ``path`` is where they were read from (if anywhere)."""

    video: str
    utterances: List[Utterance] = field(default_factory=list)
    path: Optional[str] = None

    def text(self) -> str:
        return "\n".join(u.line() for u in self.utterances)

    def with_utterances(self, utterances: Sequence[Utterance]) -> Transcript:
        return replace(self, utterances=list(utterances))


_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_STAMP_BRACKET = re.compile(rf"^\[\s*(?P<start>{_TIME})\s*(?:(?:-|–|-->)\s*(?P<end>{_TIME})\s*)?\]\s*(?P<rest>.*)$")
_STAMP_BARE = re.compile(rf"^(?P<start>{_TIME})(?:\s*(?:-|–|-->)\s*(?P<end>{_TIME}))?(?:\s+(?P<rest>.*)|$)")
_UNTIMED_MARK = re.compile(r"^\[\s*-\s*\]\s*(?P<rest>.*)$")
_SPEAKER = re.compile(r"^(?P<speaker>[A-Za-z\[][\w\[\].'\-]*(?: [\w\[\].'\-]+){0,2}):\s+(?P<text>.*)$")
_SRT_TIMES = re.compile(r"^\s*(?P<start>\d{1,2}:\d{2}:\d{2}[,.]\d{1,3})\s*-->\s*"
                        r"(?P<end>\d{1,2}:\d{2}:\d{2}[,.]\d{1,3})")


def parse_timestamp(text: str, where: str = "timestamp") -> float:
    """Seconds from ``H:MM:SS[.f]`` / ``MM:SS[.f]`` (``,`` as the decimal mark too, as in SRT)."""
    parts = text.strip().replace(",", ".").split(":")
    try:
        if len(parts) == 3:
            h, m, s = int(parts[0]), int(parts[1]), float(parts[2])
        elif len(parts) == 2:
            h, m, s = 0, int(parts[0]), float(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise TranscriptError(f"{where}: expected H:MM:SS or MM:SS, got {text!r}") from None
    if (len(parts) == 3 and m >= 60) or s >= 60 or m < 0 or s < 0:
        raise TranscriptError(f"{where}: minutes and seconds must be below 60, got {text!r}")
    # Summed in whole microseconds: 60 + 27.204 in floats is 87.20400000000001, not the 87.204 a
    # transcript written with format_timestamp reads back as.
    return ((h * 3600 + m * 60) * 1_000_000 + round(s * 1_000_000)) / 1_000_000


def format_timestamp(seconds: float) -> str:
    """``HH:MM:SS`` with the fraction (up to milliseconds, trailing zeros dropped) when there is one."""
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, frac = divmod(rest, 1000)
    out = f"{h:02d}:{m:02d}:{s:02d}"
    if frac:
        out += ("." + f"{frac:03d}").rstrip("0")
    return out


def split_speaker(text: str) -> tuple[Optional[str], str]:
    """``("Q", "text")`` from ``"Q: text"``; ``(None, text)`` when the part before ``": "`` is not a short label."""
    m = _SPEAKER.match(text)
    if m:
        return m.group("speaker"), m.group("text").strip()
    return None, text.strip()


def _check_untimed(untimed: str) -> None:
    if untimed not in UNTIMED_CHOICES:
        raise ValueError(f"untimed: expected one of {UNTIMED_CHOICES}, got {untimed!r}")


def parse_text_transcript(text: str, video: str = "transcript", source: str = "<text>",
                          untimed: str = "error") -> Transcript:
    """A transcript from the plain-text form (module docstring); errors name ``source`` and the line."""
    _check_untimed(untimed)
    out: List[Utterance] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{number}"
        m = _STAMP_BRACKET.match(line) or _STAMP_BARE.match(line)
        if m:
            start = parse_timestamp(m.group("start"), where)
            end = parse_timestamp(m.group("end"), where) if m.group("end") else None
            rest = m.group("rest") or ""
        else:
            unmarked = _UNTIMED_MARK.match(line)
            if unmarked:
                start = end = None
                rest = unmarked.group("rest")
            elif untimed == "append" and out:
                prev = out[-1]
                out[-1] = replace(prev, text=f"{prev.text} {line}".strip())
                continue
            elif untimed == "none":
                start = end = None
                rest = line
            else:
                hint = ("" if untimed == "append" else
                        " (untimed='none' keeps such lines without a time, untimed='append' joins them to the "
                        "previous utterance)")
                raise TranscriptError(f"{where}: expected a timestamp such as [00:01:02] or 00:01:02.5 at the "
                                      f"start of the line, got {raw.strip()[:60]!r}{hint}")
        speaker, body = split_speaker(rest)
        try:
            out.append(Utterance(start, end, speaker, body))
        except TranscriptError as exc:
            raise TranscriptError(f"{where}: {exc}") from None
    return Transcript(video, out, None if source.startswith("<") else source)


def parse_srt_transcript(text: str, video: str = "transcript", source: str = "<srt>") -> Transcript:
    """A transcript from SRT subtitles; errors name ``source`` and the line of the offending block."""
    lines = text.lstrip("\ufeff").splitlines()
    out: List[Utterance] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        if lines[i].strip().isdigit():
            i += 1
        if i >= len(lines):
            raise TranscriptError(f"{source}:{block_start + 1}: expected a time line 'HH:MM:SS,mmm --> "
                                  f"HH:MM:SS,mmm' after the block number, got the end of the file")
        m = _SRT_TIMES.match(lines[i])
        if not m:
            raise TranscriptError(f"{source}:{i + 1}: expected a time line 'HH:MM:SS,mmm --> HH:MM:SS,mmm', "
                                  f"got {lines[i].strip()[:60]!r}")
        where = f"{source}:{i + 1}"
        start, end = parse_timestamp(m.group("start"), where), parse_timestamp(m.group("end"), where)
        i += 1
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        if not body:
            raise TranscriptError(f"{where}: the block has a time but no text")
        speaker, text_ = split_speaker(" ".join(body))
        try:
            out.append(Utterance(start, end, speaker, text_))
        except TranscriptError as exc:
            raise TranscriptError(f"{where}: {exc}") from None
    return Transcript(video, out, None if source.startswith("<") else source)


def _json_time(value: Any, where: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TranscriptError(f"{where}: expected seconds or a timestamp string, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return parse_timestamp(value, where)
    raise TranscriptError(f"{where}: expected seconds or a timestamp string, got {value!r}")


def parse_json_transcript(data: Any, video: str = "transcript", source: str = "<json>",
                          untimed: str = "error") -> Transcript:
    """A transcript from decoded JSON (module docstring); errors name ``source`` and the list index."""
    _check_untimed(untimed)
    rows = data
    if isinstance(data, Mapping):
        key = next((k for k in ("utterances", "segments") if k in data), None)
        if key is None:
            raise TranscriptError(f"{source}: expected a list of utterances or an object with 'utterances' or "
                                  f"'segments', got an object with keys {sorted(data)[:8]}")
        rows = data[key]
    if not isinstance(rows, list):
        raise TranscriptError(f"{source}: expected a list of utterances, got {type(rows).__name__}")
    out: List[Utterance] = []
    for i, row in enumerate(rows):
        where = f"{source}: [{i}]"
        if not isinstance(row, Mapping):
            raise TranscriptError(f"{where}: expected an object with 'text' and 'start', got {row!r:.60}")
        if not isinstance(row.get("text"), str):
            raise TranscriptError(f"{where}: text: expected a string, got {row.get('text')!r:.60}")
        start = _json_time(row.get("start", row.get("start_s")), f"{where}: start")
        end = _json_time(row.get("end", row.get("end_s")), f"{where}: end")
        if start is None and untimed == "error":
            raise TranscriptError(f"{where}: start: missing (give 'start' in seconds or as H:MM:SS, or pass "
                                  f"untimed='none')")
        if start is None and untimed == "append" and out:
            prev = out[-1]
            out[-1] = replace(prev, text=f"{prev.text} {row['text'].strip()}".strip())
            continue
        speaker = row.get("speaker")
        text_ = " ".join(row["text"].split())  # one line per utterance in the prompts and the plain-text form
        if speaker is None:
            speaker, text_ = split_speaker(text_)
        try:
            out.append(Utterance(start, end, None if speaker is None else str(speaker), text_))
        except TranscriptError as exc:
            raise TranscriptError(f"{where}: {exc}") from None
    return Transcript(video, out, None if source.startswith("<") else source)


def read_transcript(path: Union[str, Path], untimed: str = "error", video: Optional[str] = None) -> Transcript:
    """One transcript file, its form chosen by the suffix (``.txt``, ``.srt``, ``.json``); ``video`` defaults to
    the file's stem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"transcript: {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in TRANSCRIPT_SUFFIXES:
        raise TranscriptError(f"{path}: expected a transcript ending in {', '.join(TRANSCRIPT_SUFFIXES)}, "
                              f"got {suffix or 'no suffix'!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    name = video or path.stem
    if suffix == ".srt":
        return parse_srt_transcript(text, name, str(path))
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        return parse_json_transcript(data, name, str(path), untimed)
    return parse_text_transcript(text, name, str(path), untimed)


def read_transcripts(paths: Iterable[Union[str, Path]], untimed: str = "error") -> Dict[str, Transcript]:
    """Transcripts from files and folders, keyed by video name. A folder gives every file in it with a transcript
    suffix, not recursively, except names starting with ``_`` or ``.`` (reports such as ``_mask_report.json``,
    temporary files). Two files of the same video are an error naming both."""
    out: Dict[str, Transcript] = {}
    for item in paths:
        item = Path(item)
        if item.is_dir():
            files = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES
                           and not p.name.startswith(("_", ".")))
            if not files:
                raise FileNotFoundError(f"transcripts: {item} holds no file ending in {', '.join(TRANSCRIPT_SUFFIXES)}")
        elif item.exists():
            files = [item]
        else:
            raise FileNotFoundError(f"transcripts: {item} does not exist")
        for path in files:
            transcript = read_transcript(path, untimed)
            if transcript.video in out:
                raise TranscriptError(f"transcripts: video {transcript.video!r} comes from both "
                                      f"{out[transcript.video].path} and {path}")
            out[transcript.video] = transcript
    return out


def write_transcript(path: Union[str, Path], transcript: Transcript, header: Optional[str] = None) -> Path:
    """The plain-text form, written atomically; ``header`` becomes ``#`` comment lines at the top."""
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    lines += [u.line() for u in transcript.utterances]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def transcript_to_dict(transcript: Transcript) -> Dict[str, Any]:
    return {"video": transcript.video, "utterances": [
        {"start_s": u.start_s, "end_s": u.end_s, "speaker": u.speaker, "text": u.text} for u in transcript.utterances]}
