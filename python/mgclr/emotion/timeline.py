"""Micro-gesture timelines, as the emotion work reads them: the data type itself, its two JSON forms and its
readers live in :mod:`mgclr.data.timeline` (the iMiGUE converter writes them, and data sits below emotion);
this module re-exports every public name, so ``from mgclr.emotion.timeline import Timeline`` keeps working."""

from ..data.timeline import (
    BACKGROUND_NAMES,
    OUTCOMES,
    MGEvent,
    Timeline,
    TimelineError,
    load_class_names,
    normalise_outcome,
    read_timelines,
    write_timelines,
)
from ..data.timeline import FORMAT as FORMAT  # the file form's tag, outside __all__ as before
from ..data.timeline import VERSION as VERSION

__all__ = ["BACKGROUND_NAMES", "MGEvent", "OUTCOMES", "Timeline", "TimelineError", "load_class_names",
           "normalise_outcome", "read_timelines", "write_timelines"]
