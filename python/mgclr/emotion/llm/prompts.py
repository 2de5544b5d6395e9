"""Chat requests of the protocol: masking a transcript, inferring win/lose, probing what an MG suggests.

Every builder returns a :class:`ChatRequest` -- the messages plus the sampling parameters -- which any
backend (:class:`~mgclr.emotion.llm.client.OpenAIChatBackend`, :class:`~mgclr.emotion.llm.rule_based.RuleBasedBackend`)
answers with text. Sections a program has to find again are wrapped in tags (``<transcript>``,
``<micro_gestures>``, ``<micro_gesture>``): the parsers and the offline backend rely on them.

The wording is ours (the paper's prompts are not published). The inference prompt never carries the outcome,
the video name or the subject: the MG timeline goes in its prompt form (:meth:`Timeline.prompt_json`).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..timeline import Timeline
from .transcript import Transcript, format_timestamp

__all__ = ["MODES", "TEMPLATE_FIELDS", "ChatRequest", "TemplateError", "extract_section", "inference_request",
           "load_mask_template", "mask_request", "mask_rows_text", "probe_request", "validate_template"]

MODES = ("text", "text+mg")
# the placeholders a user's masking template may use; {transcript} is required
TEMPLATE_FIELDS = {
    "transcript": "the numbered transcript rows, one per line: #<n> [<timestamp>] <text>",
    "n_rows": "how many rows the answer must have",
    "row_format": "one sentence describing the answer's row form (the parser expects it)",
    "hide_words": "the extra words to hide (comma-separated), or 'none'",
}
ROW_FORMAT = "#<row number> [<timestamp>] <rewritten text>"


class TemplateError(ValueError):
    """A masking template with unknown or missing placeholders; the message names the file and the fields."""


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to ask for.

    ``messages`` (role/content dicts), the sampling parameters and ``repeat`` make up what is sent and what the
    cache key covers; ``params`` holds any further sampling parameter (``frequency_penalty``, ``stop``, ...),
    sent as given. ``task`` (``"mask"``, ``"infer"``, ``"probe"``) and ``meta`` (video, mode, MG, ...) are
    bookkeeping for this package and never sent.
    """

    messages: List[Dict[str, str]]
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    seed: Optional[int] = None
    max_tokens: Optional[int] = None
    params: Dict[str, Any] = field(default_factory=dict)
    repeat: int = 0
    task: str = ""
    meta: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.messages:
            raise ValueError("messages: expected at least one message, got none")
        for i, m in enumerate(self.messages):
            if not (isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)):
                raise ValueError(f"messages[{i}]: expected {{'role': str, 'content': str}}, got {m!r:.80}")
        if isinstance(self.repeat, bool) or not isinstance(self.repeat, int) or self.repeat < 0:
            raise ValueError(f"repeat: expected an int >= 0, got {self.repeat!r}")

    def sampling(self) -> Dict[str, Any]:
        """The sampling parameters that are set (None ones are left to the server's defaults)."""
        out = {k: getattr(self, k) for k in ("temperature", "top_p", "seed", "max_tokens")
               if getattr(self, k) is not None}
        out.update(self.params)
        return out

    def with_repeat(self, repeat: int) -> ChatRequest:
        """The same request as repeat ``repeat``; a fixed seed becomes ``seed + repeat`` so that repeats sample
        differently on servers that honour seeds, and stay reproducible."""
        seed = None if self.seed is None else self.seed + repeat
        return replace(self, repeat=repeat, seed=seed, meta={**self.meta, "repeat": repeat})

    def user_text(self) -> str:
        return "\n\n".join(m["content"] for m in self.messages if m["role"] == "user")


def extract_section(text: str, tag: str) -> Optional[str]:
    """The text between ``<tag>`` and ``</tag>`` (the last such section), stripped; None when there is none."""
    found = re.findall(rf"<{re.escape(tag)}>\s*\n?(.*?)\n?\s*</{re.escape(tag)}>", text, flags=re.S)
    return found[-1].strip() if found else None


# ---------------------------------------------------------------------------------------------------- masking

MASK_SYSTEM = (
    "You prepare interview transcripts for a blind study. You rewrite them so that a reader can no longer tell "
    "how the match ended, who is speaking or being talked about, or which feelings are named outright, while "
    "everything else stays word for word.")

