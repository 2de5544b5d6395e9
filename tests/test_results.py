"""mgclr.train.results: a probe's typed result, readable as the mapping report code expects."""

from __future__ import annotations

import json

import pytest
import torch

from mgclr.train.results import ProbeResult, metrics_of


def result(**extra):
    return ProbeResult(top1_best=0.5, top5_best=0.9, best_epoch=3, top1_last=0.4, top5_last=0.8,
                       scores=torch.full((4, 3), 1 / 3), labels=torch.tensor([0, 1, 2, 0]), **extra)


def test_fields_metrics_and_mapping_access():
    r = result(stream="joint")
    assert r.top1_best == r["top1_best"] == 0.5 and r["stream"] == "joint"
    assert r.metrics() == {"top1_best": 0.5, "top5_best": 0.9, "best_epoch": 3, "top1_last": 0.4, "top5_last": 0.8}
    assert set(r) == {"top1_best", "top5_best", "best_epoch", "top1_last", "top5_last", "scores", "labels", "stream"}
    assert "encoder" not in r and len(r) == 8  # fields not held are not keys
    with pytest.raises(KeyError):
        r["encoder"]
    json.dumps(r.metrics())  # what <protocol>.json holds


def test_with_fields_is_a_new_result_and_equality_is_identity():
    r = result()
    finetuned = r.with_fields(labelled_samples=24, stream="joint")
    assert finetuned is not r and finetuned.metrics()["labelled_samples"] == 24 and "labelled_samples" not in r
    assert r == r and r != result()  # tensors have no single truth value: a result equals itself only
    assert {**finetuned, "x": 1}["labelled_samples"] == 24


def test_metrics_of_a_protocols_results():
    assert metrics_of({"joint": result(), "old": {"top1": 0.1, "flag": True, "scores": torch.zeros(2)}}) == {
        "joint": result().metrics(), "old": {"top1": 0.1}}
