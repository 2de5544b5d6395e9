"""mgclr.data: datasets. Today: :mod:`mgclr.data.synthetic`, procedural micro-gesture skeletons for the demo and
the tests, :mod:`mgclr.data.synthetic_mg`, micro-gestures grounded in iMiGUE's statistics (subjects, clip
lengths, idle motion, a 2-D + confidence form), and :class:`ArrayDataset`, a dataset over ``(x, lengths,
labels)`` arrays (memory or memory-mapped) whose workers only slice."""

from .arrays import ArrayDataset
from .synthetic import CLASSES, SyntheticMG, generate
from .synthetic_mg import generate_realistic, split_by_subject

__all__ = ["ArrayDataset", "CLASSES", "SyntheticMG", "generate", "generate_realistic", "split_by_subject"]
