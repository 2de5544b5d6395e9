"""mgclr.data.normalise: the converters' normalisations as replayable specs. The spec a converter records
reproduces the converter's own output from the raw input; per-sample ones are translation invariant (so a
recognizer may apply them to every window); the per-video OpenPose one is detected on input that already
had it; ``mgclr recognize`` brings raw video into the training data's coordinates."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_convert_imigue import BODY, TIPS, make_openpose, person

from mgclr.data.convert import convert_imigue
from mgclr.data.format import SkeletonDataset
from mgclr.data.normalise import (
    NormalisationError,
    apply_normalisation,
    centre_on_joint_spec,
    check_normalise_spec,
    is_normalised,
    ntu_spec,
    openpose_video_spec,
)
from mgclr.emotion.recognize import normalise_video


def raw_video(t_frames: int = 6) -> np.ndarray:
    """The imigue22 points of the converter test's person, in pixels: (3, T, 22, 1)."""
    frames = []
    for t in range(t_frames):
        pose, right, left = person(t)
        frames.append(np.concatenate([pose[list(BODY)], right[list(TIPS)], left[list(TIPS)]]))
    return np.stack(frames).transpose(2, 0, 1)[..., None]


def test_the_recorded_openpose_spec_reproduces_the_converter(tmp_path):
    src = make_openpose(tmp_path)
    convert_imigue(src, tmp_path / "out", progress=False)
    ds = SkeletonDataset(tmp_path / "out")
    spec = ds.info.normalise
    assert spec == json.loads((tmp_path / "out" / "meta.json").read_text())["normalise"]
    replayed = apply_normalisation(raw_video(), spec)
    whole = ds[ds.sample_field("id").index("12_2")][0].numpy()  # the clip that spans the video
    np.testing.assert_allclose(replayed, whole, atol=1e-6)
    assert not is_normalised(raw_video(), spec) and is_normalised(whole, spec)


def test_sample_specs_are_translation_invariant_and_keep_missing_points():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 9, 25, 2))
    x[:, :2, 3] = 0  # a joint missing in the first frames
    x[:, :, :, 1] = 0  # an absent second person
    for spec in (centre_on_joint_spec(1, "spine"), ntu_spec()):
        a = apply_normalisation(x, spec)
        shifted = x.copy()
        present = np.any(x != 0, axis=0)
        shifted[:, present] += np.array([0.3, -1.0, 2.0])[:, None]
        np.testing.assert_allclose(apply_normalisation(shifted, spec), a, atol=1e-9)
        assert not a[:, :2, 3].any() and not a[:, :, :, 1].any()
        # neither is idempotent (the origin is exactly 0 afterwards; 2s-AGCN's second rotation moves the spine
        # off +z), so normalised input is recognised by its signature
        assert is_normalised(a, spec) and not is_normalised(shifted, spec) and not is_normalised(x, spec)
    np.testing.assert_allclose(apply_normalisation(x, centre_on_joint_spec(1, "spine"))[:, 0, 1, 0], 0.0)


@pytest.mark.parametrize("spec, match", [
    ({"kind": "whiten"}, "expected a normalisation of kind"),
    ({"kind": "openpose_video", "scope": "sample", "neck": 1, "shoulders": [2, 5]}, "scope of 'openpose_video'"),
    ({"kind": "centre_on_joint", "scope": "sample"}, "missing joint"),
    ("centre", "expected a normalisation of kind"),
])
def test_bad_specs_are_named(spec, match):
    with pytest.raises(NormalisationError, match=match):
        check_normalise_spec(spec)


def test_recognize_brings_a_raw_video_into_the_training_coordinates():
    spec = openpose_video_spec()
    raw = torch.from_numpy(np.concatenate([raw_video(), np.zeros((3, 4, 22, 1))], axis=1).astype(np.float32))
    out, per_window, done = normalise_video(raw, 6, spec, "auto")
    assert "normalised as the training videos were" in done and per_window is None
    np.testing.assert_allclose(out[:, :6].numpy(), apply_normalisation(raw_video(), spec), atol=1e-5)
    assert not out[:, 6:].any()  # padding stays zero
    again, _, done = normalise_video(out, 6, spec, "auto")  # already normalised: left alone (y not flipped twice)
    assert "already normalised" in done and torch.equal(again, out)
    forced, _, _ = normalise_video(raw, 6, spec, "normalised")
    assert torch.equal(forced, raw)
    nobody = torch.zeros(3, 6, 22, 1)
    with pytest.raises(ValueError, match="cannot apply the training data's normalisation .*neck"):
        normalise_video(nobody, 6, spec, "raw")
    centre = centre_on_joint_spec(1, "neck", 2)  # per sample: returned for the windows, x untouched
    window, per_window, done = normalise_video(raw, 6, centre, "auto")
    assert torch.equal(window, raw) and per_window == centre and "each window normalised" in done
    assert normalise_video(out, 6, centre, "raw")[1] == centre
    with pytest.raises(ValueError, match="input: expected one of auto, raw, normalised"):
        normalise_video(raw, 6, spec, "pixels")


def test_predicted_timelines_normalise_each_window_of_a_raw_sequence():
    from mgclr.emotion.recognize import frame_scores

    class Probe(torch.nn.Module):  # the score of class 1: the centre joint's x at the window's first frame
        class_names = ["at origin", "elsewhere"]

        def forward(self, x, lengths):
            off = (x[:, 0, 0, 1, 0].abs() > 1e-6).float()
            return torch.stack([1 - off, off], dim=1)

    x = torch.randn(3, 40, 5, 1) + 10.0  # camera coordinates, far from the origin
    spec = centre_on_joint_spec(1, "centre")
    assert frame_scores(Probe(), x, 40, 8, 4)[:, 1].min() == 1.0
    assert frame_scores(Probe(), x, 40, 8, 4, window_normalise=spec)[:, 0].min() == 1.0
