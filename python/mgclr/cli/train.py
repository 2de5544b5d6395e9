"""The training commands: ``mgclr demo``, ``pretrain``, ``compare``, ``sweep``, the evaluation protocols
(``linear``, ``knn``, ``finetune``, ``fuse``), ``embed`` and ``bench``; the work is :mod:`mgclr.train`'s."""

from __future__ import annotations

from pathlib import Path

from .._files import write_json_atomic
from .common import _config_error, _load, with_config


def add_parser(sub) -> None:
    demo = sub.add_parser("demo", help="pretrain + evaluate both streams on synthetic micro-gestures (CPU, minutes)")
    demo.add_argument("--output", default=None, help="run folder (default runs/demo)")
    demo.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a demo config key")
    demo.add_argument("--print-config", action="store_true", help="print the demo's config and exit")
    demo.add_argument("--overwrite", action="store_true", help="the output folder holds a run: replace it")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=_cmd_demo)
    pre = with_config(sub.add_parser("pretrain", help="contrastive pretraining of the config's streams, each with "
                                                     "its method (moco, aimclr, crossclr); torchrun for many GPUs"))
    pre.add_argument("--resume", action="store_true",
                     help="continue the run in OUTPUT from its checkpoint.pt (the model's shapes are the checkpoint's)")
    pre.add_argument("--overwrite", action="store_true", help="OUTPUT holds a run: remove it and start over")
    pre.add_argument("--max-steps", type=int, default=None, help="stop after N steps in total (checkpointed)")
    pre.add_argument("--profile", type=int, default=0, metavar="N",
                     help="write a torch.profiler trace of the first N steps to OUTPUT/trace.json")
    pre.add_argument("--no-progress", action="store_true", help="no progress bar")
    pre.set_defaults(func=_cmd_pretrain)
    cmp = with_config(sub.add_parser("compare", help="pretrain, then evaluate pretrained vs randomly initialised "
                                                     "encoders (and the supervised reference)"))
    cmp.add_argument("--supervised", action="store_true",
                     help="also train the encoders end to end on every label (the finetune settings, from scratch)")
    cmp.add_argument("--overwrite", action="store_true", help="OUTPUT holds a run: remove it and start over")
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
                       ("fuse", "linear evaluation of every stream and the weighted fusion of their scores "
                                "(fuse.combinations, fuse.weights; streams of other runs with fuse.runs)")):
        p = with_config(sub.add_parser(name, help=text))
        p.add_argument("--checkpoint", default=None, help="weights to evaluate (default OUTPUT/checkpoint.pt)")
        if name != "finetune":
            p.add_argument("--random-init", action="store_true", help="randomly initialised encoders (the baseline)")
        if name != "knn":
            p.add_argument("--no-recognizer", action="store_true",
                           help="do not write OUTPUT/recognizer_<protocol>.pt (the classifiers with their encoders)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument("--json", default=None, help="also write the results there (they are always written to "
                                                    "OUTPUT/<command>.json)")
        p.set_defaults(func=_cmd_eval)
    emb = sub.add_parser("embed", help="features of a dataset through a run's pretrained encoders (.npy / .npz)",
                         description="Run a dataset through the pretrained query encoders of a run folder (its "
                                     "checkpoint and config.yaml; the run's linear.test_augment first, as mgclr linear "
                                     "does) and write the features: an .npy for one stream, an .npz with one array "
                                     "per stream and the labels.")
    emb.add_argument("run", help="the run folder (mgclr pretrain's output)")
    emb.add_argument("data", help="an mgclr dataset folder, or an .npy (N, C, T, V, M) array")
    emb.add_argument("--out", default="features.npz", help="output .npy (one stream) or .npz (default features.npz)")
    emb.add_argument("--stream", action="append", default=[], metavar="NAME",
                     help="only these streams (repeatable or comma-separated; default every stream)")
    emb.add_argument("--split", default=None, help="dataset folder: benchmark/part (default test)")
    emb.add_argument("--lengths", default=None, help=".npy array input: the N frame counts (default all frames)")
    emb.add_argument("--checkpoint", default=None, help="weights (default RUN/checkpoint.pt)")
    emb.add_argument("--device", default="cpu", help="cpu or cuda[:i] (default cpu)")
    emb.add_argument("--batch-size", type=int, default=256)
    emb.add_argument("--no-progress", action="store_true", help="no progress bar")
    emb.set_defaults(func=_cmd_embed)
    bench = with_config(sub.add_parser("bench", help="samples/s of the pretraining step, split by stage"),
                        required=False)
    bench.add_argument("--steps", type=int, default=20)
    bench.add_argument("--warmup", type=int, default=3)
    bench.add_argument("--json", default=None, help="also write the results as JSON")
    bench.set_defaults(func=_cmd_bench)


def _cmd_demo(args) -> int:
    from ..train import ConfigError
    from ..train.demo import DEMO_CONFIG, run_demo

    if args.print_config:
        print(DEMO_CONFIG.strip())
        return 0
    try:
        report = run_demo(args.output, args.set, show_progress=not args.no_progress, overwrite=args.overwrite)
    except (ConfigError, FileExistsError, ValueError, TypeError) as exc:
        return _config_error("demo", exc)
    write_json_atomic(Path(report["output"]) / "demo_summary.json", report, default=str)
    return 0


def _cmd_pretrain(args) -> int:
    from ..train import ConfigError, pretrain
    from ..train.pretrain import NonFiniteLossError

    try:
        config = _load(args)
        result = pretrain(config, resume=args.resume, overwrite=args.overwrite, max_steps=args.max_steps,
                          profile_steps=args.profile, show_progress=not args.no_progress)
    except (ConfigError, FileExistsError, FileNotFoundError, ValueError, NonFiniteLossError) as exc:
        return _config_error("pretrain", exc)
    if not result.main:  # torchrun: rank 0 reports for every rank
        return 0
    if result.nothing_left:  # --resume of a finished run
        print(f"nothing left to train: {result.nothing_left}")
        return 0
    for note in result.recipe if args.no_progress else ():  # with the progress bar they came first
        print(f"recipe: {note}")
    print(f"{result.steps} steps, {result.epochs_done} epochs, {result.samples_per_second:,.0f} samples/s; "
          f"checkpoint and metrics in {result.output}")
    if result.knn_random:
        print("  kNN top-1 of the random-init encoders: "
              + ", ".join(f"{k} {100 * v:.1f} %" for k, v in result.knn_random.items()))
    for epoch, scores in result.knn.items():
        print(f"  kNN top-1 after epoch {epoch}: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in scores.items()))
    for text in result.warnings:
        print(f"  warning: {text}")
    return 0


def _cmd_compare(args) -> int:
    from ..train import ConfigError
    from ..train.compare import run_comparison
    from ..train.pretrain import NonFiniteLossError

    try:
        config = _load(args)
        report = run_comparison(config, supervised=args.supervised, show_progress=not args.no_progress,
                                overwrite=args.overwrite)
    except (ConfigError, FileExistsError, FileNotFoundError, ValueError, NonFiniteLossError) as exc:
        return _config_error("compare", exc)
    if args.json:
        write_json_atomic(args.json, report, default=str)
    return 0


def _cmd_sweep(args) -> int:
    from ..train import ConfigError
    from ..train.sweep import run_sweep

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
        write_json_atomic(args.json, report)
    return 0


def _device(config):
    from ..train.distributed import resolve_device

    return resolve_device(config.device, 0)


def _cmd_eval(args) -> int:
    from ..train import ConfigError, finetune_eval, fuse_eval, knn_eval, linear_eval
    from ..train.evaluate import evaluation_experiment
    from ..train.metrics import MetricsLog
    from ..train.report import fusion_table, protocol_table
    from ..train.results import metrics_of

    log = None
    try:
        config = _load(args)
        device = _device(config)
        checkpoint = Path(args.checkpoint) if args.checkpoint else None
        random_init = bool(getattr(args, "random_init", False))
        from_scratch = args.command == "finetune" and config.finetune.from_scratch
        # The model's shapes are the checkpoint's (a --set that changes one is refused by name), so that the
        # evaluation and the recognizer written after it are built like the weights. (fuse.runs: each run's own.)
        if args.command == "fuse" and config.fuse.runs:
            experiment = config  # each run is resolved with its own config and data
        else:
            experiment = evaluation_experiment(config, checkpoint, random_init or from_scratch)
            config = experiment.config
        shown = not args.no_progress
        # Every epoch's test top-1/top-5 goes to the run's metrics.jsonl and TensorBoard ("linear/joint/top1").
        log = MetricsLog(Path(config.output), tensorboard=config.pretrain.tensorboard)
        tag = args.command + ("_random_init" if random_init else "")
        if args.command == "knn":
            results = knn_eval(experiment, device, checkpoint, random_init, log=log, show_progress=shown)
            print(protocol_table(results, {f"k={k}": f"k={k}" for k in config.knn.k}))
            report = results
        elif args.command in ("linear", "finetune"):
            if args.command == "linear":
                results = linear_eval(experiment, device, checkpoint, random_init, log=log, show_progress=shown)
            else:
                results = finetune_eval(experiment, device, checkpoint, log=log, show_progress=shown)
            print(protocol_table(results, {"top1 best": "top1_best", "top5 best": "top5_best",
                                           "top1 last": "top1_last", "top5 last": "top5_last"}))
            report = metrics_of(results)
            _save_recognizer(args, experiment, results, args.command, random_init, config.fuse.weights)
        else:
            out = fuse_eval(experiment, device, checkpoint, random_init, tag=tag, log=log, show_progress=shown)
            print(fusion_table({"random init" if random_init else config.name: out["table"]},
                               weights=out["combinations"]))
            for name, path in out["plots"].items():
                print(f"  {name}: {path}")
            report = {k: out[k] for k in ("table", "combinations", "runs", "linear", "plots")}
            first = next(iter(out["combinations"].values()), None)
            results = {n: r for n, r in out["results"].items() if first is None or n in first}
            _save_recognizer(args, experiment, results, "linear", random_init, first)
        log.write(0, _flat(report), kind=f"{tag}/result")
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return _config_error(args.command, exc)
    finally:
        if log is not None:
            log.close()
    if args.command != "fuse":  # fuse_eval writes fuse.json itself (with its plots)
        write_json_atomic(Path(config.output) / f"{tag}.json", report)
    print(f"results: {Path(config.output) / f'{tag}.json'}")
    if args.json:
        write_json_atomic(args.json, report)
    return 0


def _flat(report, prefix: str = "") -> dict:
    """The numbers of a nested report as one level of ``a/b/c`` keys (metrics.jsonl, TensorBoard)."""
    out = {}
    for key, value in report.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = value
    return out


def _save_recognizer(args, experiment, results, protocol: str, random_init: bool, weights=None) -> None:
    """The trained classifiers with their encoders and fusion weights, for ``mgclr recognize`` (not for the
    random baseline). ``experiment``: the evaluated one (fuse.runs: a config, each run's data read here)."""
    if random_init or args.no_recognizer:
        return
    from ..train.experiment import Experiment, resolve
    from ..train.recognizer import Recognizer

    info = (experiment if isinstance(experiment, Experiment)
            else resolve(next(iter(results.values()))["config"])).info
    config = experiment.config if isinstance(experiment, Experiment) else experiment
    weights = {n: w for n, w in (weights or {}).items() if n in results}
    path = Recognizer.from_results(info, results, protocol, weights).save(
        Path(config.output) / f"recognizer_{protocol}.pt")
    print(f"recognizer: {path} (streams {', '.join(results)}; mgclr recognize {path} SKELETONS)")


def _cmd_embed(args) -> int:
    import numpy as np

    from ..train import ConfigError
    from ..train.embed import embed_dataset

    out = Path(args.out)
    streams = [s for item in args.stream for s in item.split(",") if s] or None
    try:
        if out.suffix not in (".npy", ".npz"):
            raise ValueError(f"--out: expected a .npy (one stream) or .npz (every stream and the labels) file, got "
                             f"{out}")
        features = embed_dataset(args.run, args.data, streams=streams, split=args.split, lengths=args.lengths,
                                 checkpoint=args.checkpoint, device=args.device, batch_size=args.batch_size,
                                 show_progress=not args.no_progress)
        names = [n for n in features if n != "labels"]
        if out.suffix == ".npy" and len(names) != 1:
            raise ValueError(f"--out: {out} holds one stream's features; the run has {', '.join(names)}: give "
                             f"--stream NAME, or an .npz file for all of them")
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return _config_error("embed", exc)
    from .._files import atomic_path

    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            if out.suffix == ".npy":
                np.save(fh, features[names[0]])
            else:
                np.savez(fh, **features)
    print(f"{out}: " + ", ".join(f"{n} {features[n].shape}" for n in names) + f" from {args.data}")
    return 0


def _cmd_bench(args) -> int:
    from ..train import ConfigError
    from ..train.bench import benchmark_pretrain_step
    from ..train.demo import demo_config

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
        write_json_atomic(args.json, result)
    return 0
