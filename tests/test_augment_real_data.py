"""The fused augmentations on real skeletons: NW-UCLA sequences of very different lengths (1 to 201
frames), with their exactly-zero (untracked) joints. Skips when ../shared/data is absent."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import data_dir

from mgclr.augment import EulerRotate, Pipeline, ViewPerturbation, aimclr_extreme, isc, paper_best
from mgclr.ops.reference import augment_reference
from mgclr.skeleton import get_layout

NW_UCLA = data_dir() / "nw_ucla"
pytestmark = pytest.mark.skipif(not NW_UCLA.is_dir(), reason=f"NW-UCLA data not found in {NW_UCLA} "
                                "(set MGCLR_DATA_DIR to the folder holding nw_ucla/)")

# Includes the two single-frame sequences of the data set.
FILES = ["a02_s09_e04_v02", "a02_s09_e04_v03", "a01_s01_e00_v01", "a04_s01_e00_v01", "a06_s05_e01_v02",
         "a08_s02_e02_v03", "a11_s03_e01_v01", "a12_s10_e03_v02"]


@pytest.fixture(scope="module")
def nw_ucla_batch():
    seqs = []
    for name in FILES:
        path = NW_UCLA / f"{name}.json"
        if not path.exists():
            pytest.skip(f"{path} is missing")
        seqs.append(torch.tensor(json.loads(path.read_text())["skeletons"], dtype=torch.float32))  # (T, 20, 3)
    lengths = torch.tensor([len(s) for s in seqs])
    x = torch.zeros(len(seqs), 3, int(lengths.max()), 20, 1)
    for i, s in enumerate(seqs):
        x[i, :, : len(s), :, 0] = s.permute(2, 0, 1)
    return x, lengths


def test_lengths_cover_the_single_frame_sequences(nw_ucla_batch):
    _, lengths = nw_ucla_batch
    assert int(lengths.min()) == 1 and int(lengths.max()) > 60


@pytest.mark.parametrize("make", [lambda: paper_best(32, two_views=True), lambda: isc(32, two_views=True),
                                  lambda: aimclr_extreme(layout="kinect20", two_views=True)],
                         ids=["paper_best", "isc", "aimclr_extreme"])
def test_presets_on_real_data_match_reference(nw_ucla_batch, make):
    x, lengths = nw_ucla_batch
    pipe = make()
    (q, k), params = pipe(x, lengths, seed=3, return_params=True)
    for view, out in enumerate((q, k)):
        assert torch.isfinite(out).all()
        ref, ref_len = augment_reference(x, lengths, params, pipe.ops, view=view)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        pad = torch.arange(out.shape[2]).view(1, -1) >= ref_len.view(-1, 1)
        assert (out.permute(0, 2, 1, 3, 4)[pad] == 0).all()


@pytest.mark.parametrize("cls", [ViewPerturbation, EulerRotate])
def test_rotations_keep_real_bone_lengths(nw_ucla_batch, cls):
    x, lengths = nw_ucla_batch
    bones = torch.tensor(get_layout("kinect20").bone_array())
    out = Pipeline([cls()])(x, lengths, seed=1)

    def bone_lengths(y):
        return (y[:, :, :, bones[:, 0]] - y[:, :, :, bones[:, 1]]).norm(dim=1)

    torch.testing.assert_close(bone_lengths(out), bone_lengths(x), rtol=1e-4, atol=1e-5)
