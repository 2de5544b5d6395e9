"""The ``mgclr`` command. argparse lives only here; the work is done by the library.

    mgclr prepare DATASET SRC DST [--split B] [--skip-bad] [--overwrite] [dataset options]
                                        convert a dataset's published files into the mgclr format
    mgclr demo [--output DIR]           pretrain both streams on synthetic micro-gestures, evaluate, fuse,
                                        compare with random initialisation, write the plots (minutes, CPU)
    mgclr pretrain CONFIG [--resume] [--max-steps N] [--profile N]
    mgclr compare CONFIG [--supervised] pretrain, then linear evaluation of pretrained and random-init encoders
                                        (and the supervised reference): what pretraining buys, from one run
    mgclr sweep CONFIG --augment A,B,... [--pairs]
                                        one pretraining + linear evaluation per augmentation (and pair)
                                        beside the no-augmentation run: sorted table and bar chart
    mgclr linear | knn | finetune | fuse CONFIG [--checkpoint F] [--random-init]
                                        the evaluation protocols (mgclr.train.evaluate)
    mgclr bench [CONFIG] [--steps N]    samples/s of the pretraining step, split by stage
    mgclr info                          what was compiled (CUDA archs, OpenMP, NVTX) and whether a GPU is usable
    mgclr layouts                       the built-in skeleton layouts
    mgclr augment [--config F | --preset P] [--device D] ...
                                        run an augmentation pipeline on a batch and report its throughput

Every CONFIG command takes ``--set key=value`` (repeatable) to override config keys.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
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


def _load(args):
    from .train import load_config

    return load_config(args.config, args.set)


def _config_error(command: str, exc: Exception) -> int:
    print(f"mgclr {command}: {exc}", file=sys.stderr)
    return 2


def _cmd_demo(args) -> int:
    from .train import ConfigError
    from .train.demo import DEMO_CONFIG, run_demo

    if args.print_config:
        print(DEMO_CONFIG.strip())
        return 0
    try:
        report = run_demo(args.output, args.set, show_progress=not args.no_progress)
    except (ConfigError, ValueError, TypeError) as exc:
        return _config_error("demo", exc)
    (Path(report["output"]) / "demo_summary.json").write_text(json.dumps(report, indent=2, default=str))
    return 0


def _cmd_pretrain(args) -> int:
    from .train import ConfigError, pretrain

    try:
        config = _load(args)
        result = pretrain(config, resume=args.resume, max_steps=args.max_steps, profile_steps=args.profile,
                          show_progress=not args.no_progress)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return _config_error("pretrain", exc)
    print(f"{result.steps} steps, {result.epochs_done} epochs, {result.samples_per_second:,.0f} samples/s; "
          f"checkpoint and metrics in {result.output}")
    for epoch, scores in result.knn.items():
        print(f"  kNN top-1 after epoch {epoch}: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in scores.items()))
    return 0


def _cmd_compare(args) -> int:
    from .train import ConfigError
    from .train.compare import run_comparison

    try:
        config = _load(args)
        report = run_comparison(config, supervised=args.supervised, show_progress=not args.no_progress)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return _config_error("compare", exc)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


def _cmd_sweep(args) -> int:
    from .train import ConfigError
    from .train.sweep import run_sweep

    overrides = list(args.set)
    if args.augment is not None:
        names = [n.strip() for n in args.augment.split(",") if n.strip()]
        overrides.append(f"sweep.augment=[{', '.join(names)}]")
    if args.pairs:
        overrides.append("sweep.pairs=true")
    if args.epochs is not None:
        overrides.append(f"sweep.epochs={args.epochs}")
    args.set = overrides
    try:
        config = _load(args)
        report = run_sweep(config, show_progress=not args.no_progress)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return _config_error("sweep", exc)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def _device(config):
    from .train.distributed import resolve_device

    return resolve_device(config.device, 0)


def _cmd_eval(args) -> int:
    from .train import ConfigError, finetune_eval, fuse_eval, knn_eval, linear_eval
    from .train.report import fusion_table, protocol_table

    try:
        config = _load(args)
        device = _device(config)
        checkpoint = Path(args.checkpoint) if args.checkpoint else None
        random_init = bool(getattr(args, "random_init", False))
        if args.command == "knn":
            results = knn_eval(config, device, checkpoint, random_init)
            print(protocol_table(results, {f"k={k}": f"k={k}" for k in config.knn.k}))
            report = results
        elif args.command == "linear":
            results = linear_eval(config, device, checkpoint, random_init)
            print(protocol_table(results, {"top1 best": "top1_best", "top5 best": "top5_best",
                                           "top1 last": "top1_last", "top5 last": "top5_last"}))
            report = {n: {k: v for k, v in r.items() if isinstance(v, (int, float))} for n, r in results.items()}
        elif args.command == "finetune":
            results = finetune_eval(config, device, checkpoint)
            print(protocol_table(results, {"top1 best": "top1_best", "top5 best": "top5_best",
                                           "top1 last": "top1_last", "top5 last": "top5_last"}))
            report = {n: {k: v for k, v in r.items() if isinstance(v, (int, float))} for n, r in results.items()}
        else:
            out = fuse_eval(config, device, checkpoint, random_init)
            print(fusion_table({"random init" if random_init else config.name: out["table"]}))
            for name, path in out["plots"].items():
                print(f"  {name}: {path}")
            report = {"table": out["table"], "linear": out["linear"], "plots": out["plots"]}
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return _config_error(args.command, exc)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def _cmd_bench(args) -> int:
    from .train import ConfigError
    from .train.bench import benchmark_pretrain_step
    from .train.demo import demo_config

    try:
        config = _load(args) if args.config else demo_config(args.set)
        result = benchmark_pretrain_step(config, steps=args.steps, warmup=args.warmup)
    except (ConfigError, ValueError) as exc:
        return _config_error("bench", exc)
    print(f"pretraining step on {result['device']}, batch {result['batch_size']}: {result['step_s'] * 1e3:.1f} ms, "
          f"{result['samples_per_s']:,.0f} samples/s")
    for stage, seconds in result["stages_s"].items():
        print(f"  {stage:<9} {seconds * 1e3:8.2f} ms  {100 * seconds / result['step_s']:5.1f} %")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


# --flag -> the converter keyword it sets (only for the datasets whose converter takes it)
_PREPARE_OPTIONS = {"frames": "--frames", "version": "--version", "missing": "--missing", "labels": "--labels",
                    "form": "--form", "frames_dir": "--frames-dir", "keep_no_mg": "--keep-no-mg",
                    "csv_first_hand": "--csv-first-hand"}


def _cmd_prepare(args) -> int:
    from .data.convert import ConversionError, converter_options, prepare
    from .data.format import DatasetError

    own = converter_options(args.dataset)
    options = {}
    for name, flag in _PREPARE_OPTIONS.items():
        value = getattr(args, name)
        if value is None or value is False:
            continue
        if name not in own:
            takes = ", ".join(_PREPARE_OPTIONS[n] for n in own if n in _PREPARE_OPTIONS) or "no option of its own"
            return _config_error("prepare", f"{flag}: does not apply to {args.dataset} (it takes {takes})")
        options[name] = value
    if args.keep_missing:
        if "missing" not in own:
            return _config_error("prepare", f"--keep-missing: does not apply to {args.dataset}")
        if args.missing is not None:
            return _config_error("prepare", "--keep-missing and --missing: give one")
        options["missing"] = ()
    splits = [s for item in args.split for s in item.split(",") if s] or None
    try:
        report = prepare(args.dataset, args.src, args.dst, skip_bad=args.skip_bad, overwrite=args.overwrite,
                         progress=not args.no_progress, splits=splits, **options)
    except ConversionError as exc:
        return _config_error("prepare", f"{exc}\n(--skip-bad skips corrupt input and counts it in the summary)")
    except (DatasetError, FileExistsError, FileNotFoundError, ValueError) as exc:
        return _config_error("prepare", exc)
    print(report.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=2))
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

    def with_config(p, required=True):
        if required:
            p.add_argument("config", help="YAML experiment config (see configs/)")
        else:
            p.add_argument("config", nargs="?", help="YAML experiment config (default: the demo's)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key (dotted path; the value is YAML), repeatable")
        return p

    from .data.convert import CONVERTERS

    prep = sub.add_parser("prepare", help="convert a dataset's published files into the mgclr format",
                          description="Convert a dataset's published files into an mgclr dataset folder (data.npy, "
                                      "labels.npy, lengths.npy, meta.json), streaming, with a summary of what was "
                                      "written and skipped. See mgclr.data.convert.<dataset> for each format.")
    prep.add_argument("dataset", choices=list(CONVERTERS), help="which dataset's files SRC holds")
    prep.add_argument("src", help="the published files (a folder)")
    prep.add_argument("dst", help="the dataset folder to write")
    prep.add_argument("--split", action="append", default=[], metavar="BENCHMARK",
                      help="record only this benchmark's split (repeatable or comma-separated; default all)")
    prep.add_argument("--skip-bad", action="store_true", help="skip corrupt input and count it instead of stopping")
    prep.add_argument("--overwrite", action="store_true", help="replace a dataset already at DST")
    prep.add_argument("--no-progress", action="store_true", help="no progress bar")
    prep.add_argument("--json", default=None, help="also write the summary as JSON")
    prep.add_argument("--frames", type=int, default=None,
                      help="ntu, nw_ucla, utkinect: T of data.npy (ntu: 300; others: the longest sequence)")
    prep.add_argument("--version", choices=["60", "120", "auto"], default=None, help="ntu: 60, 120 or auto")
    prep.add_argument("--missing", default=None, help="ntu: file of sample names to skip (default: published list)")
    prep.add_argument("--keep-missing", action="store_true", help="ntu: keep the samples with missing skeletons")
    prep.add_argument("--labels", default=None,
                      help="utkinect: modified (default), original or a label file; imigue: the label/annotation CSV")
    prep.add_argument("--form", choices=["auto", "openpose", "light_hand"], default=None, help="imigue: source form")
    prep.add_argument("--frames-dir", default=None, help="imigue (openpose): folder of per-video JSON folders")
    prep.add_argument("--keep-no-mg", action="store_true", help="imigue: write label-99 clips as a class no_mg")
    prep.add_argument("--csv-first-hand", choices=["left", "right"], default=None,
                      help="imigue (light_hand): the person's side of the first five fingertips")
    prep.set_defaults(func=_cmd_prepare)
    demo = sub.add_parser("demo", help="pretrain + evaluate both streams on synthetic micro-gestures (CPU, minutes)")
    demo.add_argument("--output", default=None, help="run folder (default runs/demo)")
    demo.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a demo config key")
    demo.add_argument("--print-config", action="store_true", help="print the demo's config and exit")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=_cmd_demo)
    pre = with_config(sub.add_parser("pretrain", help="dual-stream MoCo pretraining (torchrun for many GPUs)"))
    pre.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.pt")
    pre.add_argument("--max-steps", type=int, default=None, help="stop after N steps in total (checkpointed)")
    pre.add_argument("--profile", type=int, default=0, metavar="N",
                     help="write a torch.profiler trace of the first N steps to OUTPUT/trace.json")
    pre.add_argument("--no-progress", action="store_true", help="no progress bar")
    pre.set_defaults(func=_cmd_pretrain)
    cmp = with_config(sub.add_parser("compare", help="pretrain, then evaluate pretrained vs randomly initialised "
                                                     "encoders (and the supervised reference)"))
    cmp.add_argument("--supervised", action="store_true",
                     help="also train the encoders end to end on every label (the finetune settings, from scratch)")
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmp.add_argument("--json", default=None, help="also write the results as JSON")
    cmp.set_defaults(func=_cmd_compare)
    swp = with_config(sub.add_parser("sweep", help="the augmentation study: one pretraining + linear evaluation "
                                                   "per augmentation (or pair), sorted, with the no-augmentation run"))
    swp.add_argument("--augment", default=None, metavar="A,B,...",
                     help="op names to compare (sets sweep.augment; e.g. stretch,view_perturbation)")
    swp.add_argument("--pairs", action="store_true", help="also every pair of them (sets sweep.pairs)")
    swp.add_argument("--epochs", type=int, default=None, help="pretraining epochs per run (sets sweep.epochs)")
    swp.add_argument("--no-progress", action="store_true", help="no progress bar")
    swp.add_argument("--json", default=None, help="also write the results as JSON")
    swp.set_defaults(func=_cmd_sweep)
    for name, text in (("linear", "linear evaluation on frozen features"), ("knn", "cosine kNN on frozen features"),
                       ("finetune", "end-to-end finetuning on a fraction of the labels"),
                       ("fuse", "linear evaluation of both streams and the fusion of their scores (Table 3)")):
        p = with_config(sub.add_parser(name, help=text))
        p.add_argument("--checkpoint", default=None, help="weights to evaluate (default OUTPUT/checkpoint.pt)")
        if name != "finetune":
            p.add_argument("--random-init", action="store_true", help="randomly initialised encoders (the baseline)")
        p.add_argument("--json", default=None, help="also write the results as JSON")
        p.set_defaults(func=_cmd_eval)
    bench = with_config(sub.add_parser("bench", help="samples/s of the pretraining step, split by stage"),
                        required=False)
    bench.add_argument("--steps", type=int, default=20)
    bench.add_argument("--warmup", type=int, default=3)
    bench.add_argument("--json", default=None, help="also write the results as JSON")
    bench.set_defaults(func=_cmd_bench)
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
