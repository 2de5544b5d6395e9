"""Pure-torch references of every kernel (oracles for the tests, baselines for the benchmarks).

Augmentation: :func:`augment_reference` applies the ops one at a time, batched over samples with eager
torch, from the parameter records a kernel call returned (``return_params=True``), read by field name
(:func:`mgclr.ops.augment.decode_record`, offsets from the extension's ABI). Record-level parameters
(angles, crops, joint choices) are taken from the records; what the kernel recomputes on the fly is
recomputed here independently: lambda of ``coordinate_perturbation`` from the data, and per-joint,
per-frame and per-element draws (perturbation offsets, kept frames, noise) with the NumPy Philox of
:mod:`mgclr.ops._philox`. Index maps repeat the kernel's float32 arithmetic step by step, so that frame
choices (floors) agree exactly.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import _philox
from .augment import decode_record
from .augment_abi import abi

# ========================================== augmentation ============================================

Fields = Dict[str, torch.Tensor]  # one op's decoded records, (N, ...) per field


def _f32(value) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float32)


def _col(value: torch.Tensor) -> torch.Tensor:
    """(N,) -> (N, 1) int64, to broadcast against (N, T) frame indices."""
    return value.long().unsqueeze(1)


def _linear_source(t: torch.Tensor, out, inp) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Kernel's linear_source, vectorised: (i0, i1, w) with align_corners=False."""
    out = torch.as_tensor(out)
    inp = torch.as_tensor(inp)
    scale = inp.to(torch.float32) / out.to(torch.float32)
    src = (t.to(torch.float32) + 0.5) * scale
    src = (src - 0.5).clamp_min(0.0)
    i0 = torch.minimum(src.to(torch.int64), inp - 1)
    i1 = torch.minimum(i0 + 1, inp - 1)
    w = torch.where(i1 == i0, torch.zeros_like(src), src - i0.to(torch.float32))
    return i0, i1, w


