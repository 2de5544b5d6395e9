"""Skeleton layouts: joint names, bones, centre joint and the left/right mirror permutation.

A :class:`Layout` describes one joint order. Augmentations use it to mirror a skeleton (``flip`` swaps every
joint with its mirror joint), dataset converters to name and centre joints, and graph models build their
adjacency from its bones and centre (:func:`mgclr.skeleton.adjacency`). All indices are 0-based.

Built-in layouts (the comments above each joint table below give the source of the order):

``ntu25``
    NTU RGB+D 60/120, Kinect v2, 25 joints. Order from the dataset's README (shahroudy/NTURGB-D), bones are
    2s-AGCN's ``graph/ntu_rgb_d.py`` ``inward_ori_index`` (lshiwjx/2s-AGCN). Centre: 20, spine shoulder
    (ST-GCN / 2s-AGCN graph centre ``21 - 1``).
``kinect20``
    Kinect v1, 20 joints: NW-UCLA, UTKinect-Action3D, MSR Action3D. Order from the Kinect SDK v1 /
    ``shared/data/README.md``, bones are CTR-GCN's ``graph/ucla.py`` (Uason-Chen/CTR-GCN). Centre: 1, spine.
``imigue22``
    The OpenPose upper body used by iMiGUE, 22 joints, in the order of iMiGUE's official converter
    (mikecheninoulu/SMG ``classification/iMiGUE/stgcn_imigue/tools/imigue_gendata.py``): 0 nose, 1 neck,
    2 right_shoulder, 3 right_elbow, 4 right_wrist, 5 left_shoulder, 6 left_elbow, 7 left_wrist
    (BODY_25 0-7), 8 right_eye, 9 left_eye, 10 right_ear, 11 left_ear (BODY_25 15-18), 12-16 right
    thumb/index/middle/ring/pinky tip, 17-21 left thumb/.../pinky tip (OpenPose hand keypoints 4, 8, 12, 16,
    20). Fingertips hang off their wrist. Centre: 1, neck.
``smg25``
    SMG, Kinect v2, 25 joints: identical order to ``ntu25`` (mikecheninoulu/SMG ``SMGaccessSample.py``
    reads SpineBase, SpineMid, ..., ThumbRight, the Kinect v2 SDK ``JointType`` order, and its ST-GCN
    baseline is configured with the ``ntu-rgb+d`` layout), so it shares ``ntu25``'s bones and centre. (That
    baseline's own ``ntu-rgb+d`` edge list is a non-anatomical custom graph; we keep the anatomical tree.)
``coco17``
    The 17 COCO keypoints of 2-D pose estimators (HRNet), as in pyskl's 2-D pickles: 0 nose, 1-4 left/right
    eye, left/right ear, 5-16 left/right shoulder, elbow, wrist, hip, knee, ankle. Bones are pyskl's
    ``utils/graph.py`` ``coco`` ``inward`` (kennymckormick/pyskl), centre 0 (nose), as there.

Custom layouts come from :meth:`Layout.custom` (or a mapping, :meth:`Layout.from_dict`: the form of a YAML
``data.layout`` and of ``meta.json``) and can be registered with :func:`register_layout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Sequence, Tuple, Union

import numpy as np

__all__ = ["Layout", "available_layouts", "get_layout", "is_builtin", "layout_from_spec", "register_layout"]

JointRef = Union[int, str]  # a joint given by index or by name (Layout.custom only)


def _as_index(what: str, value) -> int:
    # Accept numpy integers (e.g. from a bone_array round trip) but not bools or floats.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what}: expected an integer joint index, got {type(value).__name__} {value!r}")
    return int(value)


@dataclass(frozen=True)
class Layout:
    """One skeleton joint order.

    Attributes:
        name: registry name, e.g. ``"ntu25"``.
        joint_names: snake_case joint names, one per joint, unique.
        bones: ``(child, parent)`` index pairs; ``V - 1`` of them forming a tree over all joints, every joint
            the child of at most one bone (so exactly one joint, the root, is nobody's child).
        center: index of the centre joint (centring, graph partitioning); must be its own mirror.
        left_right: for each joint, the index of its mirror joint; an involution, centre-line joints map to
            themselves.
    """

    name: str
    joint_names: Tuple[str, ...]
    bones: Tuple[Tuple[int, int], ...]
    center: int
    left_right: Tuple[int, ...]

    def __post_init__(self) -> None:
        # Normalise to tuples of plain ints first, so a Layout built from lists or numpy is still hashable.
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Layout name: expected a non-empty string, got {self.name!r}")
        where = f"layout {self.name!r}"
        names = tuple(self.joint_names)
        for n in names:
            if not isinstance(n, str) or not n:
                raise ValueError(f"{where}: joint names must be non-empty strings, got {n!r}")
        bones = []
        for b in self.bones:
            if len(b) != 2:
                raise ValueError(f"{where}: each bone must be a (child, parent) pair, got {tuple(b)!r}")
            bones.append((_as_index(f"{where}: bone {tuple(b)!r}", b[0]),
                          _as_index(f"{where}: bone {tuple(b)!r}", b[1])))
        lr = tuple(_as_index(f"{where}: left_right", v) for v in self.left_right)
        center = _as_index(f"{where}: center", self.center)
        object.__setattr__(self, "joint_names", names)
        object.__setattr__(self, "bones", tuple(bones))
        object.__setattr__(self, "left_right", lr)
        object.__setattr__(self, "center", center)
        self._validate()

    def _validate(self) -> None:
        where = f"layout {self.name!r}"
        v = len(self.joint_names)
        if v == 0:
            raise ValueError(f"{where}: expected at least one joint, got none")
        seen: Dict[str, int] = {}
        for i, n in enumerate(self.joint_names):
            if n in seen:
                raise ValueError(f"{where}: duplicate joint name {n!r} at indices {seen[n]} and {i}")
            seen[n] = i
        if not 0 <= self.center < v:
            raise ValueError(f"{where}: center {self.center} out of range [0, {v})")

        if len(self.left_right) != v:
            raise ValueError(f"{where}: left_right has {len(self.left_right)} entries, expected one per "
                             f"joint ({v})")
        for i, m in enumerate(self.left_right):
            if not 0 <= m < v:
                raise ValueError(f"{where}: left_right[{i}] = {m} out of range [0, {v})")
        for i, m in enumerate(self.left_right):
            if self.left_right[m] != i:
                raise ValueError(f"{where}: left_right is not an involution: {i} -> {m} but {m} -> "
                                 f"{self.left_right[m]}")
        if self.left_right[self.center] != self.center:
            # Flipping must not move the centre, or flip-then-centre would differ from centre-then-flip.
            raise ValueError(f"{where}: center {self.center} ({self.joint_names[self.center]}) must be its "
                             f"own mirror, but left_right maps it to {self.left_right[self.center]}")

        if len(self.bones) != v - 1:
            raise ValueError(f"{where}: bones are not a spanning tree: a tree over {v} joints has {v - 1} "
                             f"bones, got {len(self.bones)}")
        parent_of: Dict[int, int] = {}
        for c, p in self.bones:
            for j in (c, p):
                if not 0 <= j < v:
                    raise ValueError(f"{where}: bone ({c}, {p}) has joint index {j} out of range [0, {v})")
            if c == p:
                raise ValueError(f"{where}: bone ({c}, {p}) connects joint {c} to itself")
            if c in parent_of:
                raise ValueError(f"{where}: joint {c} ({self.joint_names[c]}) is the child of two bones "
                                 f"(parents {parent_of[c]} and {p})")
            parent_of[c] = p
        # V-1 edges + connected <=> tree. Union-find over the undirected edges.
        root = list(range(v))

        def find(a: int) -> int:
            while root[a] != a:
                root[a] = root[root[a]]
                a = root[a]
            return a

        for c, p in self.bones:
            root[find(c)] = find(p)
        unreached = [i for i in range(v) if find(i) != find(self.center)]
        if unreached:
            names = ", ".join(f"{i} ({self.joint_names[i]})" for i in unreached)
            raise ValueError(f"{where}: bones are not a spanning tree: not connected to the center: {names}")

    # -- queries ---------------------------------------------------------------------------------------------

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_bones(self) -> int:
        return len(self.bones)

    def index(self, name: str) -> int:
        """Index of the joint called ``name``."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise ValueError(f"layout {self.name!r} has no joint {name!r}; joints: "
                             f"{', '.join(self.joint_names)}") from None

    def flip_permutation(self) -> Tuple[int, ...]:
        """``perm`` such that ``x[..., perm, :]`` is the left/right mirrored skeleton (joint relabelling only;
        negating x is the caller's choice)."""
        return self.left_right

    def to_dict(self) -> Dict[str, object]:
        """The whole layout as plain data (``{"name", "joints", "bones", "center", "left_right"}``), the form
        :meth:`from_dict` reads and ``meta.json`` / checkpoints store."""
        return {"name": self.name, "joints": list(self.joint_names), "bones": [list(b) for b in self.bones],
                "center": self.center, "left_right": list(self.left_right)}

    def bone_array(self) -> np.ndarray:
        """Bones as an int64 array of shape ``(num_bones, 2)``, columns ``(child, parent)``."""
        return np.asarray(self.bones, dtype=np.int64).reshape(len(self.bones), 2)

    def bone_matrix(self, self_loops: bool = False) -> np.ndarray:
        """Symmetric 0/1 float32 ``(V, V)`` matrix of the bone graph; ``self_loops`` adds the identity. (The
        normalised 3-subset adjacency of graph convolutions is :func:`mgclr.skeleton.adjacency`.)"""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        if self.bones:
            b = self.bone_array()
            a[b[:, 0], b[:, 1]] = 1.0
            a[b[:, 1], b[:, 0]] = 1.0
        if self_loops:
            a[np.diag_indices(self.num_joints)] = 1.0
        return a

    # -- construction ----------------------------------------------------------------------------------------

    @classmethod
    def custom(cls, name: str, joint_names: Sequence[str], bones: Sequence[Tuple[JointRef, JointRef]],
               center: JointRef, left_right: Sequence[int] | None = None) -> Layout:
        """Build a layout; bones and centre may be given as indices or joint names.

        ``left_right=None`` pairs every ``left_X`` with ``right_X`` and maps all other joints to themselves
        (the identity when no name has a side prefix). A ``left_X`` without ``right_X`` (or the reverse) is an
        error, because a flip would silently leave that limb on the wrong side.
        """
        names = tuple(joint_names)
        lookup = {n: i for i, n in enumerate(names)}

        def resolve(what: str, j) -> int:
            if isinstance(j, str):
                if j not in lookup:
                    raise ValueError(f"layout {name!r}: {what} names unknown joint {j!r}")
                return lookup[j]
            return j

        bones_idx = tuple((resolve(f"bone {tuple(b)!r}", b[0]), resolve(f"bone {tuple(b)!r}", b[1]))
                          if len(b) == 2 else tuple(b) for b in bones)
        center_idx = resolve("center", center)
        if left_right is None:
            left_right = _infer_left_right(name, names)
        return cls(name=name, joint_names=names, bones=bones_idx, center=center_idx,
                   left_right=tuple(left_right))


    @classmethod
    def from_dict(cls, data, where: str = "layout") -> Layout:
        """A layout from a mapping ``{name, joints, bones, center[, left_right]}`` (bones and centre by index or
        joint name; ``left_right`` inferred from ``left_``/``right_`` names when absent; ``joint_names`` is
        read as ``joints``). Errors name ``where`` and the key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a layout name or a mapping {{name, joints, bones, center}}, got "
                             f"{data!r}")
        data = dict(data)
        if "joint_names" in data and "joints" not in data:
            data["joints"] = data.pop("joint_names")
        allowed = {"name", "joints", "bones", "center", "left_right"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: unknown key; a layout takes {', '.join(sorted(allowed))}")
        missing = [k for k in ("name", "joints", "bones", "center") if k not in data]
        if missing:
            raise ValueError(f"{where}.{missing[0]}: missing (a layout needs name, joints, bones, center)")
        if not isinstance(data["joints"], (list, tuple)) or not isinstance(data["bones"], (list, tuple)):
            raise ValueError(f"{where}: joints and bones: expected lists, got {type(data['joints']).__name__} and "
                             f"{type(data['bones']).__name__}")
        try:
            return cls.custom(str(data["name"]), data["joints"], [tuple(b) for b in data["bones"]], data["center"],
                              data.get("left_right"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None


def _infer_left_right(layout_name: str, names: Tuple[str, ...]) -> Tuple[int, ...]:
    lookup = {n: i for i, n in enumerate(names)}
    perm = list(range(len(names)))
    for i, n in enumerate(names):
        for side, other in (("left_", "right_"), ("right_", "left_")):
            if n.startswith(side):
                partner = other + n[len(side):]
                if partner not in lookup:
                    raise ValueError(f"layout {layout_name!r}: cannot infer left_right: joint {n!r} has no "
                                     f"mirror joint {partner!r}; pass left_right explicitly")
                perm[i] = lookup[partner]
    return tuple(perm)


# -- built-in layouts ----------------------------------------------------------------------------------------


def _one_based(pairs: Sequence[Tuple[int, int]]) -> Tuple[Tuple[int, int], ...]:
    # Published graph files list 1-based (child, parent) pairs; copying them verbatim keeps them checkable.
    return tuple((c - 1, p - 1) for c, p in pairs)


# NTU RGB+D joint order (README of shahroudy/NTURGB-D, 1-based there): 1 base of spine, 2 middle of spine,
# 3 neck, 4 head, 5-8 left shoulder/elbow/wrist/hand, 9-12 right ..., 13-16 left hip/knee/ankle/foot,
# 17-20 right ..., 21 spine (shoulder), 22 tip of left hand, 23 left thumb, 24 tip of right hand,
# 25 right thumb.
# This is the Kinect v2 SDK JointType order, which SMG also records.
_KINECT_V2_JOINTS = (
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)
# 2s-AGCN graph/ntu_rgb_d.py inward_ori_index, verbatim (1-based). Every edge points towards joint 21 (spine
# shoulder), the tree's root. Note the hand tip hangs off the thumb (22 -> 23 -> 8), not off the hand: we keep
# the published graph so adjacency-based models match the papers they reproduce.
_NTU_BONES = _one_based([
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10), (12, 11),
    (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25),
    (25, 12),
])
# Centre 20 (spine shoulder): ST-GCN's and 2s-AGCN's NTU graph use ``center = 21 - 1``. 2s-AGCN's data
# pre-normalisation instead subtracts joint index 1 (middle of spine); the NTU converter does that itself.
_NTU_CENTER = 20

# Kinect SDK v1 order (NW-UCLA all_sqe, UTKinect, MSR Action3D; see shared/data/README.md).
_KINECT_V1_JOINTS = (
    "hip_center", "spine", "shoulder_center", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)
# CTR-GCN graph/ucla.py inward_ori_index, verbatim (1-based); edges point towards shoulder centre (3).
_KINECT_V1_BONES = _one_based([
    (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11), (13, 1),
    (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
])

# iMiGUE: the official converter (mikecheninoulu/SMG, classification/iMiGUE/stgcn_imigue/tools/
# imigue_gendata.py, ``used_joints``) keeps, from its per-frame CSV of OpenPose BODY_25 + fingertips, BODY_25
# joints 0-7 (nose, neck, R/L shoulder, elbow, wrist), 15-18 (REye, LEye, REar, LEar), then five fingertips of
# one hand and five of the other. We keep that order:
#   0 nose, 1 neck, 2 right_shoulder, 3 right_elbow, 4 right_wrist, 5 left_shoulder, 6 left_elbow,
#   7 left_wrist, 8 right_eye, 9 left_eye, 10 right_ear, 11 left_ear,
#   12-16 right thumb/index/middle/ring/pinky tip, 17-21 the same for the left hand.
# Sides are the person's (OpenPose's convention). iMiGUE's own code names joints from the image side
# ("ShoulderLeft" for BODY_25's RShoulder) and lists "RightFinger1-5" before "LeftFinger1-5" in
# _light_hand.csv; which side those are is not documented (mgclr.data.convert.imigue reads the first five as
# the person's left hand, option csv_first_hand). Fingers in OpenPose hand-model order (tips 4, 8, 12, 16, 20:
# thumb ... pinky).
_IMIGUE_JOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "right_thumb_tip", "right_index_tip", "right_middle_tip", "right_ring_tip", "right_pinky_tip",
    "left_thumb_tip", "left_index_tip", "left_middle_tip", "left_ring_tip", "left_pinky_tip",
)
# BODY_25 limbs (neck-shoulder-elbow-wrist, neck-nose, nose-eye-ear); each fingertip hangs off its wrist
# because the intermediate hand keypoints are not kept. Edges point towards the neck.
_IMIGUE_BONES = (
    (0, 1), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6),
    (8, 0), (9, 0), (10, 8), (11, 9),
    (12, 4), (13, 4), (14, 4), (15, 4), (16, 4),
    (17, 7), (18, 7), (19, 7), (20, 7), (21, 7),
)

# COCO keypoints; pyskl utils/graph.py layout 'coco' (inward edges, 0-based, child first) and centre 0.
_COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
_COCO_BONES = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6), (5, 0),
               (6, 0), (1, 0), (3, 1), (2, 0), (4, 2))

_BUILTIN = (
    Layout.custom("ntu25", _KINECT_V2_JOINTS, _NTU_BONES, _NTU_CENTER),
    Layout.custom("kinect20", _KINECT_V1_JOINTS, _KINECT_V1_BONES, "spine"),
    Layout.custom("imigue22", _IMIGUE_JOINTS, _IMIGUE_BONES, "neck"),
    Layout.custom("smg25", _KINECT_V2_JOINTS, _NTU_BONES, _NTU_CENTER),
    Layout.custom("coco17", _COCO_JOINTS, _COCO_BONES, "nose"),
)
_BUILTIN_NAMES = frozenset(layout.name for layout in _BUILTIN)

_REGISTRY: Dict[str, Layout] = {layout.name: layout for layout in _BUILTIN}


def available_layouts() -> Tuple[str, ...]:
    """Names of the registered layouts, sorted."""
    return tuple(sorted(_REGISTRY))


def register_layout(layout: Layout, *, overwrite: bool = False) -> Layout:
    """Register ``layout`` under ``layout.name``; registering an equal layout again is a no-op."""
    if not isinstance(layout, Layout):
        raise TypeError(f"register_layout: expected a Layout, got {type(layout).__name__}")
    existing = _REGISTRY.get(layout.name)
    if existing is not None and existing != layout and not overwrite:
        raise ValueError(f"register_layout: a different layout named {layout.name!r} is already registered; "
                         f"pass overwrite=True to replace it")
    _REGISTRY[layout.name] = layout
    return layout


def get_layout(name_or_layout: Union[str, Layout]) -> Layout:
    """Return the registered layout called ``name_or_layout``, or the Layout itself."""
    if isinstance(name_or_layout, Layout):
        return name_or_layout
    if not isinstance(name_or_layout, str):
        raise TypeError(f"layout: expected a layout name or a Layout, got {type(name_or_layout).__name__}")
    try:
        return _REGISTRY[name_or_layout]
    except KeyError:
        raise ValueError(f"layout: unknown layout {name_or_layout!r}; known layouts: "
                         f"{', '.join(available_layouts())}") from None


def is_builtin(layout: Layout) -> bool:
    """True when ``layout`` is one of mgclr's built-in layouts (same name and same content)."""
    return layout.name in _BUILTIN_NAMES and _REGISTRY.get(layout.name) == layout


def layout_from_spec(spec: Any, where: str = "layout") -> Layout:
    """A layout from a name (registered), a :class:`Layout`, or a mapping (:meth:`Layout.from_dict`). A mapping
    that reuses a built-in layout's name with other content is an error (a name means one layout)."""
    if isinstance(spec, Layout):
        return spec
    if isinstance(spec, str):
        try:
            return get_layout(spec)
        except ValueError as exc:
            raise ValueError(f"{where}: {str(exc).removeprefix('layout: ')}") from None
    layout = Layout.from_dict(spec, where)
    if layout.name in _BUILTIN_NAMES and _REGISTRY[layout.name] != layout:
        raise ValueError(f"{where}: name {layout.name!r} is a built-in layout with other joints or bones; give "
                         f"the custom layout another name")
    return layout
