"""Synthetic post-match videos: MG timelines whose statistics depend on the outcome, and templated interview
transcripts, for the offline demo and the tests (no real data is shipped or downloaded).

What depends on the outcome (``separation`` in [0, 1] scales all of it; 0 makes the outcome invisible):

* **which** MGs: a loss draws more self-soothing and closing MGs (touch neck / nose / ear, scratch head,
  rub hands, fold arms), a win more open ones (nod, lean back, shrug, tap fingers); class probabilities
  are ``(1 - s) * uniform + s * outcome profile``;
* **how many**: MGs per minute ~ Gamma around 6 (win) and 6 * (1 + 0.5 s) (lose);
* **how long**: durations log-normal, 15 % longer after a loss at s = 1.

Everything else (video length 60-180 s, gaps, the order of MGs) is drawn alike for both outcomes. The
transcripts mix neutral sentences with a few outcome-coloured ones, mention the result outright (which
masking must hide), and come in two forms: ``raw`` and ``masked`` (the masked one written as a masking step
would: outcome words replaced by ``[MASK]``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ..data.synthetic import CLASSES
from .timeline import MGEvent, Timeline

__all__ = ["LOSE_LEANING", "WIN_LEANING", "synthetic_timelines", "synthetic_transcript"]

LOSE_LEANING = ("touch_neck", "touch_nose", "touch_ear", "scratch_head", "rub_hands", "fold_arms")
WIN_LEANING = ("nod", "lean_back", "shrug", "tap_fingers")


def _profile(outcome: str) -> np.ndarray:
    weights = np.ones(len(CLASSES))
    leaning = LOSE_LEANING if outcome == "lose" else WIN_LEANING
    for name in leaning:
        weights[CLASSES.index(name)] = 4.0
    return weights / weights.sum()


def _timeline(rng: np.random.Generator, video: str, outcome: str, separation: float, fps: float) -> Timeline:
    uniform = np.full(len(CLASSES), 1.0 / len(CLASSES))
    probs = (1 - separation) * uniform + separation * _profile(outcome)
    seconds = rng.uniform(60.0, 180.0)
    num_frames = int(seconds * fps)
    rate = 6.0 * (1 + 0.5 * separation * (outcome == "lose"))  # MGs per minute
    rate = rng.gamma(8.0, rate / 8.0)
    count = rng.poisson(rate * seconds / 60.0)
    scale = 1.0 + 0.15 * separation * (outcome == "lose")
    events: List[MGEvent] = []
    for start in np.sort(rng.uniform(0, seconds - 1.0, size=count)):
        s = int(start * fps)
        if events and s <= events[-1].end_frame:
            continue  # one MG at a time, as the annotations
        frames = max(3, int(rng.lognormal(np.log(1.5 * scale), 0.4) * fps))
        e = min(num_frames - 1, s + frames - 1)
        label = int(rng.choice(len(CLASSES), p=probs))
        events.append(MGEvent(label, CLASSES[label], s, e))
    return Timeline(video, fps, events, num_frames=num_frames, outcome=outcome, subject=video, source="synthetic")


def synthetic_timelines(num_videos: int = 202, *, separation: float = 0.5, fps: float = 25.0, seed: int = 0
                        ) -> List[Timeline]:
    """``num_videos`` timelines, half won and half lost (an odd count gives one more win), in shuffled order,
    named ``video_000``... See the module docstring for what depends on the outcome."""
    if isinstance(num_videos, bool) or not isinstance(num_videos, int) or num_videos < 2:
        raise ValueError(f"num_videos: expected an int >= 2, got {num_videos!r}")
    if not 0.0 <= separation <= 1.0:
        raise ValueError(f"separation: expected a value in [0, 1], got {separation!r}")
    rng = np.random.default_rng(seed)
    outcomes = ["win" if i % 2 == 0 else "lose" for i in range(num_videos)]
    rng.shuffle(outcomes)
    return [_timeline(rng, f"video_{i:03d}", o, separation, fps) for i, o in enumerate(outcomes)]


_QUESTIONS = ("How do you feel after today's match?", "What was the key moment out there?",
              "How was your serve working today?", "What did you make of the conditions on court?",
              "What are your plans for the next few days?", "How is your body holding up?",
              "Can you talk us through the second set?", "What did your coach tell you afterwards?")
_NEUTRAL = ("It was windy, so I tried to keep the ball low.", "We will see how I recover tomorrow.",
            "The crowd was loud, it was a special atmosphere.", "I tried to stick to the plan we made.",
            "My serve was okay, nothing special.", "I have to look at the match again with my team.",
            "There were a lot of long rallies in the second set.", "I will practise tomorrow morning.")
_COLOURED = {"win": ("I am really happy with how I played today.", "I felt confident in the big moments.",
                     "It is a great feeling, I enjoyed every minute of it."),
             "lose": ("It is disappointing, I expected more from myself.", "I made too many errors at the end.",
                      "It hurts right now, it is tough to take.")}
_RESULT = {"win": ("I won in three sets and I am through to the next round.", "Winning this one means a lot."),
           "lose": ("I lost in three sets and my tournament is over.", "Losing this one is hard.")}
_MASK_WORDS = ("won", "winning", "lost", "losing", "through to the next round", "my tournament is over")


def _mask(text: str) -> str:
    for word in _MASK_WORDS:
        text = text.replace(word, "[MASK]").replace(word.capitalize(), "[MASK]")
    return text


def synthetic_transcript(timeline: Timeline, *, text_signal: float = 0.3, seed: int = 0
                         ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(raw, masked) transcripts of ``timeline``'s interview: question/answer utterances spread over the
    video, as ``[{"start_s", "end_s", "speaker", "text"}]`` (the JSON transcript form). With probability
    ``text_signal`` an answer is coloured by the outcome (else neutral); one answer states the result, which
    the masked form hides."""
    if timeline.outcome is None:
        raise ValueError(f"timeline: video {timeline.video} has no outcome to write a transcript for")
    if not 0.0 <= text_signal <= 1.0:
        raise ValueError(f"text_signal: expected a value in [0, 1], got {text_signal!r}")
    rng = np.random.default_rng([seed, int(timeline.video.encode().hex(), 16) % (2 ** 32)])
    duration = timeline.duration_seconds or 60.0
    turns = int(rng.integers(4, 8))
    slots = np.linspace(0.0, duration, 2 * turns + 1)
    result_turn = int(rng.integers(0, turns))
    raw: List[Dict[str, Any]] = []
    for k in range(turns):
        q_start, a_start, a_end = slots[2 * k], slots[2 * k + 1], slots[2 * k + 2]
        raw.append({"start_s": round(float(q_start), 1), "end_s": round(float(a_start), 1), "speaker": "Q",
                    "text": str(rng.choice(_QUESTIONS))})
        if k == result_turn:
            text = str(rng.choice(_RESULT[timeline.outcome]))
        elif rng.random() < text_signal:
            # a coloured sentence of the true outcome or, one time in three, of the other one (text misleads)
            side = timeline.outcome if rng.random() < 2 / 3 else ("win" if timeline.outcome == "lose" else "lose")
            text = str(rng.choice(_COLOURED[side]))
        else:
            text = str(rng.choice(_NEUTRAL))
        raw.append({"start_s": round(float(a_start), 1), "end_s": round(float(a_end), 1), "speaker": "A",
                    "text": text})
    masked = [dict(row, text=_mask(row["text"])) for row in raw]
    return raw, masked

