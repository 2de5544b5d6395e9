"""The ``mgclr`` command. argparse lives only here; the work is done by the library.

    mgclr info                          what was compiled (CUDA archs, OpenMP, NVTX) and whether a GPU is usable
    mgclr layouts                       the built-in skeleton layouts
    mgclr augment [--config F | --preset P] [--device D] ...
                                        run an augmentation pipeline on a batch and report its throughput
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import List, Optional


def _cmd_info(args) -> int:
    from . import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _cmd_layouts(args) -> int:
    from .skeleton import available_layouts, get_layout

    for name in available_layouts():
        layout = get_layout(name)
        print(f"{name:<10} {layout.num_joints:>3} joints, centre {layout.joint_names[layout.center]!r}")
    return 0


def _load_pipeline(args):
    from .augment import pipeline_from_config

    if args.config:
        import yaml

        try:
            with open(args.config) as fh:
                cfg = yaml.safe_load(fh)
        except OSError as exc:
            raise SystemExit(f"mgclr augment: --config: cannot read {args.config}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise SystemExit(f"mgclr augment: --config: {args.config} is not valid YAML: {exc}") from None
        return pipeline_from_config(cfg)
    return pipeline_from_config({"preset": args.preset, "two_views": True})


def _cmd_augment(args) -> int:
    import torch

    from .profiling import range as nvtx_range

    try:
        pipe = _load_pipeline(args)
    except (TypeError, ValueError) as exc:
        print(f"mgclr augment: {exc}", file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("mgclr augment: --device cuda requested but torch sees no GPU", file=sys.stderr)
        return 2
    g = torch.Generator().manual_seed(args.seed)
    N, T, V, M = args.batch, args.frames, args.joints, args.persons
    lengths = torch.randint(max(1, T // 4), T + 1, (N,), generator=g)
    t = torch.arange(T, dtype=torch.float32).view(1, 1, T, 1, 1)
    x = torch.randn(N, 3, 1, V, M, generator=g) + 0.1 * torch.sin(t / 5.0 + torch.randn(N, 3, 1, V, M, generator=g))
    x = (x * (t.view(1, 1, T, 1, 1) < lengths.view(N, 1, 1, 1, 1))).to(args.device)
    lengths = lengths.to(args.device)
    print(pipe)
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency; keep working without it
        tqdm = None
    steps = range(args.iterations)
    bar = tqdm(steps, desc="augment", unit="batch") if tqdm else steps
    pipe(x, lengths, seed=0)  # warm-up
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in bar:
        with nvtx_range("mgclr.cli.augment"):
            pipe(x, lengths, seed=i)
        if tqdm:
            bar.set_postfix(samples_per_s=f"{N * (i + 1) / (time.perf_counter() - start):,.0f}")
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    views = 2 if pipe.two_views else 1
    print(f"{args.iterations} batches of {N} samples ({views} view(s), input T={T} V={V} M={M}) on {args.device}: "
          f"{elapsed / args.iterations * 1e3:.2f} ms/batch, {N * args.iterations / elapsed:,.0f} samples/s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mgclr", description="Skeleton-based micro-gesture understanding.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="build and runtime information")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_cmd_info)
    layouts = sub.add_parser("layouts", help="list the built-in skeleton layouts")
    layouts.set_defaults(func=_cmd_layouts)
    aug = sub.add_parser("augment", help="run an augmentation pipeline on a synthetic batch, report throughput")
    src = aug.add_mutually_exclusive_group()
    src.add_argument("--config", help="YAML pipeline config (see configs/augment/)")
    src.add_argument("--preset", default="paper_best",
                     choices=["paper_best", "skeletonclr", "isc", "aimclr_extreme"], help="ready-made pipeline")
    aug.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    aug.add_argument("--batch", type=int, default=256)
    aug.add_argument("--frames", type=int, default=300)
    aug.add_argument("--joints", type=int, default=25)
    aug.add_argument("--persons", type=int, default=2)
    aug.add_argument("--iterations", type=int, default=20)
    aug.add_argument("--seed", type=int, default=0)
    aug.set_defaults(func=_cmd_augment)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
