"""Real-data learning: NW-UCLA converted with `mgclr prepare`, dual-stream MoCo pretrained briefly on two CPU
cores (configs/nw_ucla_cpu.yaml, 40 epochs instead of 100), then linear evaluation of the pretrained and of
randomly initialised encoders on the cross-view test split. Minutes; skips without ../shared/data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from conftest import data_dir

from mgclr.data.convert import convert_nw_ucla
from mgclr.train import fuse_eval, load_config, pretrain

NW_UCLA = data_dir() / "nw_ucla"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "nw_ucla_cpu.yaml"


@pytest.mark.slow
@pytest.mark.skipif(not NW_UCLA.is_dir(), reason=f"NW-UCLA data not found in {NW_UCLA} (../shared/data)")
def test_pretraining_beats_random_init_on_nw_ucla(tmp_path):
    report = convert_nw_ucla(NW_UCLA, tmp_path / "nw_ucla", progress=False)
    assert report.splits == {"xview": {"train": 1020, "test": 464}}
    config = load_config(CONFIG, [f"data.path={tmp_path / 'nw_ucla'}", f"output={tmp_path / 'run'}", "device=cpu",
                                  "pretrain.epochs=40", "pretrain.knn_every=0", "fuse.tsne=false",
                                  "fuse.confusion=false"])
    pretrain(config, show_progress=False)
    device = torch.device("cpu")
    fused = {}
    for batchnorm in (False, True):  # the papers' linear probe, and the one that standardises the features
        probe = dataclasses.replace(config, linear=dataclasses.replace(config.linear, batchnorm=batchnorm))
        for random_init in (False, True):
            table = fuse_eval(probe, device, random_init=random_init, out_dir=tmp_path / "eval", tag="t")["table"]
            fused[batchnorm, random_init] = table
    summary = {f"{'bn' if bn else 'plain'}/{'random' if r else 'pretrained'}": {s: round(100 * v["top1"], 1)
                                                                                for s, v in t.items()}
               for (bn, r), t in fused.items()}
    # The issue's bar: fused top-1 of the pretrained encoders >= random init + 10 points (papers' probe).
    assert fused[False, False]["joint+sequence"]["top1"] >= fused[False, True]["joint+sequence"]["top1"] + 0.10, summary
    # With standardised features the random encoders are judged fairly and the margin is smaller, but
    # pretraining must still win, on the fused scores and on the joint stream.
    assert fused[True, False]["joint+sequence"]["top1"] >= fused[True, True]["joint+sequence"]["top1"] + 0.03, summary
    assert fused[True, False]["joint"]["top1"] >= fused[True, True]["joint"]["top1"] + 0.03, summary

