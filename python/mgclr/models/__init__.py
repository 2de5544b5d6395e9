"""mgclr.models: encoders, input modalities, projection heads and the MoCo machinery.

- :class:`AGCN` (the paper's graph stream, 2s-AGCN's joint stream), :class:`STGCN` (SkeletonCLR/AimCLR's
  encoder), :class:`BiGRU` (the paper's sequence stream), :class:`ISCBiGRU` (ISC's released BIGRU, both
  directions forward in time): ``(N, C, T, V, M)`` (+ ``lengths``) -> ``(N, out_dim)`` features;
  :data:`ENCODERS` names them for configs;
- :func:`load_published`: a released checkpoint of 2s-AGCN, ST-GCN (AimCLR, CrosSCLR, SkeletonCLR) or ISC's
  BIGRU, mapped onto those encoders;
- :class:`InputModality` (joint, bone, motion, bone_motion) and :class:`StreamEncoder` (``input -> encoder``);
- :class:`ProjectionHead` (linear or MLP, removed for evaluation);
- the contrastive methods (:mod:`mgclr.models.methods`): :class:`MoCo`, :class:`AimCLR`, :class:`CrosSCLR` over
  :class:`MomentumMethod`, named in :data:`METHODS`; :class:`MultiStreamMoCo` trains named streams together;
  the queue of negatives :class:`MoCoQueue`.
"""

from .agcn import AGCN
from .bigru import BiGRU
from .heads import ProjectionHead
from .isc_bigru import ISCBiGRU
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
from .published import PUBLISHED_ARCHS, load_published
from .queue import MoCoQueue
from .stgcn import STGCN

# The encoders a config names (``encoder.kind``); the data decides their layout / in_channels / num_persons /
# num_joints (mgclr.train.build.build_encoder), the config every other argument.
ENCODERS = {"agcn": AGCN, "stgcn": STGCN, "bigru": BiGRU, "isc_bigru": ISCBiGRU}

__all__ = ["AGCN", "ENCODERS", "INPUT_MODALITIES", "ISCBiGRU", "METHODS", "PUBLISHED_ARCHS", "AimCLR", "BiGRU",
           "CrosSCLR", "Embedding", "InputModality", "MoCo", "MoCoOutput", "MoCoQueue", "MomentumMethod",
           "MultiStreamMoCo", "MultiStreamOutput", "ProjectionHead", "STGCN", "StreamEncoder", "View", "bone_parents",
           "load_published"]
