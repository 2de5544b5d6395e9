"""mgclr.models: encoders, projection heads and the MoCo machinery.

- :class:`AGCN` (the spatial stream, 2s-AGCN's joint stream), :class:`STGCN` (SkeletonCLR/AimCLR's
  encoder, for comparisons), :class:`BiGRU` (the temporal stream): ``(N, C, T, V, M)`` (+ ``lengths``) ->
  ``(N, out_dim)`` features;
- :class:`ProjectionHead` (linear or MLP, removed for evaluation);
- :class:`MoCo`, :class:`DualStreamMoCo` and the queue of negatives :class:`MoCoQueue`.
"""

from .agcn import AGCN
from .bigru import BiGRU
from .heads import ProjectionHead
from .moco import DualStreamMoCo, DualStreamOutput, MoCo, MoCoOutput
from .queue import MoCoQueue
from .stgcn import STGCN

__all__ = ["AGCN", "BiGRU", "DualStreamMoCo", "DualStreamOutput", "MoCo", "MoCoOutput", "MoCoQueue",
           "ProjectionHead", "STGCN"]
