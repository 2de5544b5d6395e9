"""``mgclr augment``: an augmentation pipeline (a YAML config or a preset) on a synthetic batch, and its
throughput."""

from __future__ import annotations

import sys
import time


def add_parser(sub) -> None:
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


def _load_pipeline(args):
    from ..augment import pipeline_from_config

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

    from ..profiling import range as nvtx_range

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
