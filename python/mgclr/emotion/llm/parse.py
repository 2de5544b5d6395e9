"""Reading model answers: win/lose confidences, the MGs an answer cites, and probe answers' valence.

Real models do not always answer in the JSON they were asked for, so :func:`parse_prediction` tries, in order:

1. a JSON object anywhere in the text (prose and code fences around it are fine; single quotes, trailing commas
   and Python literals are repaired): ``{"win": 70, "lose": 30}``, ``{"prediction": "lose", "confidence":
   {"win": 20, "lose": 80}}``, ``{"outcome": "win", "confidence": 0.8}``, ``{"probabilities": [{"outcome":
   "win", "p": 0.6}, ...]}``, nested one level or more;
2. a Markdown table, a row per outcome (``| Win | 70% |``) or a column per outcome (``| Win | Lose |`` then
   ``| 70 | 30 |``);
3. prose: ``Win: 65%, Lose: 35%``, ``a 65% chance that the player won`` -- a number counts only with a ``%`` or
   after ``:`` / ``=``, so "won 3 sets" is not read as a confidence.

Confidences given as fractions (summing to about 1) become percentages; a single confidence is completed to
100; a pair summing to 50..150 is rescaled to 100 (``normalised`` is set and ``notes`` says so); anything else
-- negative, over 100, no number, a sum far from 100 -- is a :class:`ParseError`. The outcome is the larger
confidence; a 50/50 answer without a stated prediction has ``outcome=None`` (it abstains).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

__all__ = ["VALENCES", "ParseError", "Prediction", "ProbeAnswer", "normalise_mg_name", "parse_cited_mgs",
           "parse_prediction", "parse_probe_answer"]

VALENCES = ("positive", "negative", "neutral")


class ParseError(ValueError):
    """An answer from which no prediction could be read; the message says what was looked for and shows the
    start of the answer (the full text stays in the result record)."""


@dataclass
class Prediction:
    """A parsed win/lose answer.

    Attributes:
        outcome: ``"win"`` / ``"lose"`` (the larger confidence), or None for a 50/50 answer stating neither.
        win, lose: confidences in percent, summing to 100.
        form: where they were found: ``"json"``, ``"table"`` or ``"prose"``.
        normalised: the confidences as given did not sum to 100 (``notes`` says what was done).
        given: the two numbers as found (None for one that was not given).
        stated: an outcome the answer stated in words/fields, if any (it may disagree; ``notes`` says so).
        cited_mgs: MG names of the timeline the answer cites (see :func:`parse_cited_mgs`).
        unmatched_mgs: gestures the answer lists that are not in the timeline.
    """

    outcome: Optional[str]
    win: float
    lose: float
    form: str
    normalised: bool = False
    given: Tuple[Optional[float], Optional[float]] = (None, None)
    stated: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    cited_mgs: List[str] = field(default_factory=list)
    unmatched_mgs: List[str] = field(default_factory=list)

    def confidence(self, outcome: str) -> float:
        return self.win if outcome == "win" else self.lose

    def as_dict(self) -> Dict[str, Any]:
        return {"outcome": self.outcome, "win": self.win, "lose": self.lose, "form": self.form,
                "normalised": self.normalised, "given": list(self.given), "stated": self.stated,
                "notes": list(self.notes), "cited_mgs": list(self.cited_mgs), "unmatched_mgs": list(self.unmatched_mgs)}


_WIN_WORDS = ("win", "wins", "won", "winning", "winner", "victory", "victorious")
_LOSE_WORDS = ("lose", "loses", "lost", "losing", "loser", "loss", "defeat", "defeated")
_OUTCOME_RE = "|".join(sorted(_WIN_WORDS + _LOSE_WORDS, key=len, reverse=True))
_NUMBER = r"(\d{1,3}(?:\.\d+)?|\.\d+)"


def _outcome_word(text: Any) -> Optional[str]:
    """'win' / 'lose' from a field value or cell such as "Won", "**lose**", "the player lost"; None otherwise."""
    if not isinstance(text, str):
        return None
    words = re.findall(r"[a-z]+", text.lower())
    found = {("win" if w in _WIN_WORDS else "lose") for w in words if w in _WIN_WORDS or w in _LOSE_WORDS}
    return found.pop() if len(found) == 1 else None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*" + _NUMBER + r"\s*(%|percent)?\s*", value)
        if m:
            return float(m.group(1))
    return None


# ------------------------------------------------------------------------------------------------ JSON finding

def _balanced(text: str, start: int) -> Optional[str]:
    """The ``{...}`` starting at ``start`` by brace counting (quotes respected), or None when unclosed."""
    depth, quote, escaped = 0, None, False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


def _repair(snippet: str) -> str:
    fixed = re.sub(r",\s*([}\]])", r"\1", snippet)
    fixed = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", fixed)))
    if '"' not in fixed:
        fixed = fixed.replace("'", '"')
    # unquoted keys ({win: 70}) as some small models write them
    return re.sub(r"([{,]\s*)([A-Za-z_][\w ]*?)\s*:", r'\1"\2":', fixed)


def json_objects(text: str) -> Iterator[Any]:
    """Every top-level JSON object in ``text`` (outside the ones already returned), repaired when needed."""
    decoder = json.JSONDecoder()
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            return
        try:
            obj, end = decoder.raw_decode(text, i)
            yield obj
            i = end
            continue
        except json.JSONDecodeError:
            pass
        snippet = _balanced(text, i)
        if snippet is not None:
            try:
                yield json.loads(_repair(snippet))
                i += len(snippet)
                continue
            except json.JSONDecodeError:
                pass
        i += 1


_STATED_KEYS = ("prediction", "predicted", "outcome", "answer", "result", "verdict", "label", "decision",
                "predicted_outcome", "final_answer", "match_result", "choice")
_NESTED_KEYS = ("confidence", "confidences", "probability", "probabilities", "scores", "score", "likelihood",
                "likelihoods", "percentages", "distribution")
_VALUE_KEYS = ("confidence", "probability", "prob", "p", "score", "value", "percent", "percentage", "likelihood")


def _key(k: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(k).strip().lower())


def _from_mapping(obj: Mapping[str, Any]) -> Tuple[Optional[float], Optional[float], Optional[str]]:
    """(win, lose, stated) from one JSON object, looking one or more levels deep."""
    win = lose = None
    stated = None
    single = None
    for k, v in obj.items():
        key = _key(k)
        if key in _STATED_KEYS and isinstance(v, str):
            stated = stated or _outcome_word(v)
            continue
        if isinstance(v, Mapping):
            w, lo, s = _from_mapping(v)
            win, lose = (win if win is not None else w), (lose if lose is not None else lo)
            stated = stated or s
            continue
        if isinstance(v, list):
            w, lo = _from_list(v)
            win, lose = (win if win is not None else w), (lose if lose is not None else lo)
            continue
        number = _number(v)
        if number is None:
            continue
        side = _outcome_word(key.replace("_", " "))
        if side == "win" and win is None:
            win = number
        elif side == "lose" and lose is None:
            lose = number
        elif side is None and key in _VALUE_KEYS:
            single = number
    if single is not None and stated is not None and win is None and lose is None:
        # {"prediction": "lose", "confidence": 80}: the number belongs to the stated outcome
        win, lose = (single, None) if stated == "win" else (None, single)
    return win, lose, stated


def _from_list(rows: Sequence[Any]) -> Tuple[Optional[float], Optional[float]]:
    win = lose = None
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        side = None
        number = None
        for k, v in row.items():
            key = _key(k)
            if isinstance(v, str) and key in _STATED_KEYS + ("name", "class", "option"):
                side = side or _outcome_word(v)
            elif key in _VALUE_KEYS:
                number = _number(v)
        if side == "win" and win is None:
            win = number
        elif side == "lose" and lose is None:
            lose = number
    return win, lose


# ------------------------------------------------------------------------------------------ tables and prose

def _from_table(text: str) -> Tuple[Optional[float], Optional[float]]:
    rows = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|") and s.count("|") >= 2:
            cells = [c.strip().strip("*_` ").strip() for c in s.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            rows.append(cells)
    win = lose = None
    for cells in rows:  # a row per outcome
        side = next((_outcome_word(c) for c in cells if _outcome_word(c)), None)
        numbers = [n for n in (_number(c) for c in cells) if n is not None]
        if side and numbers:
            if side == "win" and win is None:
                win = numbers[0]
            elif side == "lose" and lose is None:
                lose = numbers[0]
    if win is None and lose is None:  # a column per outcome: a header row, then a row of numbers
        for header, values in zip(rows, rows[1:]):
            sides = [_outcome_word(c) for c in header]
            if "win" in sides or "lose" in sides:
                for side, cell in zip(sides, values):
                    number = _number(cell)
                    if side == "win" and number is not None and win is None:
                        win = number
                    elif side == "lose" and number is not None and lose is None:
                        lose = number
    return win, lose


_PROSE_AFTER_SEP = re.compile(  # "Win: 65%", "**Lose:** 35", "win probability = 0.7"
    rf"\b(?P<word>{_OUTCOME_RE})\b\**[ \t]*(?:\((?:confidence|probability)\))?[ \t]*"
    rf"(?:confidence|probability|chance|likelihood)?[ \t]*\**[ \t]*[:=][^\d\n%]{{0,25}}?{_NUMBER}", re.IGNORECASE)
_PROSE_AFTER_NEAR = re.compile(  # "lost (confidence 80%)", "win 65%": a percentage right after the word
    rf"\b(?P<word>{_OUTCOME_RE})\b[ \t]*\(?[ \t]*(?:(?:with|at|of|is|a|an|confidence|probability|chance|likelihood)"
    rf"[ \t]+)*{_NUMBER}[ \t]*(?:%|percent)", re.IGNORECASE)
_PROSE_BEFORE = re.compile(  # "65% win", "a 30% chance the player won"
    rf"{_NUMBER}[ \t]*(?:%|percent)[ \t]*(?:(?:confidence|probability|chance|likelihood|likely|sure|certain)[ \t]+)?"
    rf"(?:(?:of|that|for|in|on)[ \t]+)?(?:(?:a|the|player|he|she|they|has|have|had)[ \t]+){{0,3}}"
    rf"(?P<word>{_OUTCOME_RE})\b", re.IGNORECASE)


def _from_prose(text: str) -> Tuple[Optional[float], Optional[float]]:
    found: Dict[str, Tuple[int, float]] = {}
    for pattern in (_PROSE_AFTER_SEP, _PROSE_AFTER_NEAR, _PROSE_BEFORE):
        for m in pattern.finditer(text):
            side = "win" if m.group("word").lower() in _WIN_WORDS else "lose"
            number = float(m.group(2) if pattern is not _PROSE_BEFORE else m.group(1))
            if side not in found or found[side][0] < m.start():  # the last mention wins: models conclude at the end
                found[side] = (m.start(), number)
    return (found["win"][1] if "win" in found else None), (found["lose"][1] if "lose" in found else None)


def _stated_in_prose(text: str) -> Optional[str]:
    m = re.search(r"\b(?:prediction|answer|verdict|outcome|result)\s*[:=]\s*\**\s*(?:the player\s+)?([a-z]+)",
                  text, re.IGNORECASE)
    return _outcome_word(m.group(1)) if m else None


# -------------------------------------------------------------------------------------------------- finishing

def _finish(win: Optional[float], lose: Optional[float], stated: Optional[str], form: str,
            excerpt: str) -> Prediction:
    given = (win, lose)
    notes: List[str] = []
    for name, value in (("win", win), ("lose", lose)):
        if value is not None and value < 0:
            raise ParseError(f"confidence {name}={value}: expected a value in 0..100 ({excerpt})")
    if win is not None and lose is not None and 0 < win + lose <= 1.05 and max(win, lose) <= 1:
        win, lose = 100 * win, 100 * lose
        notes.append("confidences were fractions; multiplied by 100")
    elif (win is None) != (lose is None):
        value = win if win is not None else lose
        if value < 1 and value != 0:
            value *= 100
            notes.append("confidence was a fraction; multiplied by 100")
        if value > 100:
            raise ParseError(f"confidence {value}: expected a value in 0..100 ({excerpt})")
        other = 100 - value
        notes.append(f"only the {'win' if win is not None else 'lose'} confidence was given; the other is 100 minus it")
        win, lose = (value, other) if win is not None else (other, value)
    for name, value in (("win", win), ("lose", lose)):
        if value > 100:
            raise ParseError(f"confidence {name}={value}: expected a value in 0..100 ({excerpt})")
    total = win + lose
    normalised = False
    if abs(total - 100) > 0.5:
        if not 50 <= total <= 150:
            raise ParseError(f"confidences win={win:g}, lose={lose:g} sum to {total:g}; expected about 100 "
                             f"(50..150 is rescaled) ({excerpt})")
        win, lose = 100 * win / total, 100 * lose / total
        normalised = True
        notes.append(f"confidences summed to {total:g}; rescaled to 100")
    outcome = "win" if win > lose else "lose" if lose > win else stated
    if stated is not None and outcome is not None and stated != outcome:
        notes.append(f"the answer states '{stated}' but its confidences favour '{outcome}'; the confidences decide")
    return Prediction(outcome, round(win, 4), round(lose, 4), form, normalised, given, stated, notes)


def _excerpt(text: str, n: int = 80) -> str:
    flat = " ".join(text.split())
    return f"the answer starts {flat[:n]!r}" if flat else "the answer is empty"


def parse_prediction(text: Optional[str], mg_names: Optional[Sequence[str]] = None) -> Prediction:
    """The win/lose confidences of an answer (module docstring), and, given the timeline's MG names, the ones
    it cites. Raises :class:`ParseError` when none can be read."""
    if text is None or not text.strip():
        raise ParseError("the answer is empty")
    excerpt = _excerpt(text)
    stated_only = None
    for obj in json_objects(text):
        if isinstance(obj, Mapping):
            win, lose, stated = _from_mapping(obj)
        elif isinstance(obj, list):
            (win, lose), stated = _from_list(obj), None
        else:
            continue
        if win is not None or lose is not None:
            pred = _finish(win, lose, stated, "json", excerpt)
            break
        stated_only = stated_only or stated
    else:
        win, lose = _from_table(text)
        form = "table"
        if win is None and lose is None:
            win, lose = _from_prose(text)
            form = "prose"
        if win is None and lose is None:
            if stated_only:
                raise ParseError(f"the answer states '{stated_only}' but gives no confidences ({excerpt})")
            raise ParseError(f"no win/lose confidences found: looked for a JSON object with win/lose numbers, a "
                             f"Markdown table and 'Win: NN%' in prose ({excerpt})")
        pred = _finish(win, lose, stated_only or _stated_in_prose(text), form, excerpt)
    if mg_names:
        pred.cited_mgs, pred.unmatched_mgs = parse_cited_mgs(text, mg_names)
    return pred


# ---------------------------------------------------------------------------------------------- cited MGs

def normalise_mg_name(name: str) -> str:
    """Lower case, runs of spaces / underscores / hyphens as one space: how MG names are compared."""
    return " ".join(re.sub(r"[_\-\s]+", " ", str(name)).lower().split())


def _listed_gestures(obj: Any) -> Optional[List[str]]:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            key = _key(k)
            if ("gesture" in key or key in ("mgs", "mg", "mgs_used", "cues", "evidence")) and isinstance(v, list):
                items = []
                for item in v:
                    if isinstance(item, str):
                        items.append(item)
                    elif isinstance(item, Mapping):
                        name = next((item[n] for n in ("mg", "name", "gesture", "micro_gesture") if n in item), None)
                        if isinstance(name, str):
                            items.append(name)
                return items
            inner = _listed_gestures(v) if isinstance(v, Mapping) else None
            if inner is not None:
                return inner
    return None


def parse_cited_mgs(text: str, mg_names: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(cited, unmatched): the MGs of ``mg_names`` an answer relies on, as spelt in ``mg_names``, in the answer's
    order. A JSON list under a key naming gestures (``micro_gestures_used``, ``mgs``, ...) is used when present;
    its items not in ``mg_names`` are returned as ``unmatched``. Without one, every name mentioned in the text
    counts. Names compare case-, underscore- and hyphen-insensitively (:func:`normalise_mg_name`)."""
    canonical = {normalise_mg_name(n): n for n in mg_names}
    listed = None
    for obj in json_objects(text or ""):
        listed = _listed_gestures(obj)
        if listed is not None:
            break
    cited: List[str] = []
    unmatched: List[str] = []
    if listed is not None:
        for item in listed:
            key = normalise_mg_name(item)
            if key in canonical:
                if canonical[key] not in cited:
                    cited.append(canonical[key])
            elif item.strip() and item not in unmatched:
                unmatched.append(item)
        return cited, unmatched
    flat = normalise_mg_name(text or "")
    positions = []
    for key, name in canonical.items():
        m = re.search(r"(?<!\w)" + re.escape(key) + r"(?!\w)", flat)
        if m:
            positions.append((m.start(), name))
    return [name for _, name in sorted(positions)], []


