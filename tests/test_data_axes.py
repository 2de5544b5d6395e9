"""mgclr.data.axes: every dataset declares which way its axes point; the converters' declarations are checked
on the real files (NW-UCLA, UTKinect) and on the NTU converter's output; the viewer draws every declared
frame upright; a flip that negates x refuses data whose left-right axis is another."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import data_dir

from mgclr.data.axes import CANONICAL, CANONICAL_2D, IMAGE, KINECT, NTU_2S_AGCN, canonical_matrix, check_axes
from mgclr.data.convert.nw_ucla import convert_nw_ucla, read_sequence
from mgclr.data.convert.utkinect import convert_utkinect
from mgclr.data.format import DatasetWriter, SkeletonDataset
from mgclr.data.info import DatasetInfo
from mgclr.skeleton import get_layout
from mgclr.train.build import build_pipeline
from mgclr.train.config import ConfigError, load_config
from mgclr.viz import project

NW_UCLA, UTKINECT = data_dir() / "nw_ucla", data_dir() / "utkinect"
HEAD, HIP_CENTRE, LEFT_SHOULDER, RIGHT_SHOULDER = 3, 0, 4, 8  # kinect20


@pytest.mark.parametrize("spec, coords, message", [
    ({"up": "+y"}, 3, r"axes.left: missing"),
    ({"up": "+w", "left": "+x", "handedness": "right"}, 3, r"axes.up: expected one of \+x, -x, \+y, -y, \+z, -z"),
    ({"up": "+z", "left": "+x", "handedness": None}, 2, r"axes.up: expected one of \+x, -x, \+y, -y, got '\+z'"),
    ({"up": "+y", "left": "-y", "handedness": "right"}, 3, r"up \(\+y\) and left \(-y\) are the same axis"),
    ({"up": "+y", "left": "+x"}, 3, r"axes.handedness: expected 'right' or 'left' for 3-D coordinates, got None"),
    ({"up": "+y", "left": "+x", "handedness": "right"}, 2, r"2-D coordinates have none"),
    ({"up": "+y", "left": "+x", "down": "-y"}, 2, r"unknown key 'down'"),
    ("+y", 3, r"axes: expected a mapping"),
])
def test_a_bad_declaration_is_named(spec, coords, message):
    with pytest.raises(ValueError, match=message):
        check_axes(spec, coords)


def test_canonical_matrix_takes_each_declared_frame_to_left_up_facing():
    # A body in each declared frame: the unit vectors toward its left, its head and the way it faces.
    np.testing.assert_array_equal(canonical_matrix(CANONICAL, 3), np.eye(3))
    kinect = canonical_matrix(KINECT, 3)
    np.testing.assert_array_equal(kinect @ [-1, 0, 0], [1, 0, 0])  # Kinect -x: the person's left
    np.testing.assert_array_equal(kinect @ [0, 0, -1], [0, 0, 1])  # facing the camera: -z
    ntu = canonical_matrix(NTU_2S_AGCN, 3)
    np.testing.assert_array_equal(ntu @ [0, 0, 1], [0, 1, 0])  # the spine on +z is up
    np.testing.assert_array_equal(ntu @ [-1, 0, 0], [1, 0, 0])  # right - left shoulder on +x
    for axes in (CANONICAL, KINECT, NTU_2S_AGCN):
        assert np.linalg.det(canonical_matrix(axes, 3)) == pytest.approx(1.0)  # a rotation
    mirrored = dict(KINECT, handedness="left")
    assert np.linalg.det(canonical_matrix(mirrored, 3)) == pytest.approx(-1.0)  # a reflection
    np.testing.assert_array_equal(canonical_matrix(IMAGE, 2) @ [0, 10], [0, -10])  # pixels grow down
    np.testing.assert_array_equal(canonical_matrix(CANONICAL_2D, 2), np.eye(2))


def _kinect_vectors(sequences):
    """Mean left-shoulder - right-shoulder, head - hip centre and hip-centre position of raw (T, 20, 3) files."""
    left = np.mean([(s[:, LEFT_SHOULDER] - s[:, RIGHT_SHOULDER]).mean(0) for s in sequences], axis=0)
    up = np.mean([(s[:, HEAD] - s[:, HIP_CENTRE]).mean(0) for s in sequences], axis=0)
    where = np.mean([s[:, HIP_CENTRE].mean(0) for s in sequences], axis=0)
    return left, up, where


def _check_kinect_declaration(left, up, where):
    """The declaration read against the raw camera-space files: left and up as declared, and the way the
    person faces (from the handedness) points back to the camera at the origin, as the recorded people face it."""
    R = canonical_matrix(KINECT, 3)
    left_c, up_c, where_c = R @ left, R @ up, R @ where
    assert left_c[0] > 0.2 and abs(left_c[1]) < 0.05 and abs(left_c[2]) < 0.05
    assert up_c[1] > 0.5 and abs(up_c[0]) < 0.05
    assert where_c[2] < -1.0  # the person stands in front of the camera, facing it: the camera is ahead


@pytest.mark.skipif(not NW_UCLA.is_dir(), reason=f"NW-UCLA data not found in {NW_UCLA} (../shared/data)")
def test_kinect_declaration_on_real_nw_ucla(tmp_path):
    files = sorted(NW_UCLA.glob("*.json"))[::40]
    _check_kinect_declaration(*_kinect_vectors([read_sequence(f) for f in files]))
    src = tmp_path / "src"
    src.mkdir()
    for f in files[:6]:
        (src / f.name).write_bytes(f.read_bytes())
    convert_nw_ucla(src, tmp_path / "out", progress=False)
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["axes"] == KINECT
    assert SkeletonDataset(tmp_path / "out").info.axes == KINECT


@pytest.mark.skipif(not UTKINECT.is_dir(), reason=f"UTKinect data not found in {UTKINECT} (../shared/data)")
def test_kinect_declaration_on_real_utkinect(tmp_path):
    sequences = [np.loadtxt(f)[:, 1:].reshape(-1, 20, 3) for f in sorted(UTKINECT.glob("joints_*.txt"))]
    _check_kinect_declaration(*_kinect_vectors(sequences))
    convert_utkinect(UTKINECT, tmp_path / "out", progress=False)
    info = SkeletonDataset(tmp_path / "out").info
    assert info.axes == KINECT
    # Drawn: the head above the hip centre, the left shoulder on the viewer's right, in every 3-D view.
    x = np.asarray(SkeletonDataset(tmp_path / "out").data[0])
    for view in ((0.0, 0.0), (10.0, 25.0)):
        screen = project(x, 3, view, info.axes)[0, :, 0]  # frame 0, person 0: (V, 2)
        assert screen[HEAD, 1] > screen[HIP_CENTRE, 1] + 0.3
        assert screen[LEFT_SHOULDER, 0] > screen[RIGHT_SHOULDER, 0]


def test_ntu_converter_declares_the_2s_agcn_frame(tmp_path):
    from test_convert_ntu import convert, posed, write

    write(tmp_path / "src", "S001C002P003R002A013", [[posed((0.1, 0.2, 3.0))]] * 3)
    convert(tmp_path / "src", tmp_path / "out")
    ds = SkeletonDataset(tmp_path / "out")
    assert ds.info.axes == NTU_2S_AGCN
    x = ds[0][0].numpy()
    spine, shoulders = x[:, 0, 1, 0] - x[:, 0, 0, 0], x[:, 0, 4, 0] - x[:, 0, 8, 0]  # base -> mid, right -> left
    R = canonical_matrix(ds.info.axes, 3)
    assert (R @ spine)[1] > 0.9 * np.linalg.norm(spine) and (R @ shoulders)[0] > 0.9 * np.linalg.norm(shoulders)
    # Drawn from the default view: upright, not "from above as flat lines".
    screen = project(x, 3, axes=ds.info.axes)[0, :, 0]
    assert screen[1, 1] - screen[0, 1] > 0.2 and abs(screen[1, 0] - screen[0, 0]) < 0.1


def test_writer_and_info_carry_axes(tmp_path):
    writer = DatasetWriter(tmp_path / "d", channels=3, frames=4, joints=25, persons=1, layout="ntu25",
                           class_names=["a"], axes={"up": "+z", "left": "-x", "handedness": "right"})
    writer.add(np.ones((3, 4, 25, 1), np.float32), 4, 0)
    writer.finish(splits={}, normalisation="none", provenance={})
    info = SkeletonDataset(tmp_path / "d").info
    assert info.axes == NTU_2S_AGCN and DatasetInfo.from_dict(info.to_dict()).axes == NTU_2S_AGCN
    with pytest.raises(ValueError, match=r"axes.up: expected one of"):
        DatasetWriter(tmp_path / "e", channels=3, frames=4, joints=25, persons=1, layout="ntu25",
                      class_names=["a"], axes={"up": "up", "left": "-x", "handedness": "right"})
    old = DatasetInfo.from_dict({k: v for k, v in info.to_dict().items() if k != "axes"})  # an older checkpoint
    assert old.axes is None


def test_flip_with_mirror_x_refuses_a_lateral_axis_other_than_x():
    layout = get_layout("ntu25")
    spec = {"ops": [{"name": "flip", "mirror_x": True, "p": 1.0}]}
    info = DatasetInfo(layout=layout, channels=3, coord_channels=3, persons=1, frames=8, class_names=("a",),
                       source="data/d/meta.json", axes={"up": "+y", "left": "-z", "handedness": "right"})
    with pytest.raises(ConfigError, match=r"augment: flip with mirror_x negates x .* \(data/d/meta.json\) says the "
                                          r"person's left is -z"):
        build_pipeline("augment", spec, info)
    for axes in (KINECT, NTU_2S_AGCN, None):
        build_pipeline("augment", spec, DatasetInfo(layout=layout, channels=3, coord_channels=3, persons=1, frames=8,
                                                    class_names=("a",), axes=axes))
    build_pipeline("augment", {"ops": [{"name": "flip", "p": 1.0}]}, info)  # swapping joints assumes no axis


def test_config_axes_checked_before_data_and_against_the_dataset(tmp_path):
    with pytest.raises(ConfigError, match=r"data: axes.up: expected one of"):
        load_config(None, ["data.axes={up: top, left: -x, handedness: right}"])
    writer = DatasetWriter(tmp_path / "d", channels=3, frames=4, joints=25, persons=1, layout="ntu25",
                           class_names=["a", "b"], axes=KINECT)
    for label in (0, 1, 0, 1):
        writer.add(np.ones((3, 4, 25, 1), np.float32), 4, label)
    writer.finish(splits={"s": {"train": [0, 1], "test": [2, 3]}}, normalisation="none", provenance={})
    from mgclr.train.build import load_splits

    base = ["data.source=mgclr", f"data.path={tmp_path / 'd'}", "data.train_split=s/train", "data.test_split=s/test"]
    assert load_splits(load_config(None, base).data)[2].axes == KINECT
    with pytest.raises(ConfigError, match=r"data.axes: the config says .*'\+z'.* the dataset .* says .*'\+y'"):
        load_splits(load_config(None, base + ["data.axes={up: +z, left: -x, handedness: right}"]).data)