MASK_USER = """Rewrite every row of the transcript below, replacing:
- anything that states or implies the result of the match (winning, losing, beating or being beaten, titles, trophies, \
scores, going through or going out) with [OUTCOME];
- names of people (players, coaches, relatives), of places and countries, and of tournaments, events and sponsors \
with [NAME], [PLACE] or [EVENT];
- words that name a feeling directly (happy, disappointed, proud, frustrated, and the like) with [EMOTION].
Also hide these words wherever they appear: {hide_words}.

Leave all other words exactly as they are. Do not summarise, merge, split, reorder or drop rows, and add no comments. \
Keep each row's number and timestamp unchanged.

Answer with exactly {n_rows} rows, one per line, each of the form {row_format}

<transcript>
{transcript}
</transcript>"""


def mask_rows_text(transcript: Transcript) -> str:
    """The numbered rows the masking request shows: ``#<n> [<timestamp>] <speaker>: <text>`` (n from 1)."""
    rows = []
    for n, u in enumerate(transcript.utterances, 1):
        stamp = "-" if u.start_s is None else format_timestamp(u.start_s)
        speaker = f"{u.speaker}: " if u.speaker else ""
        rows.append(f"#{n} [{stamp}] {speaker}{u.text}".rstrip())
    return "\n".join(rows)


def validate_template(template: str, source: str = "template") -> List[str]:
    """The placeholders of ``template`` (``str.format`` syntax, literal braces doubled); unknown ones, positional
    ``{}``, conversions/format specs and a missing ``{transcript}`` are errors naming ``source``."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"{source}: not a valid template ({exc}); write literal braces as {{{{ and }}}}") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise TemplateError(f"{source}: positional placeholder {{{name}}}: expected a name among "
                                f"{sorted(TEMPLATE_FIELDS)}")
        if name not in TEMPLATE_FIELDS:
            raise TemplateError(f"{source}: unknown placeholder {{{name}}}: expected one of {sorted(TEMPLATE_FIELDS)} "
                                f"(write literal braces as {{{{ and }}}})")
        if spec or conversion:
            raise TemplateError(f"{source}: placeholder {{{name}}}: expected no conversion or format spec")
        names.append(name)
    if "transcript" not in names:
        raise TemplateError(f"{source}: expected the placeholder {{transcript}} (where the rows go), found "
                            f"{sorted(set(names)) or 'none'}")
    return names


def load_mask_template(path: Union[str, Path]) -> str:
    """A user's masking template (the user message; our system message stays), validated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"template: {path} does not exist")
    text = path.read_text(encoding="utf-8")
    validate_template(text, str(path))
    return text


def mask_request(transcript: Transcript, template: Optional[str] = None, hide_words: Sequence[str] = (),
                 *, temperature: Optional[float] = 0.0, seed: Optional[int] = None,
                 max_tokens: Optional[int] = None) -> ChatRequest:
    """The request asking a model to mask ``transcript`` (see :mod:`mgclr.emotion.llm.masking` for the answer);
    ``template`` replaces our user message (validated here too)."""
    if not transcript.utterances:
        raise ValueError(f"transcript {transcript.video}: has no utterances to mask")
    user_template = MASK_USER if template is None else template
    if template is not None:
        validate_template(template)
    words = [w.strip() for w in hide_words if w.strip()]
    values = {"transcript": mask_rows_text(transcript), "n_rows": str(len(transcript.utterances)),
              "row_format": ROW_FORMAT, "hide_words": ", ".join(words) if words else "none"}
    user = user_template.format(**values)
    return ChatRequest([{"role": "system", "content": MASK_SYSTEM}, {"role": "user", "content": user}],
                       temperature=temperature, seed=seed, max_tokens=max_tokens, task="mask",
                       meta={"video": transcript.video, "rows": len(transcript.utterances), "hide_words": words})


# -------------------------------------------------------------------------------------------------- inference

INFER_SYSTEM = (
    "You are assisting a study of non-verbal behaviour. You will read an interview that a professional tennis "
    "player gave shortly after a match. Everything that would reveal the result, the people involved, or feelings "
    "the player names outright has been replaced by placeholders in square brackets such as [OUTCOME], [NAME] or "
    "[EMOTION]. From what remains, judge whether the player won or lost the match. Uncertainty is expected: give "
    "honest confidences rather than certain ones.")

INFER_TRANSCRIPT = """The interview, one utterance per line; times are hours:minutes:seconds from the start of the \
video.
<transcript>
{transcript}
</transcript>"""

