"""Input modalities (bone, motion, bone_motion) beside the fused two-view augmentation that precedes them.

Where should bone and motion be computed: inside the fused augmentation kernel (one pass over the batch) or as
batched torch ops on its output (:class:`mgclr.models.InputModality`, what mgclr does)? This measures the second
against the first's whole cost: the fused ``paper_best`` two-view pipeline on an NTU-sized batch
(N x 3 x T x 25 x 2), then each modality on both of its views. If the modality costs a small fraction of the
pipeline, fusing it in could save at most that fraction of the augmentation stage (itself a small part of a
training step: the last row times one ST-GCN forward pass for scale), at the price of a kernel variant per
modality and per device.

Median of ``--repeats`` after a warm-up, wall clock on CPU, CUDA events on GPU. Table on stdout, JSON at --json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from mgclr._files import write_json_atomic
from mgclr.augment import pipeline_from_config
from mgclr.models import InputModality, bone_parents
from mgclr.skeleton import get_layout


def _time(fn, repeats: int, device: str) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--frames", type=int, default=64, help="input T (the pipeline resizes to 64)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--json", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "modality.json"))
    args = ap.parse_args()
    layout = get_layout("ntu25")
    N, T, V, M = args.batch, args.frames, layout.num_joints, 2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 3, T, V, M, generator=g).to(args.device)
    lengths = torch.randint(T // 2, T + 1, (N,), generator=g).to(args.device)
    pipe = pipeline_from_config({"preset": "paper_best", "out_frames": 64, "two_views": True}).to(args.device)
    (view_q, view_k), params = pipe(x, lengths, seed=0, return_params=True)
    out_lengths = params.lengths
    augment = _time(lambda: pipe(x, lengths, seed=1), args.repeats, args.device)
    nbytes = 2 * view_q.numel() * view_q.element_size()
    rows = [{"stage": "fused two-view augmentation (paper_best)", "seconds": augment, "ratio": 1.0}]
    parents = bone_parents(V, layout.bones)
    for kind in ("bone", "motion", "bone_motion"):
        modality = InputModality(kind, parents, 3).to(args.device)

        def both(modality=modality):
            modality(view_q, out_lengths[0])
            modality(view_k, out_lengths[1])

        seconds = _time(both, args.repeats, args.device)
        rows.append({"stage": f"{kind} on both views", "seconds": seconds, "ratio": seconds / augment,
                     "GB_per_s": 2 * nbytes / seconds / 1e9})  # read + write of both views
    # For scale: one forward pass of SkeletonCLR's ST-GCN on one view (training runs it forward and backward, for
    # query and key, per stream).
    from mgclr.models import STGCN

    encoder = STGCN(layout, in_channels=3, num_persons=M, hidden_channels=16, hidden_dim=256).to(args.device).eval()
    with torch.no_grad():
        seconds = _time(lambda: encoder(view_q, out_lengths[0]), max(3, args.repeats // 4), args.device)
    rows.append({"stage": "for scale: ST-GCN forward, one view, no grad", "seconds": seconds,
                 "ratio": seconds / augment})
    print(f"N={N} T={T}->64 V={V} M={M}, {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for r in rows:
        extra = f"  {r['GB_per_s']:6.2f} GB/s" if "GB_per_s" in r else ""
        print(f"  {r['stage']:<44} {r['seconds'] * 1e3:8.3f} ms  x{r['ratio']:.3f} of the augmentation{extra}")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    write_json_atomic(args.json, {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                                              "threads": torch.get_num_threads(), "device": args.device},
                                  "batch": N, "frames": T, "rows": rows})
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
