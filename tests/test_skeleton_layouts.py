"""mgclr.skeleton layouts: built-in layouts, validation errors, registry, real NW-UCLA data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mgclr.skeleton import Layout, available_layouts, get_layout, register_layout

BUILTINS = ("ntu25", "kinect20", "imigue22", "smg25", "coco17")
EXPECTED_SIZE = {"ntu25": 25, "kinect20": 20, "imigue22": 22, "smg25": 25, "coco17": 17}


def _data_dir() -> Path:
    env = os.environ.get("MGCLR_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


# -- built-in layouts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_sizes_and_tree(name):
    layout = get_layout(name)
    v = EXPECTED_SIZE[name]
    assert layout.name == name
    assert layout.num_joints == v == len(layout.joint_names) == len(layout.left_right)
    assert len(set(layout.joint_names)) == v
    bones = layout.bone_array()
    assert bones.shape == (v - 1, 2) and bones.dtype == np.int64
    assert 0 <= layout.center < v
    # Connected: a breadth-first walk from the centre over the bones reaches every joint.
    adj = layout.bone_matrix()
    reached, frontier = {layout.center}, [layout.center]
    while frontier:
        nxt = [int(j) for i in frontier for j in np.flatnonzero(adj[i]) if int(j) not in reached]
        reached.update(nxt)
        frontier = nxt
    assert reached == set(range(v))


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_mirror(name):
    layout = get_layout(name)
    perm = layout.flip_permutation()
    assert sorted(perm) == list(range(layout.num_joints))
    assert all(perm[perm[i]] == i for i in range(layout.num_joints))
    assert perm[layout.center] == layout.center
    for i, n in enumerate(layout.joint_names):
        if n.startswith("left_"):
            assert layout.joint_names[perm[i]] == "right_" + n[len("left_"):]
        elif n.startswith("right_"):
            assert layout.joint_names[perm[i]] == "left_" + n[len("right_"):]
        else:
            assert perm[i] == i, f"centre-line joint {n} must map to itself"
    # Flipping a bone gives a bone (same orientation), so mirrored skeletons have mirrored bone vectors.
    bones = set(layout.bones)
    assert {(perm[c], perm[p]) for c, p in bones} == bones


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_bone_matrix(name):
    layout = get_layout(name)
    a = layout.bone_matrix()
    v = layout.num_joints
    assert a.shape == (v, v) and a.dtype == np.float32
    np.testing.assert_array_equal(a, a.T)
    assert a.sum() == 2 * (v - 1) and np.all(np.diag(a) == 0)
    a1 = layout.bone_matrix(self_loops=True)
    np.testing.assert_array_equal(a1, a + np.eye(v, dtype=np.float32))


def test_published_orders():
    # Spot checks against the published orders cited in the module docstring.
    ntu = get_layout("ntu25")
    assert ntu.index("spine_base") == 0 and ntu.index("head") == 3 and ntu.index("spine_shoulder") == 20
    assert ntu.index("right_thumb") == 24 and ntu.center == 20
    assert (ntu.index("left_hand_tip"), ntu.index("left_thumb")) in ntu.bones  # 2s-AGCN edge (22, 23)
    k = get_layout("kinect20")
    assert [k.index(n) for n in ("hip_center", "spine", "shoulder_center", "head")] == [0, 1, 2, 3]
    assert k.index("left_shoulder") == 4 and k.index("right_foot") == 19 and k.center == 1
    im = get_layout("imigue22")
    assert im.joint_names[:8] == ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
                                  "left_shoulder", "left_elbow", "left_wrist")
    assert im.center == im.index("neck") == 1
    for side in ("left", "right"):
        wrist = im.index(f"{side}_wrist")
        tips = [i for i, n in enumerate(im.joint_names) if n.startswith(side) and n.endswith("_tip")]
        assert len(tips) == 5 and all((t, wrist) in im.bones for t in tips)
    smg = get_layout("smg25")
    assert smg.joint_names == ntu.joint_names and smg.bones == ntu.bones


def test_layout_is_hashable_and_frozen():
    layout = get_layout("kinect20")
    assert hash(layout) == hash(Layout.custom("kinect20", layout.joint_names, layout.bones, layout.center))
    with pytest.raises(AttributeError):
        layout.center = 0


# -- custom layouts and validation ---------------------------------------------------------------------------

NAMES3 = ("neck", "left_hand", "right_hand")
BONES3 = ((1, 0), (2, 0))


def test_custom_infers_mirror_and_resolves_names():
    layout = Layout.custom("t3", NAMES3, (("left_hand", "neck"), ("right_hand", "neck")), "neck")
    assert layout.bones == BONES3 and layout.center == 0
    assert layout.flip_permutation() == (0, 2, 1)
    plain = Layout.custom("chain", ("a", "b", "c"), ((1, 0), (2, 1)), 0)
    assert plain.left_right == (0, 1, 2)


def test_custom_accepts_numpy_indices():
    layout = Layout.custom("np3", NAMES3, np.array(BONES3), np.int64(0), left_right=np.array([0, 2, 1]))
    assert layout.bones == BONES3 and type(layout.center) is int


@pytest.mark.parametrize("kwargs, match", [
    (dict(joint_names=("neck", "neck", "right_hand")), "duplicate joint name 'neck'"),
    (dict(joint_names=()), "at least one joint"),
    (dict(center=3), r"center 3 out of range \[0, 3\)"),
    (dict(left_right=(0, 1)), "left_right has 2 entries, expected one per joint"),
    (dict(left_right=(0, 2, 5)), r"left_right\[2\] = 5 out of range"),
    (dict(left_right=(1, 2, 0)), "not an involution"),
    (dict(left_right=(1, 0, 2)), "center 0 .* must be its own mirror"),
    (dict(bones=((1, 0),)), "not a spanning tree: a tree over 3 joints has 2 bones, got 1"),
    (dict(bones=((1, 0), (2, 7))), r"joint index 7 out of range"),
    (dict(bones=((1, 0), (2, 2))), "connects joint 2 to itself"),
    (dict(bones=((1, 0), (1, 2))), "joint 1 .* is the child of two bones"),
    (dict(bones=((1, 2), (2, 1))), r"not connected to the center: 1 \(left_hand\), 2 \(right_hand\)"),
    (dict(bones=((1, 0), (2, 0, 1))), r"\(child, parent\) pair"),
    (dict(center=1.0), "center: expected an integer joint index"),
])
def test_validation_errors(kwargs, match):
    args = dict(name="bad", joint_names=NAMES3, bones=BONES3, center=0, left_right=(0, 2, 1))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Layout(**args)


def test_validation_error_empty_name():
    with pytest.raises(ValueError, match="non-empty string"):
        Layout("", NAMES3, BONES3, 0, (0, 2, 1))


def test_custom_errors():
    with pytest.raises(ValueError, match="no mirror joint 'right_knee'"):
        Layout.custom("c", ("neck", "left_knee"), ((1, 0),), 0)
    with pytest.raises(ValueError, match="unknown joint 'hip'"):
        Layout.custom("c", NAMES3, (("left_hand", "hip"), (2, 0)), 0)
    with pytest.raises(ValueError, match="center names unknown joint 'pelvis'"):
        Layout.custom("c", NAMES3, BONES3, "pelvis")


def test_index_unknown_joint():
    with pytest.raises(ValueError, match="layout 'kinect20' has no joint 'nose'"):
        get_layout("kinect20").index("nose")


# -- registry ------------------------------------------------------------------------------------------------


def test_registry_builtins_and_unknown_name():
    assert set(BUILTINS) <= set(available_layouts())
    layout = get_layout("ntu25")
    assert get_layout(layout) is layout
    known = "known layouts: .*imigue22.*kinect20.*ntu25.*smg25"
    with pytest.raises(ValueError, match=f"unknown layout 'ntu60'; {known}"):
        get_layout("ntu60")
    with pytest.raises(TypeError, match="expected a layout name or a Layout"):
        get_layout(25)


def test_register_layout():
    layout = Layout.custom("test_reg_t3", NAMES3, BONES3, 0)
    try:
        assert register_layout(layout) is layout
        assert get_layout("test_reg_t3") is layout and "test_reg_t3" in available_layouts()
        register_layout(Layout.custom("test_reg_t3", NAMES3, BONES3, 0))  # equal: no-op
        other = Layout.custom("test_reg_t3", NAMES3, ((1, 0), (2, 1)), 0)
        with pytest.raises(ValueError, match="different layout named 'test_reg_t3' is already registered"):
            register_layout(other)
        register_layout(other, overwrite=True)
        assert get_layout("test_reg_t3") is other
        with pytest.raises(TypeError, match="expected a Layout"):
            register_layout("test_reg_t3")
    finally:
        from mgclr.skeleton import layouts as _mod
        _mod._REGISTRY.pop("test_reg_t3", None)


# -- real data -----------------------------------------------------------------------------------------------


@pytest.mark.data
def test_kinect20_matches_nw_ucla():
    folder = _data_dir() / "nw_ucla"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"NW-UCLA data not found in {folder} (set MGCLR_DATA_DIR to the folder holding nw_ucla/)")
    path = folder / "a01_s01_e00_v01.json"
    path = path if path.exists() else files[0]
    x = np.asarray(json.loads(path.read_text())["skeletons"], dtype=np.float64)  # (T, 20, 3), metres
    layout = get_layout("kinect20")
    assert x.shape[1:] == (layout.num_joints, 3), path.name
    perm = layout.flip_permutation()
    left = [layout.index(n) for n in ("left_shoulder", "left_elbow", "left_wrist", "left_hand")]
    ratios = []
    for c, p in layout.bones:
        if c in left and p in left:
            left_len = np.linalg.norm(x[:, c] - x[:, p], axis=-1).mean()
            right_len = np.linalg.norm(x[:, perm[c]] - x[:, perm[p]], axis=-1).mean()
            ratios.append(left_len / right_len)
    assert len(ratios) == 3
    assert 0.7 <= float(np.mean(ratios)) <= 1.3, (path.name, ratios)
    # Kinect camera space has y up: the head is above the hip centre.
    assert x[:, layout.index("head"), 1].mean() > x[:, layout.index("hip_center"), 1].mean(), path.name


def test_coco17_is_pyskls_coco_graph():
    coco = get_layout("coco17")
    assert coco.joint_names[:5] == ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    assert coco.joint_names[15:] == ("left_ankle", "right_ankle") and coco.center == 0
    # pyskl utils/graph.py layout 'coco' inward edges, verbatim
    assert coco.bones == ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6),
                          (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2))
    assert coco.left_right[5] == 6 and coco.left_right[15] == 16 and coco.left_right[0] == 0


def test_layout_from_a_mapping_round_trips_and_names_bad_keys():
    from mgclr.skeleton import is_builtin, layout_from_spec

    spec = {"name": "tri3_map", "joints": ["centre", "left_arm", "right_arm"],
            "bones": [["left_arm", "centre"], [2, 0]], "center": "centre"}
    layout = layout_from_spec(spec, "data.layout")
    assert layout.bones == ((1, 0), (2, 0)) and layout.left_right == (0, 2, 1) and not is_builtin(layout)
    assert Layout.from_dict(layout.to_dict()) == layout
    assert is_builtin(get_layout("ntu25")) and layout_from_spec("ntu25") is get_layout("ntu25")
    with pytest.raises(ValueError, match=r"data.layout.center: missing"):
        layout_from_spec({k: v for k, v in spec.items() if k != "center"}, "data.layout")
    with pytest.raises(ValueError, match=r"data.layout: layout 'tri3_map': bone .* names unknown joint 'leg'"):
        layout_from_spec({**spec, "bones": [["leg", "centre"], [2, 0]]}, "data.layout")
    with pytest.raises(ValueError, match=r"data.layout: unknown layout 'ntu26'"):
        layout_from_spec("ntu26", "data.layout")
