"""What a dataset says about itself, in one object that training, evaluation and the recognizer obey.

:class:`DatasetInfo` holds the layout (built-in or custom, whole), the array shape (C, V, M, T), which leading
channels are coordinates and what every channel is called, the frame rate, the class names and the
machine-readable normalisation (:mod:`mgclr.data.normalise`). :class:`~mgclr.data.format.SkeletonDataset`
reads it from ``meta.json``; for files that do not describe themselves (arrays, the ISC / SkeletonCLR files,
pyskl pickles, the synthetic generator) the training config supplies what the files cannot say. It travels
as plain data (:meth:`DatasetInfo.to_dict`) inside checkpoints and recognizers, so that a model is rebuilt
for the data it was trained on without the dataset at hand.

A config that contradicts the dataset is an error naming both values (:func:`check_agrees`), never a silent
reinterpretation: the pipeline's ``coord_channels`` comes from here, the encoders' input channels are C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from ..skeleton import Layout, is_builtin, layout_from_spec
from .axes import check_axes
from .normalise import check_normalise_spec

__all__ = ["DatasetInfo", "check_agrees"]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's description.

    Attributes:
        layout: the joint order (its ``num_joints`` is V).
        channels: C; ``coord_channels``: how many leading channels are coordinates (2 or 3; the rest, e.g.
            an OpenPose confidence, are carried through augmentation, never transformed); ``channel_names``
            name all C.
        persons: M. ``frames``: T of the stored arrays.
        class_names: one per label, in label order.
        fps: frames per second of the frame numbers, or None when the source does not say.
        normalise: the converter's normalisation spec (:mod:`mgclr.data.normalise`) or None.
        axes: which way the coordinate axes point (:mod:`mgclr.data.axes`: up, the person's left,
            handedness), or None when the source does not say.
        source: where the description came from, for error messages ("data/imigue/meta.json").
    """

    layout: Layout
    channels: int
    coord_channels: int
    persons: int
    frames: int
    class_names: Tuple[str, ...]
    channel_names: Tuple[str, ...] = ()
    fps: Optional[float] = None
    normalise: Optional[Dict[str, Any]] = None
    source: str = "the dataset"
    axes: Optional[Dict[str, Any]] = None

    def __post_init__(self) -> None:
        where = self.source
        for name in ("channels", "persons", "frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}: {name}: expected an integer >= 1, got {value!r}")
        if isinstance(self.coord_channels, bool) or self.coord_channels not in (2, 3) or \
                self.coord_channels > self.channels:
            raise ValueError(f"{where}: coord_channels: expected 2 or 3 (and <= C={self.channels}), got "
                             f"{self.coord_channels!r}")
        names = tuple(self.channel_names) or _default_channel_names(self.channels, self.coord_channels)
        if len(names) != self.channels:
            raise ValueError(f"{where}: channel_names: expected {self.channels} names (C), got {list(names)}")
        object.__setattr__(self, "channel_names", tuple(str(n) for n in names))
        object.__setattr__(self, "class_names", tuple(str(n) for n in self.class_names))
        if self.fps is not None:
            fps = float(self.fps) if not isinstance(self.fps, bool) else math.nan
            if not (math.isfinite(fps) and fps > 0):
                raise ValueError(f"{where}: fps: expected a finite value > 0 or none, got {self.fps!r}")
            object.__setattr__(self, "fps", fps)
        object.__setattr__(self, "normalise", check_normalise_spec(self.normalise, f"{where}: normalise"))
        object.__setattr__(self, "axes", check_axes(self.axes, self.coord_channels, where))

    @property
    def num_joints(self) -> int:
        return self.layout.num_joints

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> str:
        """One line for logs: layout, (C, T, V, M), coordinates, fps, classes."""
        fps = f"{self.fps:g} fps" if self.fps is not None else "fps unknown"
        return (f"{self.layout.name}, (C, T, V, M) = ({self.channels}, {self.frames}, {self.num_joints}, "
                f"{self.persons}), coordinates {', '.join(self.channel_names[:self.coord_channels])}"
                + (f" (+ {', '.join(self.channel_names[self.coord_channels:])})"
                   if self.channels > self.coord_channels else "") + f", {fps}, {self.num_classes} classes")

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (JSON, YAML, ``torch.load(weights_only=True)``); the layout whole unless built in."""
        return {"layout": self.layout.name if is_builtin(self.layout) else self.layout.to_dict(),
                "channels": self.channels, "coord_channels": self.coord_channels,
                "channel_names": list(self.channel_names), "persons": self.persons, "frames": self.frames,
                "class_names": list(self.class_names), "fps": self.fps, "normalise": self.normalise,
                "axes": self.axes, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "dataset description") -> DatasetInfo:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
        try:
            return cls(layout=layout_from_spec(data["layout"], f"{where}: layout"), channels=data["channels"],
                       coord_channels=data["coord_channels"], persons=data["persons"], frames=data["frames"],
                       class_names=tuple(data["class_names"]), channel_names=tuple(data.get("channel_names") or ()),
                       fps=data.get("fps"), normalise=data.get("normalise"), source=data.get("source", where),
                       axes=data.get("axes"))
        except KeyError as exc:
            raise ValueError(f"{where}: {exc.args[0]}: missing") from None


def _default_channel_names(channels: int, coord_channels: int) -> Tuple[str, ...]:
    coords = ("x", "y", "z")[:coord_channels]
    rest = ("confidence",) if channels - coord_channels == 1 else tuple(f"c{i}" for i in range(coord_channels,
                                                                                             channels))
    return coords + rest


def check_agrees(key: str, configured: Any, info: DatasetInfo, attribute: str, what: Optional[str] = None) -> None:
    """Raise a ``ValueError`` naming ``key``, the config's value and the dataset's when they differ (``None``
    in the config means "take the dataset's")."""
    if configured is None:
        return
    actual = getattr(info, attribute)
    if isinstance(actual, Layout):
        same = configured == actual.name if isinstance(configured, str) else configured == actual
        shown_config = configured if isinstance(configured, str) else getattr(configured, "name", configured)
        shown_data = actual.name
    else:
        same, shown_config, shown_data = configured == actual, configured, actual
    if not same:
        raise ValueError(f"{key}: the config says {shown_config!r}, the dataset ({info.source}) says "
                         f"{shown_data!r}{f' ({what})' if what else ''}; leave the key out to take the dataset's "
                         f"value, or fix one of them")

