"""Benchmark: fused skeleton augmentation vs per-sample NumPy feeders and the eager torch reference.

Input N=256, C=3, T=300 (lengths 64..300), V=25, M=2; two MoCo views of 64 frames, for the ISC pipeline
(crop-resize + shear | joint shake) and paper_best (resize + coordinate perturbation + stretch + posterize).
Compared in one run:
  (a) per-sample NumPy in DataLoader workers (benchmarks/numpy_baselines.py, ISC/SkeletonCLR feeder style),
  (b) the eager torch reference, batched (mgclr.ops.reference.augment_reference, both views),
  (c) mgclr fused pipeline on the CPU (two views, one call),
  (d) mgclr fused pipeline on CUDA (``--device cuda``, or ``auto`` when a GPU is usable), with achieved GB/s
      (bytes read + written) against a device-to-device copy measured in the same run.
(a) and (b) run on the CPU whatever the device: the per-sample feeders are what CUDA training loops use
today, and the reference recomputes the kernels' per-element draws with a NumPy Philox.
Prints a table and writes JSON (``--json``). Times are medians over ``--repeats`` runs after warm-up.

    python benchmarks/bench_augment.py [--device auto|cpu|cuda] [--quick] [--batch 256] [--workers 2]
                                       [--json benchmarks/out/augment.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_baselines  # noqa: E402

import mgclr  # noqa: E402
from mgclr._files import write_json_atomic  # noqa: E402
from mgclr.augment import isc, paper_best  # noqa: E402
from mgclr.ops.reference import augment_reference  # noqa: E402

PIPELINES = {"isc": lambda: isc(out_frames=64, two_views=True), "paper_best": lambda: paper_best(64, two_views=True)}


def median_time(fn, repeats: int, warmup: int = 1, sync=None) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cuda_time(fn, repeats: int) -> float:
    fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    return statistics.median(times)


def make_input(N, C, T, V, M, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(64, T + 1, (N,), generator=g)
    x = torch.randn(N, C, T, V, M, generator=g)
    x *= (torch.arange(T).view(1, T) < lengths.view(N, 1)).view(N, 1, T, 1, 1)
    return x, lengths


def bench_numpy(x, lengths, name, workers, repeats, batches=4):
    """Seconds per batch of N two-view samples through a DataLoader with ``workers`` processes. The
    dataset holds ``batches`` batches so that all workers are busy (one worker builds a whole batch)."""
    N = len(x)
    index = np.arange(batches * N) % N
    dataset = numpy_baselines.FeederDataset(x.numpy()[index], lengths.numpy()[index], name)
    loader = torch.utils.data.DataLoader(dataset, batch_size=N, num_workers=workers,
                                         persistent_workers=workers > 0)

    def epoch():
        for _ in loader:
            pass

    return median_time(epoch, repeats) / batches


def bytes_moved(x, lengths, out_frames):
    """Fewest bytes a fused two-view pass must move: the valid input frames once + both outputs once."""
    N, C, T, V, M = x.shape
    read = int(lengths.sum()) * C * V * M * 4
    write = 2 * N * C * out_frames * V * M * 4
    return read + write


def bench_pipeline(name, pipe, x, lengths, workers, repeats, cuda):
    r = {"numpy_per_sample_s": bench_numpy(x, lengths, name, workers, max(2, repeats // 2))}
    _, params = pipe(x, lengths, seed=1, return_params=True)
    r["torch_reference_s"] = median_time(
        lambda: [augment_reference(x, lengths, params, pipe.ops, view=v) for v in (0, 1)], max(2, repeats // 2))
    r["fused_cpu_s"] = median_time(lambda: pipe(x, lengths, seed=1), 5 * repeats)  # cheap: more samples
    # Memory roofline on the CPU: a large copy (bytes read + written) and the fused pass's fewest bytes.
    big = torch.randn(64 * 2**20 // 4)
    dst = torch.empty_like(big)
    r["cpu_copy_GBps"] = 2 * big.numel() * 4 / median_time(lambda: dst.copy_(big), repeats) / 1e9
    r["fused_cpu_GBps"] = bytes_moved(x, lengths, 64) / r["fused_cpu_s"] / 1e9
    r["fused_cpu_vs_numpy"] = r["numpy_per_sample_s"] / r["fused_cpu_s"]
    r["fused_cpu_vs_reference"] = r["torch_reference_s"] / r["fused_cpu_s"]
    if cuda:
        xg, lg = x.cuda(), lengths.cuda()
        # check_lengths=False: the lengths check is a device sync, not part of the kernel time
        r["fused_cuda_s"] = cuda_time(lambda: pipe(xg, lg, seed=1, check_lengths=False), repeats * 10)
        src = torch.randn(256 * 2**20 // 4, device="cuda")  # 256 MiB, random (never time on zeros)
        dst = torch.empty_like(src)
        copy_s = cuda_time(lambda: dst.copy_(src), repeats * 10)
        r["copy_GBps"] = 2 * src.numel() * 4 / copy_s / 1e9
        r["fused_cuda_GBps"] = bytes_moved(x, lengths, 64) / r["fused_cuda_s"] / 1e9
        r["fused_cuda_fraction_of_copy"] = r["fused_cuda_GBps"] / r["copy_GBps"]
        r["fused_cuda_vs_reference_cpu"] = r["torch_reference_s"] / r["fused_cuda_s"]
    return r


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="cuda: also time the CUDA kernels (an error without a usable GPU); auto: when usable")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    parser.add_argument("--batch", type=int, default=256, help="samples per batch (N)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="DataLoader workers for (a)")
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "out" / "augment.json"))
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    cuda = args.device == "cuda" or (args.device == "auto" and mgclr.cuda_available())
    if cuda and not mgclr.cuda_available():
        parser.error(f"--device cuda: no usable GPU (build_info: {mgclr.build_info()})")
    torch.manual_seed(0)
    np.random.seed(0)
    N, C, T, V, M = args.batch, 3, 300, 25, 2
    x, lengths = make_input(N, C, T, V, M)
    results = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                           "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                           "mgclr": mgclr.build_info()},
               "input": {"N": N, "C": C, "T": T, "V": V, "M": M, "lengths": "64..300", "views": 2,
                         "out_frames": 64}, "pipelines": {}}
    rows = []
    for name, make in PIPELINES.items():
        r = bench_pipeline(name, make(), x, lengths, args.workers, repeats, cuda)
        if "fused_cuda_s" in r:
            results["machine"]["gpu"] = torch.cuda.get_device_name()
        results["pipelines"][name] = r
        rows.append((name, r))

    print(f"\nmgclr augmentation benchmark — N={N} C={C} T={T} V={V} M={M}, 2 views x 64 frames, "
          f"{os.cpu_count()} CPU cores, {args.workers} DataLoader workers")
    header = (f"{'pipeline':<11} {'(a) numpy ms':>13} {'(b) ref ms':>11} {'(c) fused ms':>13} {'c vs a':>8} "
              f"{'c vs b':>8} {'c GB/s':>7} {'copy GB/s':>10}")
    if cuda:
        header += f" {'(d) cuda ms':>12} {'GB/s':>8} {'% copy':>7}"
    print(header)
    for name, r in rows:
        line = (f"{name:<11} {r['numpy_per_sample_s'] * 1e3:>13.1f} {r['torch_reference_s'] * 1e3:>11.1f} "
                f"{r['fused_cpu_s'] * 1e3:>13.2f} {r['fused_cpu_vs_numpy']:>7.1f}x "
                f"{r['fused_cpu_vs_reference']:>7.1f}x {r['fused_cpu_GBps']:>7.1f} {r['cpu_copy_GBps']:>10.1f}")
        if "fused_cuda_s" in r:
            line += (f" {r['fused_cuda_s'] * 1e3:>12.3f} {r['fused_cuda_GBps']:>8.0f} "
                     f"{100 * r['fused_cuda_fraction_of_copy']:>6.0f}%")
        print(line)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, results)
    print(f"JSON: {args.json}")
    return results


if __name__ == "__main__":
    main()
