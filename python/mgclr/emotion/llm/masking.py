"""Masking, second half: reading a model's masked rows back, and checking what still leaks the outcome.

:func:`~mgclr.emotion.llm.prompts.mask_request` asks for one row per utterance, ``#<n> [<timestamp>] <text>``.
:func:`parse_mask_answer` finds those rows anywhere in the answer (prose, code fences, Markdown bullets or bold
around them are tolerated), matches them to the original utterances by row number -- by timestamp, in order,
when the model dropped the numbers -- and keeps the *original* times (a timestamp the model changed is noted,
not trusted). Missing, duplicated or unknown rows are a :class:`MaskParseError` naming them.

:func:`check_leakage` lists the rows that still name the outcome: whole words (case-insensitive) from
:data:`OUTCOME_WORDS` plus any extra words (e.g. the players' names), so a rerun or a human can fix them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .transcript import Transcript, TranscriptError, Utterance, format_timestamp, parse_timestamp, split_speaker

__all__ = ["EMOTION_WORDS", "OUTCOME_WORDS", "LeakHit", "MaskParseError", "MaskResult", "check_leakage",
           "parse_mask_answer"]

# words that name or imply the result of a match; matched as whole words, any case
OUTCOME_WORDS: Tuple[str, ...] = (
    "win", "wins", "winning", "winner", "winners", "won",
    "lose", "loses", "losing", "loser", "losers", "lost", "loss", "losses",
    "victory", "victories", "victorious", "defeat", "defeats", "defeated",
    "beat", "beats", "beaten", "beating", "champion", "champions", "championship", "title", "trophy",
    "triumph", "eliminated", "knocked out", "runner-up", "go through", "went through", "going home",
)
# feelings named outright: not outcome leakage as such, but what the masking also hides (opt-in in the check)
EMOTION_WORDS: Tuple[str, ...] = (
    "happy", "happier", "happiest", "glad", "delighted", "thrilled", "excited", "proud", "pleased", "relieved",
    "joy", "ecstatic", "satisfied", "sad", "unhappy", "disappointed", "disappointing", "disappointment",
    "frustrated", "frustrating", "frustration", "angry", "upset", "devastated", "gutted", "heartbroken",
    "annoyed", "miserable", "depressed",
)

_ROW = re.compile(r"^\s*(?:[-*+>]\s+|\d+[.)]\s+)?(?:\*\*|__)?\s*#\s*(?P<n>\d+)\s*(?:\*\*|__)?\s*[:.)-]?\s*"
                  r"(?:\[\s*(?P<stamp>[^\]]*?)\s*\])?\s*(?P<text>.*?)\s*$")
_STAMPED = re.compile(r"^\s*(?:[-*+>]\s+)?\[\s*(?P<stamp>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?|-)\s*\]"
                      r"\s*(?P<text>.*?)\s*$")


class MaskParseError(ValueError):
    """A masking answer whose rows cannot be matched to the transcript; the message names the missing rows."""


@dataclass
class MaskResult:
    """The masked transcript of one video and what was noticed on the way: row numbers whose timestamp the model
    changed (the original time is kept) and whether rows were matched by timestamp instead of number."""

    transcript: Transcript
    changed_timestamps: List[int] = field(default_factory=list)
    matched_by: str = "number"


@dataclass(frozen=True)
class LeakHit:
    """Row ``row`` (1-based, as in the masking request), starting at ``start_s``, still has ``words``."""

    row: int
    start_s: Optional[float]
    words: Tuple[str, ...]
    text: str

    def as_dict(self) -> Dict[str, object]:
        return {"row": self.row, "start_s": self.start_s, "words": list(self.words), "text": self.text}


def _strip_fences(text: str) -> str:
    # fences only wrap the rows; dropping the fence lines keeps every row line intact
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("```"))


def _same_time(stamp: str, original: Optional[float]) -> bool:
    if original is None:
        return stamp.strip() in ("", "-")
    try:
        return abs(parse_timestamp(stamp) - original) < 0.0015
    except TranscriptError:
        return False


def _masked_utterance(original: Utterance, text: str) -> Utterance:
    # the speaker label was part of the row's text, and may itself have been masked (e.g. "[NAME]: ...")
    # a label the model dropped is not put back: it could be a name the masking was meant to hide
    speaker, body = split_speaker(text)
    return replace(original, speaker=speaker, text=body)


def parse_mask_answer(answer: str, transcript: Transcript) -> MaskResult:
    """The masked :class:`Transcript` from a model's answer to :func:`~mgclr.emotion.llm.prompts.mask_request`."""
    n_rows = len(transcript.utterances)
    lines = _strip_fences(answer).splitlines()
    numbered: Dict[int, Tuple[Optional[str], str]] = {}
    duplicates, unknown = [], []
    for line in lines:
        m = _ROW.match(line)
        if not m:
            continue
        n = int(m.group("n"))
        if not 1 <= n <= n_rows:
            unknown.append(n)
            continue
        if n in numbered:
            duplicates.append(n)
            continue
        numbered[n] = (m.group("stamp"), m.group("text"))
    where = f"masked answer for {transcript.video}"
    if duplicates:
        raise MaskParseError(f"{where}: rows {sorted(set(duplicates))} appear more than once")
    if numbered:
        missing = [n for n in range(1, n_rows + 1) if n not in numbered]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"rows {_ranges(missing)} missing (got {len(numbered)} of {n_rows})")
            if unknown:
                parts.append(f"rows {sorted(set(unknown))} are not in the transcript (it has rows 1..{n_rows})")
            raise MaskParseError(f"{where}: " + "; ".join(parts))
        changed, out = [], []
        for n, original in enumerate(transcript.utterances, 1):
            stamp, text = numbered[n]
            if stamp is not None and not _same_time(stamp, original.start_s):
                changed.append(n)
            out.append(_masked_utterance(original, text))
        return MaskResult(transcript.with_utterances(out), changed, "number")
    # no row numbers: fall back to the timestamps, which must then come in the transcript's order
    stamped = [(_m.group("stamp"), _m.group("text")) for _m in map(_STAMPED.match, lines) if _m]
    if len(stamped) != n_rows:
        raise MaskParseError(f"{where}: expected {n_rows} rows of the form #<n> [<timestamp>] <text>, found "
                             f"{len(stamped)} timestamped lines and no numbered row"
                             + (f"; the answer starts {answer.strip()[:80]!r}" if answer.strip() else "; it is empty"))
    out = []
    for n, (original, (stamp, text)) in enumerate(zip(transcript.utterances, stamped), 1):
        if not _same_time(stamp, original.start_s):
            expected = "-" if original.start_s is None else format_timestamp(original.start_s)
            raise MaskParseError(f"{where}: without row numbers the rows are matched by timestamp, but line {n} "
                                 f"has [{stamp}] where row {n} is at [{expected}]")
        out.append(_masked_utterance(original, text))
    return MaskResult(transcript.with_utterances(out), [], "timestamp")


