"""mgclr.models: encoders, input modalities, projection heads and the MoCo machinery.

- :class:`AGCN` (the paper's graph stream, 2s-AGCN's joint stream), :class:`STGCN` (SkeletonCLR/AimCLR's
  encoder), :class:`BiGRU` (the paper's sequence stream): ``(N, C, T, V, M)`` (+ ``lengths``) ->
  ``(N, out_dim)`` features; :data:`ENCODERS` names them for configs;
- :class:`InputModality` (joint, bone, motion, bone_motion) and :class:`StreamEncoder` (``input -> encoder``);
- :class:`ProjectionHead` (linear or MLP, removed for evaluation);
- the contrastive methods (:mod:`mgclr.models.methods`): :class:`MoCo`, :class:`AimCLR`, :class:`CrosSCLR` over
  :class:`MomentumMethod`, named in :data:`METHODS`; :class:`MultiStreamMoCo` trains named streams together;
  the queue of negatives :class:`MoCoQueue`.
"""

from .agcn import AGCN
from .bigru import BiGRU
from .heads import ProjectionHead
from .methods import (
    METHODS,
    AimCLR,
    CrosSCLR,
    Embedding,
    MoCo,
    MoCoOutput,
    MomentumMethod,
    MultiStreamMoCo,
    MultiStreamOutput,
    View,
)
from .modality import INPUT_MODALITIES, InputModality, StreamEncoder, bone_parents
from .queue import MoCoQueue
from .stgcn import STGCN

# The encoders a config names (``encoder.kind``); the data decides their layout / in_channels / num_persons /
# num_joints (mgclr.train.build.build_encoder), the config every other argument.
ENCODERS = {"agcn": AGCN, "stgcn": STGCN, "bigru": BiGRU}

__all__ = ["AGCN", "ENCODERS", "INPUT_MODALITIES", "METHODS", "AimCLR", "BiGRU", "CrosSCLR", "Embedding",
           "InputModality", "MoCo", "MoCoOutput", "MoCoQueue", "MomentumMethod", "MultiStreamMoCo",
           "MultiStreamOutput", "ProjectionHead", "STGCN", "StreamEncoder", "View", "bone_parents"]
