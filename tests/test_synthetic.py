"""mgclr.data.synthetic: deterministic, balanced, padded with zeros, every class distinct, both layouts."""

from __future__ import annotations

import numpy as np
import pytest

from mgclr.data import CLASSES, ArrayDataset, generate
from mgclr.skeleton import get_layout


def test_shapes_balance_and_padding():
    d = generate(48, frames=40, seed=3)
    assert d.x.shape == (48, 3, 40, 22, 1) and d.x.dtype == np.float32
    assert len(CLASSES) >= 10 and d.class_names == CLASSES
    assert np.bincount(d.labels, minlength=len(CLASSES)).tolist() == [4] * len(CLASSES)
    assert d.lengths.min() >= 24 and d.lengths.max() <= 40
    for n in range(48):
        assert not d.x[n, :, d.lengths[n]:].any()  # padding is exactly zero
        assert np.isfinite(d.x[n]).all() and np.abs(d.x[n, :, :d.lengths[n]]).max() < 2.0


def test_deterministic_from_the_seed():
    a, b, c = generate(12, seed=7), generate(12, seed=7), generate(12, seed=8)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.x, c.x)


def test_ntu_layout_with_absent_second_person():
    d = generate(12, layout="ntu25", num_persons=2, frames=32, seed=1)
    assert d.x.shape == (12, 3, 32, 25, 2) and not d.x[..., 1].any()
    layout = get_layout("ntu25")
    # a seated body: the head above the neck above the spine base, in every valid frame
    head, neck, base = (layout.index(j) for j in ("head", "neck", "spine_base"))
    y = d.x[:, 1, :, :, 0]
    for n in range(12):
        L = d.lengths[n]
        assert (y[n, :L, head] > y[n, :L, neck]).all() and (y[n, :L, neck] > y[n, :L, base]).all()


def test_classes_differ_where_they_should():
    d = generate(240, seed=2)
    layout = get_layout("imigue22")
    wrist = d.x[:, 1, :, layout.index("right_wrist"), 0]  # height of the right wrist
    peak = np.array([wrist[n, :d.lengths[n]].max() for n in range(len(d.labels))])
    by_class = {c: peak[d.labels == i].mean() for i, c in enumerate(CLASSES)}
    assert by_class["scratch_head"] > by_class["touch_neck"] > by_class["rub_hands"]
    assert by_class["touch_jaw"] > by_class["touch_neck"]  # the subtle pair: jaw is a little higher


def test_subset_of_classes_and_errors():
    d = generate(10, classes=("shrug", "nod"), seed=0)
    assert d.class_names == ("shrug", "nod") and set(d.labels.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="classes: expected a non-empty subset"):
        generate(4, classes=("juggling",))
    with pytest.raises(ValueError, match="layout: expected one of"):
        generate(4, layout="kinect20")
    with pytest.raises(ValueError, match="frames: expected a value >= 8"):
        generate(4, frames=4)


def test_array_dataset_items_and_errors():
    d = generate(6, seed=0)
    ds = ArrayDataset(d.x, d.lengths, d.labels)
    x, length, label = ds[2]
    assert tuple(x.shape) == (3, 48, 22, 1) and length == d.lengths[2] and label == d.labels[2]
    with pytest.raises(ValueError, match="lengths: expected values in"):
        ArrayDataset(d.x, d.lengths * 0, d.labels)
    with pytest.raises(ValueError, match=r"x: expected an \(N, C, T, V, M\) array"):
        ArrayDataset(d.x[0], d.lengths, d.labels)
