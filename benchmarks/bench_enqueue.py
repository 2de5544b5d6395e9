"""MoCo's enqueue: mgclr's MoCoQueue.enqueue against the research code's slice assignment, one thread.

    python benchmarks/bench_enqueue.py [--batch 32] [--dim 128] [--size 4096] [--json out.json]

Prints microseconds per call (best of ``--repeats`` rounds of ``--calls`` calls) for ``MoCoQueue.enqueue`` (the
keys checked, the pointer a tensor buffer), the torch.library op ``mgclr::queue_enqueue_`` through the dispatcher,
and ``queue[p:p + B] = keys; p = (p + B) % K`` with a Python int pointer and no checks (the research code's
write). To compare two trees, run the script once per tree in separate processes and alternate.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from mgclr.models import MoCoQueue
from mgclr.ops import queue_enqueue_


def best_us(fn, calls: int, repeats: int) -> float:
    for _ in range(min(calls, 200)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    keys = torch.randn(args.batch, args.dim)
    queue = MoCoQueue(args.size, args.dim)
    raw, raw_ptr = torch.randn(args.size, args.dim), torch.zeros((), dtype=torch.int64)
    plain, pointer = torch.randn(args.size, args.dim), [0]

    def slice_assignment() -> None:
        plain[pointer[0]:pointer[0] + args.batch] = keys
        pointer[0] = (pointer[0] + args.batch) % args.size

    result = {"batch": args.batch, "dim": args.dim, "size": args.size, "threads": 1,
              "moco_queue_enqueue_us": best_us(lambda: queue.enqueue(keys), args.calls, args.repeats),
              "op_through_dispatcher_us": best_us(lambda: queue_enqueue_(raw, raw_ptr, keys), args.calls // 4,
                                                  args.repeats),
              "slice_assignment_us": best_us(slice_assignment, args.calls, args.repeats)}
    result = {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
