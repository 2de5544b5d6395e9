"""AimCLR's energy-based attention-guided drop (EADM) of a graph encoder's feature map.

AimCLR (Guo et al., AAAI 2022) trains its extremely augmented query twice: as it is, and with the most
attended joints and elements of its last feature map dropped. The attention is SimAM's parameter-free energy
(Yang et al., ICML 2021): for a feature map ``x (NM, C, T, V)``, per (sample, channel) over the (t, v)
positions,

    d = (x − μ)²,   σ² = Σ d / (T·V − 1),   y = d / (4 (σ² + λ)) + 1/2,   a = sigmoid(y)

(a ≥ sigmoid(1/2) ≈ 0.62; a ≥ 0.7 means |x − μ| ≳ 1.2 σ, a ≥ 0.9 |x − μ| ≳ 2.6 σ). Then, as in AimCLR's code
(``net/att_drop.py`` ``Simam_Drop``, which its ``net/st_gcn.py`` builds with ``keep_prob=0.7``: despite the name,
a threshold on the attention, not a probability; the class's own default, 0.9, is not what AimCLR trains with):

* spatial drop: joint v of a sample is dropped where its mean attention over (C, T) is ≥ ``threshold``;
* element drop: every (c, t, v) whose attention is ≥ ``threshold`` is dropped (AimCLR calls it the
  temporal drop: its mask is laid out (C·V, T));

each followed by a rescale by (entries) / (entries kept) over the whole batch, so the surviving features
keep their overall scale. As released, the counts are over the whole batch, so one sample's output depends on
the others; where a mask drops everything the output is 0 (AimCLR's divides by 0 there: inf / NaN). The
masks carry no gradient (they are thresholds), and no random numbers are drawn. Unlike AimCLR, which counts
padded frames, ``valid (NM,)`` (each row's number of valid frames, as the encoders' pooling takes it)
restricts the statistics, the masks and the counts to the first ``valid`` frames (padded frames pass
through unchanged: the pooling ignores them).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from .._validation import check_number


def _frames(valid: Optional[torch.Tensor], NM: int, T: int, device) -> torch.Tensor:
    """(NM, T) bool: frame t of row r is valid (t < valid[r]; all frames when valid is None)."""
    if valid is None:
        return torch.ones(NM, T, dtype=torch.bool, device=device)
    return torch.arange(T, device=device).unsqueeze(0) < valid.to(device).view(NM, 1)


def energy_attention(x: torch.Tensor, valid: Optional[torch.Tensor] = None, e_lambda: float = 1e-4) -> torch.Tensor:
    """SimAM's attention ``sigmoid(d / (4 (σ² + λ)) + 1/2)`` of a ``(NM, C, T, V)`` feature map, per (sample,
    channel) over its valid positions (``valid``: (NM,) valid frames per row, None: all)."""
    NM, C, T, V = x.shape
    w = _frames(valid, NM, T, x.device).to(x.dtype).view(NM, 1, T, 1)
    count = w.sum(dim=2, keepdim=True) * V                                   # (NM, 1, 1, 1) positions
    mu = (x * w).sum(dim=(2, 3), keepdim=True) / count.clamp(min=1)
    d = (x - mu).pow(2)
    var = (d * w).sum(dim=(2, 3), keepdim=True) / (count - 1).clamp(min=1)
    return torch.sigmoid(d / (4 * (var + e_lambda)) + 0.5)


class EnergyDropMasks(NamedTuple):
    """What :func:`energy_attention_drop` computes on the way (the intermediate values of AimCLR's
    ``Simam_Drop``): ``att`` (NM, C, T, V) the attention; ``att_joint`` (NM, V) its mean over channels and valid
    frames; ``keep_joint`` (NM, V) and ``keep_elem`` (NM, C, T, V) bool, True = kept (attention < threshold);
    ``scale_joint``, ``scale_elem`` () the rescales, entries / entries kept over the whole batch (valid frames
    only; 1 entry kept at least, so a batch where everything is dropped gives 0, not inf / NaN)."""

    att: torch.Tensor
    att_joint: torch.Tensor
    keep_joint: torch.Tensor
    keep_elem: torch.Tensor
    scale_joint: torch.Tensor
    scale_elem: torch.Tensor


def _check_drop_args(x: torch.Tensor, valid: Optional[torch.Tensor], threshold: float, e_lambda: float) -> None:
    check_number("threshold", threshold, low=0.0, high=1.0)
    check_number("e_lambda", e_lambda, low=0.0, low_inclusive=False)
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x: expected a (NM, C, T, V) feature map, got shape {shape}")
    NM = x.shape[0]
    if valid is not None and tuple(valid.shape) != (NM,):
        raise ValueError(f"valid: expected shape (NM,) = ({NM},), valid frames per row, got {tuple(valid.shape)}")


def _masks(x: torch.Tensor, valid: Optional[torch.Tensor], threshold: float, e_lambda: float) -> EnergyDropMasks:
    NM, C, T, V = x.shape
    with torch.no_grad():
        att = energy_attention(x.detach(), valid, e_lambda)
        framesf = _frames(valid, NM, T, x.device).to(x.dtype)
        # Spatial: a joint's mean attention over channels and valid frames.
        att_joint = (att * framesf.view(NM, 1, T, 1)).sum(dim=(1, 2)) / (C * framesf.sum(dim=1, keepdim=True)).clamp(
            min=1)
        keep_joint = att_joint < threshold                                   # (NM, V)
        scale_joint = keep_joint.numel() / keep_joint.sum().to(x.dtype).clamp(min=1)
        # Elements: every (c, t, v) of a valid frame, counted over valid frames only.
        keep_elem = att < threshold
        counted = framesf.sum() * C * V
        kept = (keep_elem.to(x.dtype) * framesf.view(NM, 1, T, 1)).sum()
        scale_elem = counted.clamp(min=1) / kept.clamp(min=1)
    return EnergyDropMasks(att, att_joint, keep_joint, keep_elem, scale_joint, scale_elem)


def energy_attention_masks(x: torch.Tensor, valid: Optional[torch.Tensor] = None, threshold: float = 0.7,
                           e_lambda: float = 1e-4) -> EnergyDropMasks:
    """The attention, masks and rescales that :func:`energy_attention_drop` applies to ``x (NM, C, T, V)``
    (:class:`EnergyDropMasks`; arguments as there). No gradient flows through them."""
    _check_drop_args(x, valid, threshold, e_lambda)
    return _masks(x, valid, threshold, e_lambda)


def energy_attention_drop(x: torch.Tensor, valid: Optional[torch.Tensor] = None, threshold: float = 0.7,
                          e_lambda: float = 1e-4) -> torch.Tensor:
    """``x (NM, C, T, V)`` with the joints and elements of attention ≥ ``threshold`` dropped and the rest
    rescaled (module docstring). ``valid``: ``(NM,)`` valid frames per row (None: all). ``threshold``: AimCLR's
    ``keep_prob`` (0.7 as its model passes it)."""
    _check_drop_args(x, valid, threshold, e_lambda)
    NM, C, T, V = x.shape
    m = _masks(x, valid, threshold, e_lambda)
    with torch.no_grad():
        framesf = _frames(valid, NM, T, x.device).to(x.dtype)
        pad = 1 - framesf.view(NM, 1, T, 1)
        # Padded frames: multiplied by 1 (the masks and scales apply to valid frames only).
        factor_joint = m.keep_joint.to(x.dtype).view(NM, 1, 1, V) * m.scale_joint * (1 - pad) + pad
        factor_elem = m.keep_elem.to(x.dtype) * m.scale_elem * (1 - pad) + pad
    return x * factor_joint * factor_elem


__all__ = ["EnergyDropMasks", "energy_attention", "energy_attention_drop", "energy_attention_masks"]
