"""mgclr.emotion.llm: the LLM protocol -- does a model infer a hidden outcome better with the MG timeline?

The paper's experiment, offline-testable end to end:

- :mod:`.transcript`: timestamped utterances from plain text, SRT or JSON (:func:`read_transcripts`);
- :mod:`.prompts`: the chat requests -- masking a transcript, win/lose inference (``text`` / ``text+mg``),
  prior-knowledge probes -- as :class:`ChatRequest`;
- :mod:`.masking`: reading masked rows back (:func:`parse_mask_answer`) and the leakage check;
- :mod:`.parse`: win/lose confidences, cited MGs and probe valences from real model output;
- :mod:`.backend` / :mod:`.client`: the disk cache, ordered concurrent calls, and the OpenAI-compatible client
  with its own retries (``pip install "mgclr[llm]"``);
- :mod:`.rule_based`: a deterministic offline stand-in that answers the same requests (demo and tests only);
- :mod:`.evaluate`: videos x modes x repeats -> accuracy, Acc@k, situation reversals, reports;
- :mod:`.probes`: the MG-class x model valence table;
- :mod:`.commands`: what ``mgclr llm mask | infer | probe | report`` run.
"""

from .backend import BackendStats, ChatBackend, Completion, DiskCache, LLMError, request_key
from .client import ClientConfig, OpenAIChatBackend
from .evaluate import (
    majority_vote,
    read_records,
    report_markdown,
    run_inference,
    summarise,
    write_records,
    write_report,
)
from .masking import EMOTION_WORDS, OUTCOME_WORDS, LeakHit, MaskParseError, MaskResult, check_leakage, parse_mask_answer
from .parse import ParseError, Prediction, ProbeAnswer, parse_cited_mgs, parse_prediction, parse_probe_answer
from .probes import ProbeTable, merge_probe_tables, read_probe_table, run_probes, write_probe_table
from .prompts import (
    MODES,
    ChatRequest,
    TemplateError,
    inference_request,
    load_mask_template,
    mask_request,
    probe_request,
    validate_template,
)
from .rule_based import MG_VALENCE, RuleBasedBackend, mg_valence
from .transcript import Transcript, TranscriptError, Utterance, read_transcript, read_transcripts, write_transcript

__all__ = ["BackendStats", "ChatBackend", "ChatRequest", "ClientConfig", "Completion", "DiskCache", "EMOTION_WORDS",
           "LLMError", "LeakHit", "MG_VALENCE", "MODES", "MaskParseError", "MaskResult", "OUTCOME_WORDS",
           "OpenAIChatBackend", "ParseError", "Prediction", "ProbeAnswer", "ProbeTable", "RuleBasedBackend",
           "TemplateError", "Transcript", "TranscriptError", "Utterance", "check_leakage", "inference_request",
           "load_mask_template", "majority_vote", "mask_request", "merge_probe_tables", "mg_valence",
           "parse_cited_mgs", "parse_mask_answer", "parse_prediction", "parse_probe_answer", "probe_request",
           "read_probe_table", "read_records", "read_transcript", "read_transcripts", "report_markdown",
           "request_key", "run_inference", "run_probes", "summarise", "validate_template", "write_probe_table",
           "write_records", "write_report", "write_transcript"]
