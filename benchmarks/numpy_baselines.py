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


# --------------------------------------------------------------- AimCLR's feeder (three views per sample)


def temporal_crop(data: np.ndarray, ratio=6, rng=np.random):
    """SkeletonCLR / AimCLR: reflect-pad T // ratio frames at both ends, a random T-frame window."""
    T = data.shape[1]
    pad = T // ratio
    start = rng.randint(0, 2 * pad + 1)
    padded = np.concatenate((data[:, :pad][:, ::-1], data, data[:, -pad:][:, ::-1]), axis=1)
    return padded[:, start:start + T]


def spatial_flip(data: np.ndarray, order, p=0.5, rng=np.random):
    return data[:, :, order, :] if rng.rand() < p else data


def time_flip(data: np.ndarray, p=0.5, rng=np.random):
    return data[:, ::-1] if rng.rand() < p else data


def random_rotate(data: np.ndarray, rng=np.random):
    """One random main axis U(0, 30) degrees, the other two U(0, 1), applied x, y, z in turn."""
    seq = np.transpose(data, (1, 2, 3, 0))
    main = rng.randint(0, 3)
    for axis in range(3):
        a = math.radians(rng.uniform(0, 30) if axis == main else rng.uniform(0, 1))
        c, s = math.cos(a), math.sin(a)
        R = [np.array([[1, 0, 0], [0, c, s], [0, -s, c]]), np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]),
             np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])][axis]
        seq = np.matmul(seq, R.T)
    return np.transpose(seq, (3, 0, 1, 2))


def gaussian_noise(data: np.ndarray, std=0.01, p=0.5, rng=np.random):
    return data + rng.normal(0, std, size=data.shape) if rng.rand() < p else data


def gaussian_blur(data: np.ndarray, kernel=15, sigma=(0.1, 2.0), p=0.5, rng=np.random):
    """A temporal Gaussian filter per sample (a float64 ``conv2d`` over (M, C, V, T), as AimCLR's feeder)."""
    s = rng.uniform(*sigma)
    radius = kernel // 2
    weights = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2.0 * s * s))
    if rng.rand() >= p:
        return data
    x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float64)).permute(3, 0, 2, 1)
    w = torch.from_numpy(weights).view(1, 1, 1, -1).repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(x, w, padding=(0, radius), groups=x.shape[1]).permute(1, 3, 2, 0).numpy()


def axis_mask(data: np.ndarray, p=0.5, rng=np.random):
    if rng.rand() >= p:
        return data
    out = data.copy()
    out[rng.randint(0, 3)] = 0
    return out


class TripleFeederDataset(torch.utils.data.Dataset):
    """AimCLR's ``Feeder_triple``: per sample an extreme view (temporal crop, shear, spatial flip, rotation, time
    flip, noise, blur, axis mask) and two normal views (temporal crop, shear), float32 (theirs are float64 until
    ``.float()`` on the device)."""

    def __init__(self, data: np.ndarray, flip_order):
        self.data, self.order = data, list(flip_order)

    def __len__(self):
        return len(self.data)

    @staticmethod
    def _normal(sample):
        return shear(temporal_crop(sample), r=0.5)

    def _extreme(self, sample):
        view = spatial_flip(self._normal(sample), self.order)
        view = random_rotate(view)
        view = gaussian_blur(gaussian_noise(time_flip(view)))
        return axis_mask(view)

    def __getitem__(self, i):
        sample = np.asarray(self.data[i])
        return tuple(np.ascontiguousarray(v, dtype=np.float32)
                     for v in (self._extreme(sample), self._normal(sample), self._normal(sample)))
