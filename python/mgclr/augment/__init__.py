"""Skeleton augmentation: layouts (joint order, bones, centre, mirror permutation) and the transforms."""

from .layouts import Layout, available_layouts, get_layout, register_layout

__all__ = ["Layout", "available_layouts", "get_layout", "register_layout"]
