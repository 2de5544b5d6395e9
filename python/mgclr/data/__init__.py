"""mgclr.data: datasets. Today: :mod:`mgclr.data.synthetic`, procedural micro-gesture skeletons for the demo and
the tests, :mod:`mgclr.data.synthetic_mg`, micro-gestures grounded in iMiGUE's statistics (subjects, clip
lengths, idle motion, a 2-D + confidence form), :class:`ArrayDataset`, a dataset over ``(x, lengths,
labels)`` arrays (memory or memory-mapped) whose workers only slice, and :mod:`mgclr.data.timeline`, the
per-video MG timeline type and its file (the iMiGUE converter writes it; :mod:`mgclr.emotion` reads it)."""

from .arrays import ArrayDataset
from .synthetic import CLASSES, SyntheticMG, generate
from .synthetic_mg import generate_realistic, split_by_subject

__all__ = ["ArrayDataset", "CLASSES", "SyntheticMG", "generate", "generate_realistic", "split_by_subject"]
