"""Skeletons: joint layouts and the graph they define.

Layouts (joint names, bones, centre joint, left/right mirror permutation) are needed by the augmentations
(``flip``), by the graph encoders (their adjacency) and by the dataset converters (joint order) alike, so
they live here, below all of them: this package imports nothing else of mgclr but argument validation.

- :class:`Layout`, :func:`get_layout`, :func:`register_layout`, :func:`available_layouts`: ``ntu25``,
  ``kinect20``, ``imigue22``, ``smg25``, ``coco17`` and custom layouts (:mod:`mgclr.skeleton.layouts`);
  :func:`layout_from_spec`: a layout from a name or a mapping (a YAML ``data.layout``, ``meta.json``);
- :func:`adjacency`: the normalised 3-subset adjacency ``(3, V, V)`` of ST-GCN / 2s-AGCN;
  :func:`hop_distance`: each joint's distance to the centre along the bones (:mod:`mgclr.skeleton.graph`).
"""

from .graph import ADJACENCY_KINDS, adjacency, hop_distance
from .layouts import Layout, available_layouts, get_layout, is_builtin, layout_from_spec, register_layout

__all__ = ["ADJACENCY_KINDS", "Layout", "adjacency", "available_layouts", "get_layout", "hop_distance",
           "is_builtin", "layout_from_spec", "register_layout"]
