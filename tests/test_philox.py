"""Philox4x32-10: the Random123 known answers (DESIGN.md) for the C++ and the NumPy implementations."""

import numpy as np
import pytest

from mgclr._ext import native
from mgclr.ops import _philox

KNOWN = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", KNOWN)
def test_cpp_known_answers(counter, key, expected):
    assert tuple(native().philox4x32_10(list(counter), list(key))) == expected


@pytest.mark.parametrize("counter,key,expected", KNOWN)
def test_numpy_known_answers(counter, key, expected):
    assert tuple(int(v) for v in _philox.philox4x32_10(*counter, *key)) == expected


def test_numpy_matches_cpp_on_random_counters():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**32, size=(64, 6), dtype=np.uint64)
    vectorised = _philox.philox4x32_10(*(words[:, i] for i in range(6)))
    for row, out in zip(words, vectorised):
        assert list(out) == native().philox4x32_10([int(v) for v in row[:4]], [int(v) for v in row[4:]])


def test_float_conversions_are_exact_and_in_range():
    u = np.array([0, 255, 256, 2**31, 2**32 - 1], dtype=np.uint32)
    unit = _philox.unit_float(u)
    assert unit[0] == 0.0 and unit[1] == 0.0 and unit[2] == 2.0**-24
    assert unit[-1] == 1.0 - 2.0**-24 and unit.max() < 1.0
    sym = _philox.symmetric_float(u)
    assert sym[0] == -1.0 and sym[-1] == 1.0 - 2.0**-23
    assert list(_philox.below(u, 10)) == [0, 0, 0, 5, 9]
