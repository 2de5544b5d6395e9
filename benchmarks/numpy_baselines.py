"""Per-sample NumPy augmentation in the style of the research feeders mgclr replaces (ISC, SkeletonCLR,
AimCLR): one sample ``(C, T, V, M)`` at a time, inside DataLoader workers. Written here from the published
descriptions, for benchmarking only; the semantics follow mgclr's ops so that the work is comparable.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def valid_crop_resize(data: np.ndarray, valid: int, scale=(0.1, 1.0), min_len=64, out_frames=64, rng=np.random):
    """ISC / CTR-GCN: random valid crop, then per-sample ``F.interpolate`` (bilinear over (T, V*M))."""
    C, T, V, M = data.shape
    p = rng.uniform(*scale)
    crop = int(np.minimum(np.maximum(int(np.floor(valid * p)), min(min_len, valid)), valid))
    start = rng.randint(0, valid - crop + 1)
    clip = torch.from_numpy(np.ascontiguousarray(data[:, start:start + crop]))
    clip = clip.permute(0, 2, 3, 1).reshape(1, C * V * M, crop)[:, :, None, :]
    clip = F.interpolate(clip, size=(1, out_frames), mode="bilinear", align_corners=False).squeeze(2)
    return clip.reshape(C, V, M, out_frames).permute(0, 3, 1, 2).contiguous().numpy()


def shear(data: np.ndarray, r=1.0, rng=np.random):
    """SkeletonCLR/ISC shear: ``data @ S^T`` with S = I + off-diagonals U[-r, r]."""
    S = np.array([[1, rng.uniform(-r, r), rng.uniform(-r, r)],
                  [rng.uniform(-r, r), 1, rng.uniform(-r, r)],
                  [rng.uniform(-r, r), rng.uniform(-r, r), 1]], dtype=np.float32)
    return np.dot(data.transpose(1, 2, 3, 0), S.T).transpose(3, 0, 1, 2)


def joint_shake(data: np.ndarray, count=15, rng=np.random):
    out = data.copy()
    joints = rng.choice(data.shape[2], count, replace=False)
    if rng.rand() < 0.5:
        out[:, :, joints] = 0
    else:
        A = rng.uniform(-1, 1, size=(3, 3)).astype(np.float32)
        out[:, :, joints] = np.einsum("ij,jtvm->itvm", A, data[:, :, joints])
    return out


def coordinate_perturbation(data: np.ndarray, valid: int, m=4, tau=10.0, r_max=2.0, rng=np.random):
    L = data[:, :valid]
    sta, mid, fin = L[:, 0], L[:, (valid - 1) // 2], L[:, valid - 1]
    lam = np.clip(np.linalg.norm(fin - mid) / (np.linalg.norm(mid - sta) + 1e-6), 0, r_max) / tau
    out = data.copy()
    for v in rng.choice(data.shape[2], m, replace=False):
        offset = lam * rng.uniform(-1, 1, size=3).astype(np.float32)
        present = np.any(out[:, :valid, v] != 0, axis=0)
        out[:, :valid, v] += offset[:, None, None] * present[None]
    return out


def stretch(data: np.ndarray, rng=np.random):
    if rng.rand() < 0.5:
        S = np.diag(rng.uniform(1, 2, size=3)).astype(np.float32)
    else:
        S = np.eye(3, dtype=np.float32)
        S[~np.eye(3, dtype=bool)] = rng.uniform(-1, 1, size=6)
    return np.einsum("ij,jtvm->itvm", S, data).astype(np.float32)


def posterize_time(data: np.ndarray, valid: int, h=0.1, k=4, rate=(0.5, 2.0), rng=np.random):
    head = min(int(math.floor(h * valid)), (valid - 1) // 2)
    middle = valid - 2 * head
    cuts = np.sort(rng.randint(0, middle + 1, size=k - 1))
    seg = np.diff(np.concatenate([[0], cuts, [middle]]))
    rates = rng.uniform(*rate, size=k)
    index = [np.arange(head)]
    start = head
    out_len = seg / rates
    out_len = out_len * middle / max(out_len.sum(), 1e-9)
    for m, o in zip(seg, out_len):
        n_out = int(round(o))
        if m > 0 and n_out > 0:
            index.append(start + np.minimum((np.arange(n_out) + 0.5) / n_out * m, m - 1).astype(int))
        start += m
    index.append(np.arange(head + middle, valid))
    index = np.concatenate(index)
    index = index[np.linspace(0, len(index) - 1, valid).round().astype(int)]
    out = np.zeros_like(data)
    out[:, :valid] = data[:, index]
    return out


class FeederDataset(torch.utils.data.Dataset):
    """A feeder whose ``__getitem__`` returns two augmented views of one sample (MoCo's q and k)."""

    def __init__(self, data: np.ndarray, lengths: np.ndarray, pipeline: str, out_frames: int = 64):
        self.data, self.lengths, self.pipeline, self.out_frames = data, lengths, pipeline, out_frames

    def __len__(self):
        return len(self.data)

    def _view(self, sample, valid):
        if self.pipeline == "isc":
            view = valid_crop_resize(sample, valid, out_frames=self.out_frames)
            return shear(view) if np.random.rand() < 0.5 else joint_shake(view)
        # paper_best with a whole-sequence resize to out_frames, as mgclr's paper_best(out_frames)
        view = valid_crop_resize(sample, valid, scale=(1.0, 1.0), min_len=1, out_frames=self.out_frames)
        view = coordinate_perturbation(view, self.out_frames)
        view = stretch(view)
        return posterize_time(view, self.out_frames)

    def __getitem__(self, i):
        sample, valid = self.data[i], int(self.lengths[i])
        return self._view(sample, valid), self._view(sample, valid)