INFER_MG = """While answering, the player made the micro-gestures listed below. Micro-gestures are small, mostly \
involuntary movements (touching the face, rubbing the hands, folding the arms, ...) that can let slip feelings the \
words keep back. Each entry names the gesture and gives when it began and ended, in seconds from the start of the \
video (the same clock as the transcript; {duration}).
<micro_gestures>
{timeline}
</micro_gestures>"""

INFER_ANSWER_TEXT = """Did the player win or lose the match before this interview? Reply with a single JSON object \
and nothing else:
{"win": <confidence from 0 to 100>, "lose": <confidence from 0 to 100>, "reason": "<one or two sentences>"}
The two confidences are percentages and must add up to 100."""

INFER_ANSWER_MG = """Did the player win or lose the match before this interview? Use both what is said and the \
micro-gestures. Reply with a single JSON object and nothing else:
{"win": <confidence from 0 to 100>, "lose": <confidence from 0 to 100>, "micro_gestures_used": [<names of the \
listed micro-gestures that shaped your judgement, as written above; [] if none did>], "reason": "<one or two \
sentences>"}
The two confidences are percentages and must add up to 100."""


def inference_request(transcript: Union[Transcript, str], timeline: Union[Timeline, str, None], mode: str,
                      *, video: Optional[str] = None, temperature: Optional[float] = None, seed: Optional[int] = None,
                      max_tokens: Optional[int] = None, params: Optional[Mapping[str, Any]] = None) -> ChatRequest:
    """The request asking for win/lose confidences from a masked transcript (``mode="text"``) or from it and the
    MG timeline (``mode="text+mg"``; ``timeline`` a :class:`Timeline` -- shown in its prompt form -- or that form's
    JSON text). ``meta`` records the video and the MG names the answer may cite."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    text = transcript.text() if isinstance(transcript, Transcript) else str(transcript)
    if not text.strip():
        raise ValueError(f"transcript{' of ' + video if video else ''}: expected utterances, got an empty transcript")
    parts = [INFER_TRANSCRIPT.format(transcript=text)]
    mg_names: List[str] = []
    if mode == "text+mg":
        if timeline is None:
            raise ValueError("timeline: mode 'text+mg' needs the MG timeline, got None")
        if isinstance(timeline, Timeline):
            timeline_json = timeline.prompt_json()
            mg_names = sorted(set(timeline.names()))
            duration = timeline.duration_seconds
        else:
            timeline_json = str(timeline)
            duration = None
        length = f"the video lasts {duration:.1f} s" if duration is not None else "duration_s is the video's length"
        parts.append(INFER_MG.format(timeline=timeline_json, duration=length))
        parts.append(INFER_ANSWER_MG)
    else:
        parts.append(INFER_ANSWER_TEXT)
    if video is None and isinstance(transcript, Transcript):
        video = transcript.video
    return ChatRequest([{"role": "system", "content": INFER_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}],
                       temperature=temperature, seed=seed, max_tokens=max_tokens, params=dict(params or {}),
                       task="infer", meta={"video": video, "mode": mode, "mg_names": mg_names})


# ----------------------------------------------------------------------------------------------------- probes

PROBE_SYSTEM = "You are an expert in non-verbal communication and body language."

PROBE_USER = """In body-language research a micro-gesture is a brief, often unconscious movement, such as touching \
one's face or folding one's arms. Picture a person who makes this micro-gesture:
<micro_gesture>
{name}
</micro_gesture>
Which kind of emotional state does it most likely suggest: positive, negative or neutral? Reply with a single JSON \
object and nothing else:
{{"valence": "positive" | "negative" | "neutral", "emotion": "<one or two words>", "reason": "<one short sentence>"}}"""


def probe_request(mg_name: str, *, temperature: Optional[float] = None, seed: Optional[int] = None,
                  max_tokens: Optional[int] = None, params: Optional[Mapping[str, Any]] = None) -> ChatRequest:
    """The prior-knowledge probe for one MG class ("what emotion does this MG suggest?"); underscores in the
    class name become spaces in the question."""
    if not isinstance(mg_name, str) or not mg_name.strip():
        raise ValueError(f"mg_name: expected a non-empty MG class name, got {mg_name!r}")
    readable = mg_name.strip().replace("_", " ")
    return ChatRequest([{"role": "system", "content": PROBE_SYSTEM},
                        {"role": "user", "content": PROBE_USER.format(name=readable)}],
                       temperature=temperature, seed=seed, max_tokens=max_tokens, params=dict(params or {}),
                       task="probe", meta={"mg": mg_name})
