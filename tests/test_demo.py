"""``mgclr demo``: pretraining beats random initialisation on the synthetic micro-gestures (minutes).
How long it takes is a benchmark's business (RESULTS.md), never a test's: this machine's speed swings 2x."""

from __future__ import annotations

import pytest

from mgclr.train.demo import run_demo


@pytest.mark.slow
def test_demo_beats_random_init_and_chance(tmp_path):
    report = run_demo(str(tmp_path / "demo"), show_progress=False, log=lambda *_: None)
    fused, random = report["pretrained"]["joint+sequence"]["top1"], report["random_init"]["joint+sequence"]["top1"]
    assert fused > 5 * report["chance"], report
    assert fused > random + 0.03, report
    assert report["pretrained"]["joint"]["top1"] > report["random_init"]["joint"]["top1"] + 0.1, report
    assert set(report["plots"]) == {"confusion_joint", "confusion_sequence", "confusion_joint+sequence", "tsne_joint",
                                    "tsne_sequence"}
    assert report["seconds"]["total"] > 0  # reported (RESULTS.md quotes it), not bounded here
