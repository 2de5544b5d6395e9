"""Queue InfoNCE benchmark: auto (what a user gets; the table names what it runs) vs reference vs chunked vs fused
vs attention, forward + backward, in one run.

Sizes: N in {256, 1024}, K in {16384, 65536}, D = 128, tau = 0.07 (``--quick``: N=256, K=16384 only;
``--small``: the sizes around auto's CPU crossovers, N x K from 32 x 512 to 256 x 4096, time only, as the
minimum of ``--repeats`` (default 15) calls, since a call there is well under a millisecond).

What is measured, and how:

* Time of one training use, ``loss = queue_infonce(q, k, queue, tau, impl); loss.backward()`` (q requires
  grad), in two modes: ``loss`` (just that) and ``stats`` (``return_stats=True``, what MoCo's training step
  asks for: the positive's rank for top-1/top-5 too; free in reference/chunked/fused, one more pass of
  logits in attention). CPU: wall clock, median over ``--repeats`` after one warm-up. GPU: CUDA events around the same
  call, median over repeats; TFLOP/s counts the two N×K×D matmul-shaped products every implementation
  does (logits and dq): 4·N·K·D flops.
* Peak extra memory: the largest amount of memory alive at once during that call beyond the inputs.
  GPU: ``torch.cuda.max_memory_allocated()`` minus the allocation before the call (the caching allocator
  counts exactly the tensors alive). CPU: tracemalloc cannot see torch's allocations, so every
  (impl, size) point runs in a FRESH subprocess that builds the inputs, warms the implementation the call
  will run (``auto`` resolved at the measured size) up on a tiny problem (loads code pages, starts the
  OpenMP/intra-op thread pools), resets the kernel's peak-RSS counter (``/proc/self/clear_refs`` = 5), runs
  one forward + backward and reports VmHWM − VmRSS before the call. This is an honest upper bound of the
  tensors alive at the peak (RSS also counts allocator slack
  and first-touch pages), with a resolution of a few pages. The child runs with
  MALLOC_MMAP_THRESHOLD_=65536 so every block of 64 KiB or more is a fresh mapping returned on free: a
  point neither inherits another's peak nor hides in memory glibc kept from earlier frees (smaller
  blocks can, so peaks under ~1 MiB are lower bounds). Without /proc it falls back to ``ru_maxrss``.

Ratios are against ``reference`` at the same size. Results: a table on stdout and JSON at ``--json``.

``--compare-policy`` (with ``--small`` on the CPU: the run that measured them) then prints, per mode, the
N x K from which ``attention`` was the fastest here against the thresholds ``auto`` uses
(``mgclr/ops/auto_policy.json``: ``infonce_cpu_attention_min_nk_loss`` / ``_stats``), and the sizes where
``auto``'s pick was not the fastest. It never rewrites the file: a new value goes there by hand, with its
machine, and into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from mgclr._files import write_json_atomic

IMPLS = ("auto", "reference", "chunked", "fused", "attention")
MODES = ("loss", "stats")
SMALL_SIZES = [(32, 512), (64, 1024), (64, 4096), (128, 4096), (128, 16384), (256, 4096)]
D, TAU = 128, 0.07


def make_inputs(N: int, K: int, device: str):
    g = torch.Generator().manual_seed(0)
    q = F.normalize(torch.randn(N, D, generator=g), dim=1).to(device)
    k = F.normalize(q.cpu() + 0.3 * torch.randn(N, D, generator=g), dim=1).to(device)
    queue = F.normalize(torch.randn(K, D, generator=g), dim=1).to(device)
    return q, k, queue


def runs(impl: str, mode: str, N: int, K: int, device: str) -> str:
    """The implementation a call of ``impl`` runs at this size (``auto`` resolved as queue_infonce does)."""
    from mgclr.ops.infonce import _resolve_impl

    return _resolve_impl(impl, torch.device(device), N, K, D, with_stats=mode == "stats")


def step(impl: str, q, k, queue, mode: str = "loss") -> None:
    from mgclr.ops import queue_infonce

    qq = q.detach().requires_grad_()
    if mode == "stats":
        queue_infonce(qq, k, queue, TAU, impl, return_stats=True).loss.backward()
    else:
        queue_infonce(qq, k, queue, TAU, impl).backward()


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def cpu_peak_child(impl: str, mode: str, N: int, K: int) -> None:
    """Runs in a fresh interpreter: prints the peak extra memory of one forward + backward in bytes."""
    q, k, queue = make_inputs(N, K, "cpu")
    # Warm up what the call will run: auto picks by size, and at 4 x 64 it would warm another implementation,
    # leaving the first-call memory (code pages, thread pools) of the one it runs here inside the measurement.
    step(runs(impl, mode, N, K, "cpu"), *make_inputs(4, 64, "cpu"), mode)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status_kb("VmRSS")
        step(impl, q, k, queue, mode)
        peak = _status_kb("VmHWM")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        step(impl, q, k, queue, mode)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(max(0, peak - before) * 1024)


def cpu_peak(impl: str, mode: str, N: int, K: int) -> int:
    # A fixed mmap threshold makes every block >= 64 KiB a fresh mapping returned on free, so RSS follows
    # the tensors instead of glibc's reuse of memory freed earlier in the process.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, __file__, "--_child", impl, mode, str(N), str(K)], check=True,
                         capture_output=True, text=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])


def time_cpu(impl: str, mode: str, q, k, queue, repeats: int, reduce=statistics.median) -> float:
    step(impl, q, k, queue, mode)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step(impl, q, k, queue, mode)
        ts.append(time.perf_counter() - t0)
    return reduce(ts)


def time_and_peak_cuda(impl: str, mode: str, q, k, queue, repeats: int):
    step(impl, q, k, queue, mode)
    torch.cuda.synchronize()
    ts = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        step(impl, q, k, queue, mode)
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) / 1e3)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step(impl, q, k, queue, mode)
    torch.cuda.synchronize()
    return statistics.median(ts), torch.cuda.max_memory_allocated() - base


def _mib(n) -> str:
    return "n/a" if n is None else f"{n / 2**20:.2f}"


def _ratio(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


POLICY = {"loss": "infonce_cpu_attention_min_nk_loss", "stats": "infonce_cpu_attention_min_nk_stats"}


def compare_policy(rows: list, device: str) -> dict:
    """The measured CPU crossovers of this run against auto_policy.json's: per mode, the smallest measured N·K
    from which attention beats the best of chunked and fused at that size and every larger one."""
    from mgclr.ops.auto_policy import THRESHOLDS

    out = {}
    for mode, name in POLICY.items():
        entry = THRESHOLDS[name]
        sizes = sorted({(r["N"], r["K"]) for r in rows if r["mode"] == mode}, key=lambda nk: (nk[0] * nk[1], nk))
        fastest, picks = {}, []
        for N, K in sizes:
            times = {r["impl"]: r["time_ms"] for r in rows if r["mode"] == mode and (r["N"], r["K"]) == (N, K)
                     and r["impl"] in ("chunked", "fused", "attention")}
            best = min(times, key=times.get)
            fastest[N, K] = best
            auto = runs("auto", mode, N, K, device)
            if auto in times and auto != best:
                picks.append(f"{N} x {K}: auto runs {auto} ({times[auto]:.2f} ms), {best} is fastest "
                             f"({times[best]:.2f} ms)")
        measured = None
        for N, K in reversed(sizes):
            if fastest[N, K] != "attention":
                break
            measured = N * K
        print(f"{mode:>5}: attention fastest from N·K = {measured if measured is not None else 'none measured'}"
              f" here; auto_policy.json {name} = {entry.value} ({entry.value_as})"
              f"{'' if measured == entry.value else '  <- differs'}")
        print(f"       the file's value was measured on {entry.measured_on}")
        for line in picks:
            print(f"       {line}")
        out[name] = {"policy": entry.value, "measured": measured, "auto_not_fastest": picks}
    if device != "cpu":
        print("(these thresholds switch the CPU only; on CUDA auto takes attention, or fused / chunked for float64)")
    return out


def machine(device: str) -> dict:
    import mgclr

    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "mgclr": mgclr.build_info()}
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info["cpu"] = f"{cpu}, {os.cpu_count()} logical cores"
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per point (default 5; 15 with --small)")
    ap.add_argument("--quick", action="store_true", help="only N=256, K=16384, 2 repeats")
    ap.add_argument("--small", action="store_true",
                    help="the sizes around auto's CPU crossovers; time only (minimum of --repeats, default 15)")
    ap.add_argument("--json", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out",
                                                   "infonce.json"))
    ap.add_argument("--impls", default=",".join(IMPLS), help="comma-separated subset of " + ",".join(IMPLS))
    ap.add_argument("--compare-policy", action="store_true",
                    help="print the crossovers measured here against auto's thresholds (mgclr/ops/auto_policy.json; "
                         "measured with --small on the CPU); never rewrites the file")
    ap.add_argument("--_child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        impl, mode, N, K = args._child
        cpu_peak_child(impl, mode, int(N), int(K))
        return

    if args.small:
        sizes = SMALL_SIZES
    elif args.quick:
        sizes = [(256, 16384)]
    else:
        sizes = [(256, 16384), (256, 65536), (1024, 16384), (1024, 65536)]
    repeats = args.repeats or (2 if args.quick else 15 if args.small else 5)
    impls = [i for i in args.impls.split(",") if i]
    unknown = sorted(set(impls) - set(IMPLS))
    if unknown or "reference" not in impls:
        ap.error(f"--impls: expected a subset of {','.join(IMPLS)} that includes reference, got {args.impls!r}")
    if args.compare_policy and ("attention" not in impls or not {"chunked", "fused"} & set(impls)):
        ap.error("--compare-policy: --impls must include attention and chunked or fused")
    rows = []
    for N, K in sizes:
        q, k, queue = make_inputs(N, K, args.device)
        for mode in MODES:
            for impl in impls:
                if args.device == "cuda":
                    t, peak = time_and_peak_cuda(impl, mode, q, k, queue, repeats)
                elif args.small:
                    t, peak = time_cpu(impl, mode, q, k, queue, repeats, reduce=min), None
                else:
                    t = time_cpu(impl, mode, q, k, queue, repeats)
                    peak = cpu_peak(impl, mode, N, K)
                rows.append({"impl": impl, "runs": runs(impl, mode, N, K, args.device), "mode": mode, "N": N, "K": K,
                             "D": D, "tau": TAU, "device": args.device,
                             "time_ms": t * 1e3, "peak_extra_bytes": None if peak is None else int(peak),
                             "tflops": 4.0 * N * K * D / t / 1e12})
    for r in rows:
        ref = next(x for x in rows if x["impl"] == "reference" and x["N"] == r["N"] and x["K"] == r["K"]
                   and x["mode"] == r["mode"])
        r["time_vs_reference"] = r["time_ms"] / ref["time_ms"]
        r["memory_vs_reference"] = (None if r["peak_extra_bytes"] is None
                                    else r["peak_extra_bytes"] / max(1, ref["peak_extra_bytes"]))

    header = (f"{'N':>5} {'K':>6} {'mode':>5} {'impl':>16} {'time ms':>9} {'x ref':>6} {'peak extra MiB':>15} "
              f"{'x ref':>8} {'TFLOP/s':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        name = r["impl"] if r["runs"] == r["impl"] else f"{r['impl']} ({r['runs']})"
        print(f"{r['N']:>5} {r['K']:>6} {r['mode']:>5} {name:>16} {r['time_ms']:>9.2f} "
              f"{r['time_vs_reference']:>6.2f} {_mib(r['peak_extra_bytes']):>15} "
              f"{_ratio(r['memory_vs_reference']):>8} {r['tflops']:>8.3f}")
    result = {"machine": machine(args.device), "repeats": repeats, "results": rows}
    if args.compare_policy:
        print()
        result["policy"] = compare_policy(rows, args.device)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    write_json_atomic(args.json, result)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
