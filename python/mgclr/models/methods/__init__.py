"""The contrastive methods, one small class each over a shared base (solo-learn's shape), and their registry.

- :class:`MomentumMethod` (base.py): query / key encoders and heads, the key encoder's moving average, the
  queue, shuffle-BN; :class:`View`, :class:`Embedding`, :class:`MoCoOutput`;
- :class:`MoCo` (moco.py): the paper's, ISC's and SkeletonCLR's method;
- :class:`AimCLR` (aimclr.py): extreme view, EADM, D3M, nearest-neighbour mining;
- :class:`CrosSCLR` (crossclr.py): cross-view consistent knowledge mining between streams;
- :class:`MultiStreamMoCo` (multistream.py): named streams, each with its method, trained together.

A config names a stream's method (``model.streams.NAME.method: aimclr``, or ``{kind: aimclr, args: {...},
views: {...}}``); adding a method is a class here and one line in :data:`METHODS`.
"""

from .aimclr import AimCLR
from .base import Embedding, MoCoOutput, MomentumMethod, View
from .crossclr import CrosSCLR
from .moco import MoCo
from .multistream import MultiStreamMoCo, MultiStreamOutput

METHODS = {
    MoCo.name: MoCo,
    AimCLR.name: AimCLR,
    CrosSCLR.name: CrosSCLR,
}

__all__ = ["METHODS", "AimCLR", "CrosSCLR", "Embedding", "MoCo", "MoCoOutput", "MomentumMethod", "MultiStreamMoCo",
           "MultiStreamOutput", "View"]
