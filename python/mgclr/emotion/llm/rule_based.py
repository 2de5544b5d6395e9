"""An offline stand-in for a model: hand-written valence rules that answer the protocol's requests.

**This is a demo and test backend, not a language model and not a baseline from the paper.** It lets the whole
pipeline (mask -> infer -> report, probes) run without a network or a GPU, deterministically, and it answers
in the forms a model is asked for, so the parsers and reports see realistic text.

It reads only what a model would read -- the request's messages -- and finds its inputs by the tags the
prompts put around them (``<transcript>``, ``<micro_gestures>``, ``<micro_gesture>``):

* **infer**: a text score from a small word-valence list over the (masked) transcript, plus, in ``text+mg``
  mode, an MG score from :func:`mg_valence` over the timeline's gestures; ``p(win)`` is a logistic of their
  weighted sum. With ``temperature > 0`` a deterministic perturbation drawn from a hash of the request (seed
  and repeat index included) is added, so repeats differ the way sampled answers do and reruns reproduce.
  It answers ``{"win", "lose", "micro_gestures_used", "reason"}`` and cites the gestures that pushed towards
  its answer.
* **probe**: the sign of :func:`mg_valence` (``|v| < 0.15`` is neutral), with the rule that decided.
* **mask**: outcome words -> ``[OUTCOME]``, feelings -> ``[EMOTION]``, scores (``6-4``) -> ``[OUTCOME]``, the
  words asked to be hidden and capitalised words inside a sentence -> ``[NAME]``. Crude on purpose; real
  transcripts should be masked by a model and checked with :func:`~mgclr.emotion.llm.masking.check_leakage`.

The valences are guesses from the body-language literature's usual readings (self-touch and closed postures
as discomfort, nods and open postures as ease), not measured.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .backend import ChatBackend, LLMError
from .masking import EMOTION_WORDS, OUTCOME_WORDS, word_pattern
from .parse import normalise_mg_name
from .prompts import ChatRequest, extract_section
from .transcript import split_speaker

__all__ = ["MG_VALENCE", "RULES_VERSION", "TEXT_VALENCE", "RuleBasedBackend", "mg_valence", "text_valence"]

RULES_VERSION = 1

# MG class -> valence in [-1, 1]; covers the synthetic demo's classes
MG_VALENCE: Dict[str, float] = {
    "scratch head": -0.5, "touch neck": -0.4, "touch jaw": -0.3, "touch nose": -0.35, "touch ear": -0.3,
    "rub hands": 0.25, "cross fingers": -0.15, "fold arms": -0.5, "shrug": -0.3, "nod": 0.45,
    "tap fingers": -0.25, "lean back": 0.4,
}
# what each lexicon entry is taken to show (the probe answer's "emotion")
_LEXICON_READING: Dict[str, str] = {
    "scratch head": "uncertainty", "touch neck": "stress", "touch jaw": "tension", "touch nose": "discomfort",
    "touch ear": "unease", "rub hands": "anticipation", "cross fingers": "anxious hope", "fold arms": "defensiveness",
    "shrug": "resignation", "nod": "agreement", "tap fingers": "impatience", "lean back": "ease",
}

# (pattern over the normalised name, valence, what it stands for) -- first match wins
_KEYWORD_RULES: Sequence[Tuple[str, float, str]] = (
    (r"\b(smil|laugh|grin)", 0.6, "smiling: enjoyment"),
    (r"\b(nod)", 0.45, "nodding: agreement, ease"),
    (r"\b(fold|cross)\w* arms?\b|\barms? (folded|crossed)", -0.5, "closed arms: defensiveness"),
    (r"\b(shak\w*|turn\w*) head|\bhead shak", -0.35, "head shake: denial"),
    (r"\bscratch", -0.4, "scratching: uncertainty, frustration"),
    (r"\bsigh|\bexhal", -0.4, "sighing: disappointment, fatigue"),
    (r"\bshrug", -0.3, "shrug: resignation"),
    (r"\b(bow|lower|drop|hang)\w* head|\blook\w* down|\bcover\w* (face|eyes|mouth)", -0.4, "hiding: shame"),
    (r"\b(tap|drum|fidget|bounc|jiggl|shak)\w*", -0.25, "restless movement: impatience, tension"),
    (r"\b(bite|biting|lick|purse|press)\w* lips?\b", -0.35, "lip movement: suppressed tension"),
    (r"\b(clench|fist)", -0.2, "clenching: tension"),
    (r"\blean\w* back|\bopen (arms|palms|hands)|\bspread\w* (arms|legs)|\bstretch", 0.35, "open posture: ease"),
    (r"\brub\w* hands|\bhands? rub", 0.25, "rubbing hands: anticipation"),
    (r"\b(touch|rub|stroke|pinch|pull|hold|grab|cover|play)\w* (\w+ )?(face|head|hair|neck|jaw|chin|nose|ear|eye|"
     r"cheek|forehead|mouth|lip|collar|arm|leg|knee|hand|finger)", -0.3, "self-touch: self-soothing under stress"),
    (r"\b(touch|rub|scratch|stroke)", -0.2, "self-touch: self-soothing"),
    (r"\blean\w* forward", 0.1, "leaning forward: engagement"),
)

# word -> valence for the transcript; the masking hides the outcome and named feelings, so what is left is tone
TEXT_VALENCE: Dict[str, float] = {
    **{w: 1.0 for w in ("great", "good", "well", "enjoy", "enjoyed", "fun", "amazing", "fantastic", "perfect",
                        "best", "better", "confident", "strong", "solid", "positive", "love", "loved", "nice",
                        "excellent", "lucky", "brilliant", "comfortable", "sharp", "clean", "calm", "ready",
                        "smile", "special", "incredible", "unbelievable", "improve", "improved")},
    **{w: -1.0 for w in ("tough", "difficult", "hard", "bad", "poor", "worse", "worst", "tired", "struggle",
                         "struggled", "struggling", "mistake", "mistakes", "errors", "unlucky", "pain", "injury",
                         "injured", "missed", "miss", "wrong", "nothing", "negative", "slow", "nervous", "tight",
                         "unforced", "frustrating", "sorry", "blame", "problem", "problems", "couldn't", "wasn't",
                         "didn't", "failed", "fail", "heavy", "sore")},
}
_NEGATORS = {"not", "no", "never", "n't", "hardly"}
_GENERIC_SPEAKERS = {"q", "a", "interviewer", "player", "moderator", "reporter", "journalist", "host", "question",
                     "answer", "[name]"}


def mg_valence(name: str) -> Tuple[float, str]:
    """(valence in [-1, 1], where it came from: ``"lexicon"``, ``"rule: <what>"`` or ``"unknown"``) of an MG class
    name, compared case-, underscore- and hyphen-insensitively."""
    key = normalise_mg_name(name)
    if key in MG_VALENCE:
        return MG_VALENCE[key], "lexicon"
    for pattern, value, why in _KEYWORD_RULES:
        if re.search(pattern, key):
            return value, f"rule: {why}"
    return 0.0, "unknown"


def text_valence(text: str) -> Tuple[float, int, int]:
    """(score in (-1, 1), positive words, negative words): ``(pos - neg) / (pos + neg + 2)`` over the words of
    :data:`TEXT_VALENCE`, a word right after a negation counting the other way; bracketed placeholders skipped."""
    tokens = re.findall(r"\[[^\]]*\]|[a-z]+(?:'[a-z]+)?", text.lower())
    pos = neg = 0
    for i, token in enumerate(tokens):
        value = TEXT_VALENCE.get(token)
        if not value:
            continue
        if i and (tokens[i - 1] in _NEGATORS or tokens[i - 1].endswith("n't")):
            value = -value
        if value > 0:
            pos += 1
        else:
            neg += 1
    return (pos - neg) / (pos + neg + 2), pos, neg


def _unit_noise(material: Any) -> float:
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=repr).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 2 - 1


class RuleBasedBackend(ChatBackend):
    """The offline backend (module docstring); ``text_weight`` and ``mg_weight`` scale the two scores."""

    name = "rule"

    def __init__(self, cache_dir=None, concurrency: int = 1, text_weight: float = 2.5, mg_weight: float = 4.0):
        super().__init__(cache_dir, concurrency)
        self.text_weight = float(text_weight)
        self.mg_weight = float(mg_weight)

    def identity(self) -> Dict[str, Any]:
        return {"backend": "rule-based", "model": f"rule-based-v{RULES_VERSION}", "text_weight": self.text_weight,
                "mg_weight": self.mg_weight}

    def _answer(self, request: ChatRequest) -> Tuple[str, int, Optional[str]]:
        user = request.user_text()
        task = request.task or ("probe" if "<micro_gesture>" in user else "mask" if re.search(r"^#1 \[", user, re.M)
                                else "infer" if "<transcript>" in user else "")
        if task == "infer":
            return self.answer_inference(request), 1, "stop"
        if task == "probe":
            return self.answer_probe(user), 1, "stop"
        if task == "mask":
            return self.answer_mask(user, request.meta.get("hide_words")), 1, "stop"
        raise LLMError("rule-based backend: it answers only this package's mask / infer / probe requests, and this "
                       f"one has neither a <transcript> nor a <micro_gesture> section (task {request.task!r})")

    # ----------------------------------------------------------------------------------------------- infer
    def answer_inference(self, request: ChatRequest) -> str:
        user = request.user_text()
        transcript = extract_section(user, "transcript")
        if transcript is None:
            raise LLMError("rule-based backend: the inference request has no <transcript> section")
        t_score, pos, neg = text_valence(transcript)
        z = self.text_weight * t_score
        mg_section = extract_section(user, "micro_gestures")
        valences: List[Tuple[str, float]] = []
        if mg_section is not None:
            try:
                rows = json.loads(mg_section).get("micro_gestures", [])
            except (ValueError, AttributeError):
                raise LLMError("rule-based backend: the <micro_gestures> section is not the timeline's prompt "
                               "JSON") from None
            valences = [(str(r.get("mg", "")), mg_valence(str(r.get("mg", "")))[0]) for r in rows]
            mg_score = sum(v for _, v in valences) / (len(valences) + 2)
            z += self.mg_weight * mg_score
        else:
            mg_score = None
        if request.temperature:
            z += request.temperature * _unit_noise([request.messages, request.seed, request.repeat])
        win = int(round(100 / (1 + math.exp(-z))))
        answer: Dict[str, Any] = {"win": win, "lose": 100 - win}
        if mg_section is not None:
            direction = 1 if win >= 50 else -1
            helpful = sorted({(name, v) for name, v in valences if v * direction >= 0.2},
                             key=lambda item: (-abs(item[1]), item[0]))
            answer["micro_gestures_used"] = [name for name, _ in helpful[:5]]
        reason = f"tone of the words {t_score:+.2f} ({pos} positive, {neg} negative words)"
        if mg_score is not None:
            reason += f"; micro-gestures {mg_score:+.2f} over {len(valences)} gestures"
        answer["reason"] = reason
        return json.dumps(answer)

    # ----------------------------------------------------------------------------------------------- probe
    @staticmethod
    def answer_probe(user: str) -> str:
        name = extract_section(user, "micro_gesture")
        if name is None:
            raise LLMError("rule-based backend: the probe request has no <micro_gesture> section")
        value, source = mg_valence(name)
        valence = "positive" if value >= 0.15 else "negative" if value <= -0.15 else "neutral"
        if source == "lexicon":
            emotion = _LEXICON_READING.get(normalise_mg_name(name), "unspecified")
            reason = f"read as {emotion} (lexicon valence {value:+.2f})"
        elif source.startswith("rule: "):
            what = source.split(": ", 1)[1]
            emotion = what.split(": ")[-1].split(",")[0]
            reason = f"{what} (rule valence {value:+.2f})"
        else:
            emotion, reason = "unclear", "no rule covers this gesture"
        return json.dumps({"valence": valence, "emotion": emotion, "reason": reason})

    # ------------------------------------------------------------------------------------------------ mask
    @staticmethod
    def answer_mask(user: str, hide_words: Union[Sequence[str], None] = None) -> str:
        section = extract_section(user, "transcript") or user
        if hide_words is None:
            m = re.search(r"hide these words wherever they appear:\s*(.*?)\.?\s*$", user, re.M | re.I)
            hide_words = [] if not m or m.group(1).strip().lower() == "none" else m.group(1).split(",")
        hide = [w.strip() for w in hide_words if w.strip()]
        rows = []
        for line in section.splitlines():
            m = re.match(r"^#(\d+) \[([^\]]*)\] ?(.*)$", line.strip())
            if m:
                rows.append(f"#{m.group(1)} [{m.group(2)}] {_mask_text(m.group(3), hide)}".rstrip())
        return "Here is the masked transcript:\n```\n" + "\n".join(rows) + "\n```"


_OUTCOME_PATTERN = word_pattern(OUTCOME_WORDS)
_EMOTION_PATTERN = word_pattern(EMOTION_WORDS)
_SCORE = re.compile(r"(?<![\w-])\d{1,2}\s*-\s*\d{1,2}(?:\s*\(\d+\))?(?![\w-])")
_PRONOUNS = {"I", "I'm", "I've", "I'd", "I'll"}


def _mask_text(text: str, hide: Sequence[str]) -> str:
    speaker, body = split_speaker(text)
    if speaker is not None and speaker.lower() not in _GENERIC_SPEAKERS:
        speaker = "[NAME]"
    hidden = word_pattern(hide)
    if hidden is not None:
        body = hidden.sub("[NAME]", body)
    body = _OUTCOME_PATTERN.sub("[OUTCOME]", body)
    body = _EMOTION_PATTERN.sub("[EMOTION]", body)
    body = _SCORE.sub("[OUTCOME]", body)
    out, sentence_start = [], True
    for token in re.split(r"(\s+)", body):
        if not token or token.isspace():
            out.append(token)
            continue
        word = token.strip(".,!?;:\"'()")
        if (not sentence_start and word[:1].isupper() and word not in _PRONOUNS and not word.startswith("[")
                and word.isalpha()):
            token = token.replace(word, "[NAME]")
        out.append(token)
        sentence_start = token.endswith((".", "!", "?"))
    body = "".join(out)
    return f"{speaker}: {body}" if speaker else body
