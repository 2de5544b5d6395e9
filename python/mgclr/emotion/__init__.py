"""mgclr.emotion: emotion understanding from micro-gestures.

- :mod:`mgclr.emotion.timeline`: per-video MG timelines (annotated, predicted or synthetic), JSON forms
  (:mod:`mgclr.data.timeline`'s names, re-exported);
- :mod:`mgclr.emotion.recognize`: a trained recognizer slid over a long skeleton sequence -> a timeline;
- :mod:`mgclr.emotion.classifier`: video-level win/lose classification from the MG sequence (Table 7);
- :mod:`mgclr.emotion.synthetic`: timelines and transcripts whose MG statistics depend on the outcome;
- :mod:`mgclr.emotion.llm`: the LLM protocol (masked transcript + MG timeline -> win/lose, Table 8).
"""

from .timeline import OUTCOMES, MGEvent, Timeline, TimelineError, read_timelines, write_timelines

__all__ = ["MGEvent", "OUTCOMES", "Timeline", "TimelineError", "read_timelines", "write_timelines"]
