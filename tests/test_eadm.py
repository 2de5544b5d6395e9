"""AimCLR's energy-based attention-guided drop (mgclr.models.eadm) and the encoders' drop=True branch."""

from __future__ import annotations

import inspect

import pytest
import torch

from mgclr.models import AGCN, STGCN
from mgclr.models.eadm import energy_attention, energy_attention_drop, energy_attention_masks


def feature_map(seed=0, shape=(6, 5, 7, 9), outliers=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    if outliers:  # a few high-energy elements and one hot joint, so both drops happen
        x[0, :, :, 3] += 50.0  # a joint far from the rest: its mean attention passes 0.9
        x[1, 2, 4, 5] = 9.0
        x[2, 1, 0, 0] = -8.0
    return x


def simam_as_published(x, e_lambda=1e-4):
    # The formula of SimAM / AimCLR's Simam_Drop, written out over all T x V positions.
    T, V = x.shape[2], x.shape[3]
    d = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
    return torch.sigmoid(d / (4 * (d.sum(dim=[2, 3], keepdim=True) / (T * V - 1) + e_lambda)) + 0.5)


def aimclr_drop_as_published(x, threshold=0.7):
    # AimCLR's procedure (its model passes keep_prob=0.7): joints whose mean attention over (C, T) >= threshold,
    # then elements >= threshold,
    # each mask rescaled by its number of entries over the number kept (the whole batch).
    att = simam_as_published(x)
    keep_s = (att.mean(dim=[1, 2]) < threshold).to(x.dtype)
    x = x * keep_s[:, None, None, :] * keep_s.numel() / keep_s.sum()
    keep_t = (att < threshold).to(x.dtype)
    return x * keep_t * keep_t.numel() / keep_t.sum()


def test_energy_attention_is_simam():
    x = feature_map()
    torch.testing.assert_close(energy_attention(x), simam_as_published(x))


@pytest.mark.parametrize("threshold,survives", [(None, 0.6), (0.9, 0.8)], ids=["default", "0.9"])
def test_drop_matches_aimclr_without_padding(threshold, survives):
    x = feature_map()
    out = energy_attention_drop(x) if threshold is None else energy_attention_drop(x, threshold=threshold)
    torch.testing.assert_close(out, aimclr_drop_as_published(x, 0.7 if threshold is None else threshold))
    assert (out[0, :, :, 3] == 0).all()        # the hot joint is dropped in sample 0
    assert out[1, 2, 4, 5] == 0 and out[2, 1, 0, 0] == 0
    assert (out != 0).float().mean() > survives  # most of the map survives


def test_default_threshold_is_aimclr_keep_prob():
    # AimCLR's net/st_gcn.py builds Simam_Drop(num_point=25, keep_prob=0.7); the encoders default to it too.
    assert inspect.signature(energy_attention_drop).parameters["threshold"].default == 0.7
    assert STGCN(layout="kinect20", hidden_channels=4, hidden_dim=8).eadm_threshold == 0.7
    assert AGCN(layout="kinect20", widths=(8,), strides=(1,)).eadm_threshold == 0.7


def test_everything_dropped_gives_zeros_not_nan():
    # The released rescale divides by the batch's kept count: 0 when everything is dropped (inf / NaN there).
    x = feature_map()
    for valid in (None, torch.tensor([7, 5, 3, 7, 1, 4])):
        masks = energy_attention_masks(x, valid, threshold=0.0)
        assert not masks.keep_joint.any() and not masks.keep_elem.any()
        assert torch.isfinite(masks.scale_joint) and torch.isfinite(masks.scale_elem)
        out = energy_attention_drop(x, valid, threshold=0.0)
        assert torch.isfinite(out).all()
        frames = torch.arange(7).view(1, 7) < (torch.full((6,), 7) if valid is None else valid).view(6, 1)
        assert (out.permute(0, 2, 1, 3)[frames] == 0).all()  # every valid frame dropped
    # Every attention is at least sigmoid(1/2) ~ 0.62: a threshold below drops everything as well.
    assert (energy_attention_drop(x, threshold=0.6) == 0).all()


def test_rescale_counts_the_whole_batch():
    # As released, one row's output depends on the others through the batch-wide counts.
    x = feature_map()
    alone = energy_attention_drop(x[1:2])
    together = energy_attention_drop(x)[1:2]
    keep = energy_attention_masks(x[1:2]).keep_elem & energy_attention_masks(x[1:2]).keep_joint[:, None, None, :]
    assert keep.any() and not torch.allclose(alone[keep], together[keep])


def test_padding_is_ignored_and_passes_through():
    x = feature_map()
    valid = torch.tensor([7, 5, 3, 7, 1, 4])
    out = energy_attention_drop(x, valid)
    garbage = x.clone()
    for r, L in enumerate(valid.tolist()):
        garbage[r, :, L:] = 1e3 * torch.randn_like(garbage[r, :, L:])
    out_g = energy_attention_drop(garbage, valid)
    for r, L in enumerate(valid.tolist()):
        torch.testing.assert_close(out_g[r, :, :L], out[r, :, :L])       # statistics over valid frames only
        assert torch.equal(out_g[r, :, L:], garbage[r, :, L:])            # padding untouched
    # With every frame valid the padded form is the plain one.
    torch.testing.assert_close(energy_attention_drop(x, torch.full((6,), 7)), energy_attention_drop(x))


def test_masks_carry_no_gradient_and_thresholds_at_the_ends():
    x = feature_map().requires_grad_()
    out = energy_attention_drop(x)
    out.sum().backward()
    factor = (out / x).detach()                 # x * factor with a constant factor
    torch.testing.assert_close(x.grad, factor)
    y = feature_map()
    torch.testing.assert_close(energy_attention_drop(y, threshold=1.0), y)  # sigmoid < 1: nothing dropped
    assert (energy_attention_drop(y, threshold=0.0) == 0).all()               # everything dropped, no NaN


def test_bad_arguments():
    x = feature_map()
    with pytest.raises(ValueError, match="threshold"):
        energy_attention_drop(x, threshold=1.5)
    with pytest.raises(ValueError, match=r"x: expected a \(NM, C, T, V\) feature map"):
        energy_attention_drop(x[0])
    with pytest.raises(ValueError, match=r"valid: expected shape \(NM,\) = \(6,\)"):
        energy_attention_drop(x, torch.ones(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="eadm_threshold"):
        STGCN(layout="kinect20", eadm_threshold=-0.1)


@pytest.mark.parametrize("make", [
    lambda: AGCN(layout="kinect20", widths=(8, 8, 16), strides=(1, 2, 1)),
    lambda: STGCN(layout="kinect20", hidden_channels=4, hidden_dim=16),
], ids=["agcn", "stgcn"])
def test_encoders_drop_branch(make):
    torch.manual_seed(0)
    encoder = make().eval()
    x = torch.randn(3, 3, 20, 20, 2)
    lengths = torch.tensor([20, 11, 5])
    plain = encoder(x, lengths)
    features, dropped = encoder(x, lengths, drop=True)
    assert torch.equal(features, plain) and dropped.shape == plain.shape
    assert not torch.allclose(dropped, plain)
    features.sum().backward(retain_graph=True)  # both branches are differentiable
    dropped.sum().backward()
