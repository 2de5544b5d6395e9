"""Every op and preset gives the same output and records as when the fingerprints were recorded.

Exact (sha256) on the platform they were recorded on; elsewhere libm may round the trigonometry of
rotation records by an ulp, so the outputs' sums are compared with a tolerance instead.
"""

from __future__ import annotations

import json

import pytest
from augment_fingerprints import PATH, cases, fingerprint, platform_key

SAVED = json.loads(PATH.read_text())
CASES = cases()


def test_every_case_is_recorded():
    assert sorted(CASES) == sorted(SAVED["cases"]), "re-record with: python tests/augment_fingerprints.py --record"


@pytest.mark.parametrize("name", sorted(SAVED["cases"]))
def test_fingerprint(name):
    saved = SAVED["cases"][name]
    now = fingerprint(*CASES[name]())
    assert now["shape"] == saved["shape"]
    if SAVED["platform"] == platform_key():
        assert now["records_sha256"] == saved["records_sha256"], f"{name}: records changed"
        assert now["sha256"] == saved["sha256"], f"{name}: output changed"
    else:
        assert now["sum"] == pytest.approx(saved["sum"], rel=1e-4, abs=1e-2)
        assert now["abs_sum"] == pytest.approx(saved["abs_sum"], rel=1e-5)
