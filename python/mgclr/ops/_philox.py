"""Philox4x32-10 in NumPy (vectorised), independent of the C++ one in csrc/core/philox.h.

The pure-torch references use it to recompute per-element and per-joint draws of the kernels (the counter
blocks they use come from the extension's ABI); tests check it against the C++ implementation and the
Random123 known answers.
"""

from __future__ import annotations

import numpy as np

_MASK = np.uint64(0xFFFFFFFF)
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)


def philox4x32_10(c0, c1, c2, c3, k0, k1) -> np.ndarray:
    """Broadcasting Philox4x32-10: counter words c0..c3 and key words k0, k1 (ints or arrays < 2**32)
    -> uint32 array of shape (..., 4)."""
    c0, c1, c2, c3, k0, k1 = (np.asarray(v, dtype=np.uint64) & _MASK for v in (c0, c1, c2, c3, k0, k1))
    c0, c1, c2, c3, k0, k1 = np.broadcast_arrays(c0, c1, c2, c3, k0, k1)
    for _ in range(10):
        p0 = _M0 * c0  # < 2**64: exact in uint64
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _MASK, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _MASK
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def draws(seed: int, offset: int, stream, sample, block) -> np.ndarray:
    """The 4 words of draw block ``block`` for (seed, offset, stream, sample), broadcast over arrays."""
    return philox4x32_10(block, stream, sample, offset, seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)


def unit_float(u: np.ndarray) -> np.ndarray:
    """Exact uint32 -> float32 in [0, 1): (u >> 8) * 2**-24."""
    return (u >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


def symmetric_float(u: np.ndarray) -> np.ndarray:
    """Exact uint32 -> float32 in [-1, 1): (u >> 8) * 2**-23 - 1."""
    return (u >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-23) - np.float32(1.0)


def below(u: np.ndarray, n) -> np.ndarray:
    """Integer in [0, n): (u * n) >> 32."""
    return ((u.astype(np.uint64) * np.asarray(n, dtype=np.uint64)) >> np.uint64(32)).astype(np.int64)