def _reflect(i: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    period = (2 * (L - 1)).clamp_min(1)
    r = torch.remainder(i, period)
    r = torch.where(r < L, r, period - r)
    return torch.where(L == 1, torch.zeros_like(r), r)


def _symmetric(i: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    r = torch.remainder(i, 2 * L)
    return torch.where(r < L, r, 2 * L - 1 - r)


def _philox_words(params, rec: torch.Tensor, block: np.ndarray) -> np.ndarray:
    """Draw words at the record's own counter words (stream, sample); block broadcast against (N, ...)."""
    header = abi().header
    stream = rec[:, header["counter_stream"]].long().numpy().astype(np.uint64)
    sample = rec[:, header["counter_sample"]].long().numpy().astype(np.uint64)
    shape = (-1,) + (1,) * (block.ndim - 1)
    return _philox.draws(params.seed, params.offset, stream.reshape(shape), sample.reshape(shape), block)


def _temporal_map(op, f: Fields, rec: torch.Tensor, params,
                  t_out: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(frame0, frame1, w) of shape (N, t_out) for one temporal op (input frames of that op)."""
    name = op.op_name
    N = rec.shape[0]
    L = _col(f["input_length"])
    applied = f["applied"].unsqueeze(1)
    t = torch.arange(t_out).unsqueeze(0).expand(N, t_out)
    zero_w = torch.zeros(N, t_out)
    if name == "temporal_crop":
        pad = _symmetric if op.padding == "symmetric" else _reflect
        frame = torch.where(applied, pad(_col(f["start"]) + t - _col(f["pad"]), L), t)
        return frame, frame, zero_w
    if name == "crop_resize":
        i0, i1, w = _linear_source(t, _col(f["out_frames"]), _col(f["crop_length"]))
        start = _col(f["start"])
        return start + i0, start + i1, w
    if name == "repeat_clip":
        start, clip = _col(f["start"]), _col(f["clip_length"])
        e0, e1, w = _linear_source(t, L, L + clip)
        f0 = torch.where(e0 < start + clip, e0, e0 - clip)
        f1 = torch.where(e1 < start + clip, e1, e1 - clip)
        return torch.where(applied, f0, t), torch.where(applied, f1, t), torch.where(applied, w, zero_w)
    if name == "reverse_clip":
        start, clip = _col(f["start"]), _col(f["clip_length"])
        inside = applied & (t >= start) & (t < start + clip)
        frame = torch.where(inside, 2 * start + clip - 1 - t, t)
        return frame, frame, zero_w
    if name == "time_flip":
        frame = torch.where(applied, L - 1 - t, t)
        return frame, frame, zero_w
    if name == "posterize_time":
        frame = torch.where(applied, _posterize_frames(f, t), t)
        return frame, frame, zero_w
    if name == "drop_frames":
        j0, j1, w = _linear_source(t, L, _col(f["kept"]))
        f0, f1 = _kept_frame(params, f, rec, j0), _kept_frame(params, f, rec, j1)
        return torch.where(applied, f0, t), torch.where(applied, f1, t), torch.where(applied, w, zero_w)
    raise KeyError(name)


def _posterize_frames(f: Fields, t: torch.Tensor) -> torch.Tensor:
    L, head = _col(f["input_length"]), _col(f["head"])
    k = int(f["segments"].max()) if f["segments"].numel() else 0
    middle = L - 2 * head
    lengths = f["segment_lengths"].long()
    rates = f["rates"]
    played = torch.zeros(L.shape[0], 1)
    for i in range(k):
        played = played + lengths[:, i:i + 1].to(torch.float32) / rates[:, i:i + 1]
    scale = torch.where(played > 0, middle.to(torch.float32) / played, torch.zeros_like(played))
    u = (t - head).to(torch.float32) + 0.5
    frame = (head + middle - 1).expand_as(t).clone()
    found = torch.zeros_like(t, dtype=torch.bool)
    out_start = torch.zeros(L.shape[0], 1)
    in_start = head.clone()
    for i in range(k):
        m = lengths[:, i:i + 1]
        mf = m.to(torch.float32)
        out_len = mf / rates[:, i:i + 1] * scale
        hit = (~found) & (m > 0) & (u < out_start + out_len)
        local = ((u - out_start) / out_len * mf).to(torch.int64)
        local = torch.minimum(local.clamp_min(0), (m - 1).clamp_min(0))
        frame = torch.where(hit, in_start + local, frame)
        found = found | hit
        out_start = torch.where(m > 0, out_start + out_len, out_start)
        in_start = in_start + m
    outside = (t < head) | (t >= head + middle)
    return torch.where(outside, t, frame)


def _kept_frame(params, f: Fields, rec: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    L, keep = _col(f["input_length"]), _col(f["kept"]).clamp_min(1)
    lo = j * L // keep
    hi = (j + 1) * L // keep
    words = _philox_words(params, rec, (abi().counters["per_joint_block"] + j.numpy()).astype(np.uint64))
    offset = _philox.below(words[..., 0], (hi - lo).clamp_min(0).numpy())
    return lo + torch.from_numpy(offset)


def _gather_frames(y: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    N, C, _, V, M = y.shape
    index = frames.clamp(0, y.shape[2] - 1).view(N, 1, -1, 1, 1).expand(N, C, frames.shape[1], V, M)
    return torch.gather(y, 2, index)


def _zero_padding(y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    valid = torch.arange(y.shape[2]).unsqueeze(0) < lengths.unsqueeze(1)
    return y * valid.view(y.shape[0], 1, y.shape[2], 1, 1).to(y.dtype)


def _missing(coords: torch.Tensor) -> torch.Tensor:
    """(N, T, V, M) True where every coordinate is exactly zero."""
    return (coords == 0).all(dim=1)


def _apply_matrix(coords: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    cc = coords.shape[1]
    return torch.einsum("nij,njtvm->nitvm", A.reshape(-1, 3, 3)[:, :cc, :cc], coords)


def _perturbation_lambda(coords: torch.Tensor, lengths: torch.Tensor, tau: float, r_max: float, eps: float):
    idx = torch.stack([torch.zeros_like(lengths), (lengths - 1) // 2, lengths - 1], dim=1)
    pts = _gather_frames(coords, idx)  # (N, cc, 3, V, M)
    fin_mid = (pts[:, :, 2] - pts[:, :, 1]).pow(2).sum(dim=(1, 2, 3)).sqrt()
    mid_sta = (pts[:, :, 1] - pts[:, :, 0]).pow(2).sum(dim=(1, 2, 3)).sqrt()
    return (fin_mid / (mid_sta + _f32(eps))).clamp(0.0, r_max) / _f32(tau)


def _gaussian_noise(params, rec: torch.Tensor, shape, sigma: float) -> torch.Tensor:
    N, cc, T, V, M = shape
    element = (np.arange(T)[:, None, None] * V + np.arange(V)[None, :, None]) * M + np.arange(M)[None, None, :]
    block = (abi().counters["per_element_block"] | element).astype(np.uint64)[None]
    words = _philox_words(params, rec, block)  # (N, T, V, M, 4)
    u1 = torch.from_numpy(((words[..., 0::2] >> np.uint32(8)).astype(np.float32) + np.float32(1))
                          * np.float32(2.0**-24))
    angle = _f32(6.2831853071795864) * torch.from_numpy(_philox.unit_float(words[..., 1::2]))
    radius = torch.sqrt(-2.0 * torch.log(u1))
    normal = torch.stack([radius[..., 0] * torch.cos(angle[..., 0]), radius[..., 0] * torch.sin(angle[..., 0]),
                          radius[..., 1] * torch.cos(angle[..., 1])], dim=1)  # (N, 3, T, V, M)
    return _f32(sigma) * normal[:, :cc]


def _gaussian_blur(y: torch.Tensor, lengths: torch.Tensor, sigma: torch.Tensor, radius: int,
                   normalized: bool) -> torch.Tensor:
    N, C, T = y.shape[:3]
    t = torch.arange(T)
    acc = torch.zeros_like(y)
    norm = torch.zeros(N, 1, T, 1, 1)
    inv = 1.0 / (2.0 * sigma * sigma)
    for k in range(-radius, radius + 1):
        src = t + k
        valid = (src.unsqueeze(0) >= 0) & (src.unsqueeze(0) < lengths.unsqueeze(1))
        w = torch.exp(-_f32(k * k) * inv) * valid.to(torch.float32)  # (N, T)
        shifted = y[:, :, src.clamp(0, T - 1)]
        acc = acc + w.view(N, 1, T, 1, 1) * shifted
        norm = norm + w.view(N, 1, T, 1, 1)
    return acc / norm.clamp_min(1e-30) if normalized else acc


MATRIX_OPS = ("view_perturbation", "stretch", "shear", "random_rotate", "euler_rotate", "axis_rotate")


def augment_reference(x: torch.Tensor, lengths: Optional[torch.Tensor], params, transforms: Sequence,
                      coord_channels: int = 3, view: int = 0, return_lambdas: bool = False):
    """Apply ``transforms`` (in execution order, e.g. ``pipeline.ops``) one at a time with eager torch.

    Args:
        x: (N, C, T, V, M) float tensor (CPU).
        lengths: (N,) valid frames, or None for all T.
        params: :class:`mgclr.ops.augment.AugmentParams` returned by the kernel call.
    Returns (out, out_lengths) — and the lambdas computed for each coordinate_perturbation op
    when ``return_lambdas``.
    """
    y = x.detach().to(torch.float32).cpu().clone()
    N, C, T, V, M = y.shape
    L = lengths.cpu().long().clone() if lengths is not None else torch.full((N,), T, dtype=torch.int64)
    y = _zero_padding(y, L)
    cc = coord_channels
    lambdas = []
    records = params.records[view].cpu()
    for j, op in enumerate(transforms):
        rec = records[:, j]
        name = op.op_name
        f = decode_record(rec, name, V)
        applied = f["applied"]
        gate = applied.view(N, 1, 1, 1, 1)
        if op.stage_name == "temporal":
            t_out = op.output_frames(y.shape[2])
            f0, f1, w = _temporal_map(op, f, rec, params, t_out)
            w = w.view(N, 1, t_out, 1, 1)
            y = _gather_frames(y, f0) * (1.0 - w) + _gather_frames(y, f1) * w
            if name == "crop_resize":
                L = f["out_frames"].long()
            y = _zero_padding(y, L)
            continue
        coords = y[:, :cc]
        if name == "flip":
            perm = torch.tensor(op.permutation(V))
            flipped = y[:, :, :, perm].clone()
            if op.mirror_x:
                flipped[:, 0] = -flipped[:, 0]
            y = torch.where(gate, flipped, y)
            continue
        if name in MATRIX_OPS:
            new = _apply_matrix(coords, f["matrix"])
        elif name == "coordinate_perturbation":
            lam = _perturbation_lambda(coords, L, op.tau, op.r_max, op.eps)
            lambdas.append(torch.where(applied, lam, torch.zeros_like(lam)))
            block = (abi().counters["per_joint_block"] + np.arange(V)).astype(np.uint64)[None]
            R = torch.from_numpy(_philox.symmetric_float(_philox_words(params, rec, block)))  # (N, V, 4)
            offset = lam.view(N, 1, 1) * R[:, :, :cc].permute(0, 2, 1)  # (N, cc, V)
            chosen = f["joints"].view(N, 1, 1, V, 1) & ~_missing(coords).unsqueeze(1)
            new = torch.where(chosen, coords + offset.view(N, cc, 1, V, 1), coords)
        elif name == "joint_shake":
            chosen = f["joints"].view(N, 1, 1, V, 1)
            zero_mode = (f["matrix_mode"] == 0).view(N, 1, 1, 1, 1)
            shaken = torch.where(zero_mode, torch.zeros_like(coords), _apply_matrix(coords, f["matrix"]))
            new = torch.where(chosen, shaken, coords)
        elif name == "joint_mask":
            t = torch.arange(y.shape[2]).view(1, -1)
            in_window = (t >= _col(f["start"])) & (t < _col(f["stop"]))
            chosen = f["joints"].view(N, 1, 1, V, 1) & in_window.view(N, 1, -1, 1, 1)
            new = torch.where(chosen, torch.zeros_like(coords), coords)
        elif name == "gaussian_noise":
            noise = _gaussian_noise(params, rec, (N, cc, y.shape[2], V, M), op.sigma)
            skip = _missing(coords).unsqueeze(1) & op.skip_missing
            new = torch.where(skip, coords, coords + noise)
        elif name == "axis_mask":
            axis = f["axis"].long().view(N, 1, 1, 1, 1)
            new = torch.where(torch.arange(cc).view(1, cc, 1, 1, 1) == axis, torch.zeros_like(coords), coords)
        elif name == "gaussian_blur":
            new = _gaussian_blur(coords, L, f["sigma"].view(N, 1), int(f["radius"].max()), op.normalized)
        else:
            raise KeyError(f"no reference for op {name!r}")
        y = torch.cat([torch.where(gate, new, coords), y[:, cc:]], dim=1)
        y = _zero_padding(y, L)
    out = y.to(x.dtype)
    return (out, L, lambdas) if return_lambdas else (out, L)


def rotation_matrix(angles: torch.Tensor) -> torch.Tensor:
    """(N, 3) Euler angles (x, y, z) -> (N, 3, 3) ``Rz @ Ry @ Rx`` (right-handed), for tests."""
    cx, sx = torch.cos(angles[:, 0]), torch.sin(angles[:, 0])
    cy, sy = torch.cos(angles[:, 1]), torch.sin(angles[:, 1])
    cz, sz = torch.cos(angles[:, 2]), torch.sin(angles[:, 2])
    one, zero = torch.ones_like(cx), torch.zeros_like(cx)
    rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], 1).view(-1, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], 1).view(-1, 3, 3)
    rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


# ======================================= queue InfoNCE ==============================================


def queue_infonce_reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float, *,
                            tie_tolerance: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eager MoCo InfoNCE: ``q·k``, ``q·queueᵀ``, ``cat``, ``cross_entropy`` (the ISC/MoCo formulation).

    q, k: ``(N, D)``; queue: ``(K, D)``; all one floating dtype on one device, no validation (see
    :func:`mgclr.ops.queue_infonce`). Returns ``(per_sample_loss (N,), rank (N,) int64)`` where ``rank`` is
    the number of negatives whose logit is above the positive's by more than ``tie_tolerance`` (top-k
    correct iff rank < k; :func:`mgclr.ops.infonce.tie_tolerance` is what queue_infonce passes).
    Gradient flows to ``q`` only. The queue is cloned: ``mm`` saves its second operand for backward, and
    the clone is what makes a later in-place enqueue safe (snapshot semantics, like the fused kernels).
    """
    k = k.detach()
    queue = queue.detach().clone()
    pos = (q * k).sum(dim=1, keepdim=True)
    neg = q @ queue.t()
    logits = torch.cat([pos, neg], dim=1) / temperature
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    with torch.no_grad():
        rank = (logits[:, 1:] > logits[:, :1] + tie_tolerance).sum(dim=1)
    return per_sample, rank


def _queue_logits(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, K+1) logits over [k⁺, queue] (the positive first), built in full."""
    return torch.cat([(q * k).sum(dim=1, keepdim=True), q @ queue.t()], dim=1) / temperature


def queue_infonce_positives_reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float,
                                      positives: torch.Tensor) -> torch.Tensor:
    """Per-sample InfoNCE with extra positives, AimCLR's NNM form: −Σ_j m_ij log p_ij / Σ_j m_ij over the
    (N, K+1) softmax, with the mask m set at k⁺ and at the queue indices of ``positives (N, t)`` (a repeated
    index sets the same entry once)."""
    logits = _queue_logits(q, k.detach(), queue.detach(), temperature)
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[:, 0] = True
    mask.scatter_(1, positives + 1, True)
    log_p = torch.log_softmax(logits, dim=1)
    weight = mask.to(log_p.dtype)
    return -(log_p * weight).sum(dim=1) / weight.sum(dim=1)


def queue_soft_cross_entropy_reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
                                       target_q: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-sample −Σ_j p_j log r_j over [k⁺, queue]: p the softmax of ``target_q``'s logits (no gradient),
    r that of ``q``'s (AimCLR's D3M)."""
    k, queue = k.detach(), queue.detach()
    with torch.no_grad():
        p = torch.softmax(_queue_logits(target_q.detach(), k, queue, temperature), dim=1)
    return -(p * torch.log_softmax(_queue_logits(q, k, queue, temperature), dim=1)).sum(dim=1)


def queue_softmax_mean_reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
                                 temperature: float) -> torch.Tensor:
    """(N, D) ``Σ_j p_ij c_j`` over c = [k⁺_i, queue], p the softmax of the (N, K+1) logits built in full."""
    p = torch.softmax(_queue_logits(q, k, queue, temperature), dim=1)
    return p[:, :1] * k + p[:, 1:] @ queue


def queue_context_infonce_reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, q_other: torch.Tensor,
                                    queue_other: torch.Tensor, temperature: float,
                                    positives: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Per-sample CrosSCLR cross-view loss with context, as its code builds it: logits
    ``cat([q·k, q·Qᵀ, (q·Qᵀ) ⊙ (q'·Q'ᵀ)]) / τ`` (N, 2K+1), the mask set at k⁺ and at each positive index in both
    the plain and the context block, loss ``−Σ m log_softmax / Σ m``."""
    k, queue, queue_other = k.detach(), queue.detach(), queue_other.detach()
    plain = q @ queue.t()
    logits = torch.cat([(q * k).sum(dim=1, keepdim=True), plain, plain * (q_other @ queue_other.t())], dim=1)
    logits = logits / temperature
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[:, 0] = True
    if positives is not None and positives.numel():
        mask.scatter_(1, positives + 1, True)
        mask.scatter_(1, positives + 1 + queue.shape[0], True)
    weight = mask.to(logits.dtype)
    return -(torch.log_softmax(logits, dim=1) * weight).sum(dim=1) / weight.sum(dim=1)


def queue_topk_reference(q: torch.Tensor, queue: torch.Tensor, t: int) -> torch.Tensor:
    """(N, t) int64: each row's t most similar queue indices by q·queue_j, most similar first."""
    return torch.topk(q.detach() @ queue.detach().t(), t, dim=1).indices


# ===================================== end queue InfoNCE ============================================

__all__ = ["augment_reference", "queue_context_infonce_reference", "queue_infonce_positives_reference",
           "queue_infonce_reference", "queue_soft_cross_entropy_reference", "queue_softmax_mean_reference",
           "queue_topk_reference", "rotation_matrix"]


# ============================================== dropout =============================================


def dropout_reference(x: torch.Tensor, p: float, seed: int, offset: int = 0) -> torch.Tensor:
    """:func:`mgclr.ops.dropout` with explicit (seed, offset), recomputed independently: every element's Philox
    word with the NumPy Philox, placed by the element layout of ``csrc/core/dropout.h`` (block, lanes and
    stream read from the extension), kept when it is >= round(p * 2^32), scaled by 1 / (1 - p)."""
    from .._ext import native
    from .dropout import dropout_threshold

    layout = native().dropout_layout()
    block, lanes = int(layout["block"]), int(layout["lanes"])
    e = np.arange(x.numel(), dtype=np.int64)
    within = e % block
    g = (e // block) * lanes + within % lanes
    words = _philox.philox4x32_10(g & 0xFFFFFFFF, int(layout["stream"]), g >> 32, offset, seed & 0xFFFFFFFF,
                                  (seed >> 32) & 0xFFFFFFFF)
    bits = words[e, within // lanes].astype(np.int64)
    keep = torch.from_numpy(bits >= dropout_threshold(p)).view(x.shape).to(x.device)
    scale = torch.tensor(1.0 / (1.0 - p), dtype=x.dtype, device=x.device)
    return x * torch.where(keep, scale, torch.zeros((), dtype=x.dtype, device=x.device))