# -------------------------------------------------------------------------------------------------- probes

_VALENCE_SYNONYMS = {
    "positive": ("positive", "happy", "happiness", "joy", "joyful", "confident", "confidence", "pride", "proud",
                 "excited", "excitement", "enthusiasm", "enthusiastic", "satisfied", "satisfaction", "pleased",
                 "relief", "relieved", "optimism", "optimistic", "content", "contentment", "agreement", "approval",
                 "comfortable", "elation", "triumphant", "eager", "anticipation"),
    "negative": ("negative", "anxious", "anxiety", "nervous", "nervousness", "stress", "stressed", "tension", "tense",
                 "uncertain", "uncertainty", "insecure", "insecurity", "discomfort", "uncomfortable", "frustration",
                 "frustrated", "anger", "angry", "sad", "sadness", "disappointment", "disappointed", "defensive",
                 "defensiveness", "shame", "embarrassment", "embarrassed", "fear", "afraid", "worry", "worried",
                 "doubt", "impatience", "impatient", "unease", "uneasy", "distress", "resignation", "annoyance"),
    "neutral": ("neutral", "ambiguous", "mixed", "unclear", "calm", "thinking", "thoughtful", "concentration",
                "contemplation", "pensive", "indifferent", "indifference", "attentive", "habitual"),
}
_SYNONYM_TO_VALENCE = {w: v for v, words in _VALENCE_SYNONYMS.items() for w in words}
_NEGATED = re.compile(r"(?:\bnot|n't|\bnor|\bneither|\brather than|\binstead of)\s+(?:\w+\s+)?$", re.IGNORECASE)


