"""mgclr.data: datasets. Today: :mod:`mgclr.data.synthetic`, procedural micro-gesture skeletons for the
demo and the tests, and :class:`ArrayDataset`, a dataset over ``(x, lengths, labels)`` arrays (memory or
memory-mapped) whose workers only slice."""

from .arrays import ArrayDataset
from .synthetic import CLASSES, SyntheticMG, generate

__all__ = ["ArrayDataset", "CLASSES", "SyntheticMG", "generate"]
