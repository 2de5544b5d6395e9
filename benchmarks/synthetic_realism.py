"""How realistic is mgclr.data.synthetic_mg? Prints one JSON object.

(a) The statistics of issue 28's real iMiGUE facts measured back from generated data (both forms), next to
    the targets, with how each was matched (:func:`mgclr.data.synthetic_mg.realism_statistics`).
(b) The ridge floor (:func:`mgclr.train.evaluate.ridge_floor`: a ridge classifier on the joints resampled
    to 16 frames, no encoder) on a 12-class balanced cross-subject split of the new generator (3-D and 2-D),
    and on the demo's data from the old generator (``mgclr.data.generate``: 1200 train / 480 test, 40
    frames, seeds 0 / 1, as ``mgclr demo`` draws it).

    OMP_NUM_THREADS=1 python benchmarks/synthetic_realism.py [--samples 2400] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mgclr.data import ArrayDataset, generate
from mgclr.data.synthetic import CLASSES
from mgclr.data.synthetic_mg import IDLE, LENGTH_QUANTILES, generate_realistic, realism_statistics, split_by_subject
from mgclr.train.evaluate import ridge_floor

TARGETS = {
    "duration_quantiles": {f"p{int(q * 100)}": v for q, v in LENGTH_QUANTILES},
    "amplitude_p90": {"moving_wrist_in_mg": 0.51, "moving_wrist_idle": 0.16, "head_idle": [0.17, 0.24],
                      "elbow_idle": [0.17, 0.24]},
    "within_clip_wrist_rms_median": {"still (cross_fingers)": 0.01,
                                     "rubbing, scratching (rub_hands, scratch_head)": 0.14},
    "frames_without_person": 0.01, "ear_detection_rate": 0.5,
    "class_counts (long tail, iMiGUE's 32 classes)": {"min": 2, "median": 132, "max": 2880},
}


def _dataset(d):
    return ArrayDataset(d.x, d.lengths, d.labels)


def _ridge(train, test):
    r = ridge_floor(_dataset(train), _dataset(test))
    return {"top1": round(100 * r["top1"], 1), "top5": round(100 * r["top5"], 1), "alpha": r["alpha"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2400, help="clips per cross-subject dataset (12 classes)")
    parser.add_argument("--subjects", type=int, default=24)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--stat-samples", type=int, default=1300, help="clips for the statistics (13 classes)")
    args = parser.parse_args()
    out = {"targets": TARGETS, "statistics": {}, "ridge_floor": {}}
    start = time.time()
    for form in ("3d", "2d"):
        d = generate_realistic(args.stat_samples, form=form, seed=100, subjects=args.subjects, frames=args.frames,
                               classes=CLASSES + (IDLE,))
        out["statistics"][form] = realism_statistics(d)
        every = realism_statistics(d, reference="all")["amplitude_p90"]
        out["statistics"][form]["amplitude_p90_around_median_of_all_frames"] = every
    tail = generate_realistic(3000, form="3d", seed=100, long_tail=True, frames=16)
    counts = np.bincount(tail.labels)
    out["statistics"]["long_tail_3000"] = {"counts": counts.tolist(), "max/min": float(counts.max() / counts.min()),
                                          "max/median": float(counts.max() / np.median(counts))}
    for form in ("3d", "2d"):
        runs = []
        for seed in args.seeds:
            d = generate_realistic(args.samples, form=form, seed=seed, subjects=args.subjects, frames=args.frames)
            train, test = split_by_subject(d, 0.3, seed=seed)
            r = _ridge(train, test)
            r.update(seed=seed, train=len(train.labels), test=len(test.labels),
                     test_subjects=int(len(np.unique(test.subjects))))
            runs.append(r)
        out["ridge_floor"][f"realistic {form}, cross-subject"] = runs
    old = []
    for seed in args.seeds:
        train, test = generate(1200, frames=40, seed=2 * seed), generate(480, frames=40, seed=2 * seed + 1)
        r = _ridge(train, test)
        r.update(seed=seed)
        old.append(r)
    out["ridge_floor"]["old generator (mgclr.data.generate, the demo's split)"] = old
    out["seconds"] = round(time.time() - start, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