def _ranges(numbers: Sequence[int]) -> str:
    out, start, prev = [], None, None
    for n in list(numbers) + [None]:
        if start is None:
            start = prev = n
        elif n is not None and n == prev + 1:
            prev = n
        else:
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = n
    return ", ".join(out)


def word_pattern(words: Iterable[str]) -> Optional[re.Pattern[str]]:
    """One case-insensitive whole-word pattern for ``words`` (phrases allowed); None for no words."""
    parts = []
    for w in sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True):
        # spaces in a phrase match any run of whitespace; lookarounds instead of \b so "runner-up" and names
        # ending in punctuation match as whole words, and "won't" is not the word "won"
        parts.append(r"\s+".join(re.escape(p) for p in w.split()))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?<!\w')(?:" + "|".join(parts) + r")(?!\w)(?!'\w)", re.IGNORECASE)


def check_leakage(transcript: Union[Transcript, Sequence[Utterance]], extra_words: Iterable[str] = (),
                  include_emotion_words: bool = False) -> List[LeakHit]:
    """The rows that still name the outcome (:data:`OUTCOME_WORDS`), or any of ``extra_words`` (names,
    tournaments, ...), or -- with ``include_emotion_words`` -- an :data:`EMOTION_WORDS` entry. Each hit lists the
    words as found (lower-cased, in order, without repeats); an empty list means nothing was found."""
    utterances = transcript.utterances if isinstance(transcript, Transcript) else list(transcript)
    words = list(OUTCOME_WORDS) + list(extra_words) + (list(EMOTION_WORDS) if include_emotion_words else [])
    pattern = word_pattern(words)
    hits = []
    for n, u in enumerate(utterances, 1):
        text = f"{u.speaker}: {u.text}" if u.speaker else u.text
        found: List[str] = []
        for m in pattern.finditer(text):
            word = " ".join(m.group(0).lower().split())
            if word not in found:
                found.append(word)
        if found:
            hits.append(LeakHit(n, u.start_s, tuple(found), text))
    return hits