@dataclass
class ProbeAnswer:
    """A parsed probe answer: ``valence`` one of :data:`VALENCES` or None (unparsed); ``matched`` says how it was
    read (``"json"``, ``"label"``, ``"word"``, ``"synonym:<word>"``)."""

    valence: Optional[str]
    emotion: Optional[str] = None
    reason: Optional[str] = None
    matched: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return {"valence": self.valence, "emotion": self.emotion, "reason": self.reason, "matched": self.matched}


def _valence_of(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    word = value.strip().strip(".!*\"'").lower()
    if word in VALENCES:
        return word
    return _SYNONYM_TO_VALENCE.get(word)


def _first_word(text: str, words: Sequence[str]) -> Optional[Tuple[int, str]]:
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)
    for m in pattern.finditer(text):
        if _NEGATED.search(text[max(0, m.start() - 30):m.start()]):
            continue
        return m.start(), m.group(1).lower()
    return None


def parse_probe_answer(text: Optional[str]) -> ProbeAnswer:
    """positive / negative / neutral from a free answer to a probe: a JSON field (``valence``, ``sentiment``,
    ``answer``, ...), a line such as ``Valence: negative``, the first of the three words (not negated), or else the
    first emotion word with a known valence (``anxiety`` -> negative). ``valence=None`` when none is found."""
    text = text or ""
    for obj in json_objects(text):
        if not isinstance(obj, Mapping):
            continue
        fields = {_key(k): v for k, v in obj.items()}
        emotion = fields.get("emotion") if isinstance(fields.get("emotion"), str) else None
        reason = fields.get("reason") if isinstance(fields.get("reason"), str) else None
        for key in ("valence", "sentiment", "polarity", "answer", "label", "category", "classification"):
            valence = _valence_of(fields.get(key))
            if valence:
                return ProbeAnswer(valence, emotion, reason, "json")
        if emotion and _valence_of(emotion):
            return ProbeAnswer(_valence_of(emotion), emotion, reason, f"synonym:{emotion.lower()}")
    m = re.search(r"\b(?:valence|answer|sentiment|polarity|category)\s*\**\s*[:=]\s*\**\s*"
                  r"(positive|negative|neutral)\b", text, re.IGNORECASE)
    if m:
        return ProbeAnswer(m.group(1).lower(), None, text.strip()[:200] or None, "label")
    hit = _first_word(text, VALENCES)
    if hit:
        return ProbeAnswer(hit[1], None, text.strip()[:200] or None, "word")
    hit = _first_word(text, list(_SYNONYM_TO_VALENCE))
    if hit:
        return ProbeAnswer(_SYNONYM_TO_VALENCE[hit[1]], hit[1], text.strip()[:200] or None, f"synonym:{hit[1]}")
    return ProbeAnswer(None, None, text.strip()[:200] or None, "")
