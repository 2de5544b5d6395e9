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
                                        the evaluation protocols (mgclr.train.evaluate); each writes
                                        OUTPUT/<command>.json and logs to the run's metrics.jsonl
    mgclr embed RUN DATA --out F.npy|F.npz [--stream S]
                                        a dataset's features through a run's pretrained encoders
    mgclr bench [CONFIG] [--steps N]    samples/s of the pretraining step, split by stage
    mgclr recognize RECOGNIZER SKELETONS... [--out F]
                                        slide a trained recognizer over long sequences: predicted MG timelines
    mgclr emotion train TIMELINES OUT | eval CHECKPOINT TIMELINES | demo [--output DIR]
                                        video-level win/lose from the MG timelines (the paper's Table 7)
    mgclr llm mask | infer | probe | report
                                        the LLM protocol: masked interview (+ MG timeline) -> win/lose (Table 8)
    mgclr show [SOURCE] [--augment P] [--timeline F --video V [--predicted P]] [--gif] [--out F.png]
                                        pictures: a sequence, an augmentation gallery with its parameters, a
                                        video's MG timeline (mgclr.viz)
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

from ._files import write_json_atomic


def _cmd_info(args) -> int:
    from . import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    how = {"native": "native ({} SASS)", "ptx": "PTX JIT from {} (compiled by the driver on first use, then cached)",
           "unknown": "unknown (the build did not record its architectures)",
           "none": "NOT covered: no kernel runs here; rebuild with MGCLR_CUDA_ARCHITECTURES={}"}
    rows = []
    for key, value in info.items():
        if key == "gpus":
            for gpu in value:
                cc = gpu["capability"].replace(".", "")
                cover = how[gpu["coverage"]].format(gpu["image"] or cc) if info["cuda_compiled"] else "no CUDA kernels"
                rows.append((f"gpu {gpu['index']}", f"{gpu['name']}, compute capability {gpu['capability']}: {cover}"))
            if not value:
                rows.append(("gpus", "none visible to torch"))
        else:
            rows.append((key, ", ".join(map(str, value)) or "-" if isinstance(value, list) else value))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
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
        report = run_demo(args.output, args.set, show_progress=not args.no_progress, overwrite=args.overwrite)
    except (ConfigError, FileExistsError, ValueError, TypeError) as exc:
        return _config_error("demo", exc)
    write_json_atomic(Path(report["output"]) / "demo_summary.json", report, default=str)
    return 0


def _cmd_pretrain(args) -> int:
    from .train import ConfigError, pretrain
    from .train.pretrain import NonFiniteLossError

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
    from .train import ConfigError
    from .train.compare import run_comparison
    from .train.pretrain import NonFiniteLossError

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
        write_json_atomic(args.json, report)
    return 0


def _device(config):
    from .train.distributed import resolve_device

    return resolve_device(config.device, 0)


def _cmd_eval(args) -> int:
    from .train import ConfigError, finetune_eval, fuse_eval, knn_eval, linear_eval
    from .train.evaluate import evaluation_config
    from .train.metrics import MetricsLog
    from .train.report import fusion_table, protocol_table

    log = None
    try:
        config = _load(args)
        device = _device(config)
        checkpoint = Path(args.checkpoint) if args.checkpoint else None
        random_init = bool(getattr(args, "random_init", False))
        from_scratch = args.command == "finetune" and config.finetune.from_scratch
        # The model's shapes are the checkpoint's (a --set that changes one is refused by name), so that the
        # evaluation and the recognizer written after it are built like the weights. (fuse.runs: each run's own.)
        if not (args.command == "fuse" and config.fuse.runs):
            config = evaluation_config(config, checkpoint, random_init or from_scratch)
        shown = not args.no_progress
        # Every epoch's test top-1/top-5 goes to the run's metrics.jsonl and TensorBoard ("linear/joint/top1").
        log = MetricsLog(Path(config.output), tensorboard=config.pretrain.tensorboard)
        tag = args.command + ("_random_init" if random_init else "")
        if args.command == "knn":
            results = knn_eval(config, device, checkpoint, random_init, log=log, show_progress=shown)
            print(protocol_table(results, {f"k={k}": f"k={k}" for k in config.knn.k}))
            report = results
        elif args.command in ("linear", "finetune"):
            if args.command == "linear":
                results = linear_eval(config, device, checkpoint, random_init, log=log, show_progress=shown)
            else:
                results = finetune_eval(config, device, checkpoint, log=log, show_progress=shown)
            print(protocol_table(results, {"top1 best": "top1_best", "top5 best": "top5_best",
                                           "top1 last": "top1_last", "top5 last": "top5_last"}))
            report = {n: {k: v for k, v in r.items() if isinstance(v, (int, float))} for n, r in results.items()}
            _save_recognizer(args, config, results, args.command, random_init, config.fuse.weights)
        else:
            out = fuse_eval(config, device, checkpoint, random_init, tag=tag, log=log, show_progress=shown)
            print(fusion_table({"random init" if random_init else config.name: out["table"]},
                               weights=out["combinations"]))
            for name, path in out["plots"].items():
                print(f"  {name}: {path}")
            report = {k: out[k] for k in ("table", "combinations", "runs", "linear", "plots")}
            first = next(iter(out["combinations"].values()), None)
            results = {n: r for n, r in out["results"].items() if first is None or n in first}
            _save_recognizer(args, config, results, "linear", random_init, first)
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


def _save_recognizer(args, config, results, protocol: str, random_init: bool, weights=None) -> None:
    """The trained classifiers with their encoders and fusion weights, for ``mgclr recognize`` (not for the
    random baseline)."""
    if random_init or args.no_recognizer:
        return
    from .train.build import load_splits
    from .train.recognizer import Recognizer

    info = load_splits(next(iter(results.values()))["config"].data)[2]
    weights = {n: w for n, w in (weights or {}).items() if n in results}
    path = Recognizer.from_results(info, results, protocol, weights).save(
        Path(config.output) / f"recognizer_{protocol}.pt")
    print(f"recognizer: {path} (streams {', '.join(results)}; mgclr recognize {path} SKELETONS)")


def _cmd_embed(args) -> int:
    import numpy as np

    from .train import ConfigError
    from .train.embed import embed_dataset

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
    from ._files import atomic_path

    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            if out.suffix == ".npy":
                np.save(fh, features[names[0]])
            else:
                np.savez(fh, **features)
    print(f"{out}: " + ", ".join(f"{n} {features[n].shape}" for n in names) + f" from {args.data}")
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
        write_json_atomic(args.json, result)
    return 0


# --flag -> the converter keyword it sets (only for the datasets whose converter takes it)
_PREPARE_OPTIONS = {"frames": "--frames", "version": "--version", "missing": "--missing", "labels": "--labels",
                    "form": "--form", "frames_dir": "--frames-dir", "non_mg": "--non-mg",
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
        write_json_atomic(args.json, report.as_dict())
    return 0


def _cmd_recognize(args) -> int:
    import torch

    from .emotion.recognize import load_sequence, normalise_video, predict_timeline
    from .emotion.timeline import write_timelines
    from .train.recognizer import Recognizer

    try:
        device = torch.device(args.device)
        recognizer = Recognizer.load(args.recognizer).to(device)
        info = recognizer.info
        timelines = []
        names = [Path(p).stem for p in args.skeletons]
        if len(set(names)) != len(names):
            raise ValueError("skeletons: two files have the same name (the video name of a timeline)")
        print(f"recognizer: trained on {info.summary()}")
        for path in args.skeletons:
            x, length, fps = load_sequence(path, info.num_joints, info.channels)
            if fps is not None and args.fps is not None and abs(fps - args.fps) > 1e-6 * fps:
                raise ValueError(f"--fps: {args.fps:g}, but {path} says its frame rate is {fps:g}; leave --fps out "
                                 f"or fix the file")
            fps = fps if fps is not None else args.fps
            if fps is None:
                raise ValueError(f"--fps: {path} does not say its frame rate; give --fps")
            if info.fps is not None and abs(fps - info.fps) > 0.01 * info.fps:
                print(f"  note: {path} is {fps:g} fps, the recognizer's training data {info.fps:g} fps: an MG lasts "
                      f"{info.fps / fps:.2f} x as many frames there (windows are in frames)", file=sys.stderr)
            x, per_window, done = normalise_video(x, length, info.normalise, args.input)
            timeline = predict_timeline(recognizer, x, video=Path(path).stem, fps=fps, length=length,
                                        window=args.window, stride=args.stride, threshold=args.threshold,
                                        min_frames=args.min_frames, join_gap=args.join_gap, device=device,
                                        window_normalise=per_window)
            timelines.append(timeline)
            print(f"{timeline.video}: {length} frames at {fps:g} fps, {len(timeline.events)} MGs; input {done}")
        write_timelines(args.out, timelines)
        plotted = _plot_recognized(args, timelines) if args.plot else []
    except (FileNotFoundError, ValueError, ImportError) as exc:
        return _config_error("recognize", exc)
    print(f"timelines: {args.out}")
    for path in plotted:
        print(f"plot: {path}")
    return 0


def _plot_recognized(args, timelines) -> list:
    """One timeline plot per video beside --out (OUT_<video>.png): the predicted MGs, under the annotated ones
    of --annotated when that file has the video."""
    from .emotion.timeline import read_timelines
    from .viz import timeline_plot

    annotated = {t.video: t for t in read_timelines(args.annotated)} if args.annotated else {}
    out = Path(args.out)
    paths = []
    for timeline in timelines:
        path = out.with_name(f"{out.stem}_{timeline.video}.png")
        timeline_plot(path, annotated.get(timeline.video), timeline)
        paths.append(path)
    return paths


def _cmd_show(args) -> int:
    """Pictures: a sequence (strip, GIF, MP4), an augmentation gallery, or a video's MG timeline."""
    from .train.config import ConfigError

    out = Path(args.out)
    try:
        if args.gallery:
            from .viz import write_examples

            for path in write_examples(out, seed=args.seed):
                print(f"wrote {path}")
            return 0
        if args.timeline is not None:
            return _show_timeline(args, out)
        from . import viz

        sample = viz.load_sample(args.source, sample=args.sample, split=args.split, layout=args.layout,
                                 coord_channels=args.coord_channels, frames=args.frames, seed=args.seed)
        info = sample.info
        extra = [out.with_suffix(suffix) for suffix, wanted in ((".gif", args.gif), (".mp4", args.mp4)) if wanted]
        if args.augment is not None:
            from .train.build import build_pipeline

            pipeline = build_pipeline("--augment", _augment_spec(args.augment), info, two_views=True)
            title = f"{args.augment} on {sample.caption}"
            viz.augmentation_gallery(sample.x, sample.length, info.layout, pipeline, out, views=args.views,
                                     seed=args.seed, frames=args.strip_frames, coord_channels=info.coord_channels,
                                     title=title, axes=info.axes)
            if extra:
                views = viz.augment_views(pipeline, sample.x, sample.length, args.views, args.seed)
                panels = [(sample.x, sample.length)] + [(v, n) for v, n, _, _ in views]
                names = ["original"] + [f"view {i + 1}" for i in range(len(views))]
                for path in extra:
                    viz.animate(panels, info.layout, path, coord_channels=info.coord_channels, titles=names,
                                suptitle=title, fps=args.fps, axes=info.axes)
        else:
            viz.frame_strip(sample.x, sample.length, info.layout, out, frames=args.strip_frames,
                            coord_channels=info.coord_channels, fps=info.fps, title=sample.caption, axes=info.axes)
            for path in extra:
                viz.animate([(sample.x, sample.length)], info.layout, path, coord_channels=info.coord_channels,
                            suptitle=sample.caption, fps=args.fps, axes=info.axes)
    except (ConfigError, ValueError, FileNotFoundError, ImportError, RuntimeError) as exc:
        return _config_error("show", exc)
    for path in [out] + extra:
        print(f"wrote {path}")
    return 0


def _augment_spec(value: str) -> dict:
    """--augment: a preset name, an op list ``shear,temporal_crop``, or a YAML pipeline file."""
    import yaml

    from .augment.config import PRESETS

    if value in PRESETS:
        return {"preset": value}
    path = Path(value)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise FileNotFoundError(f"--augment: {path} does not exist")
        spec = yaml.safe_load(path.read_text()) or {}
        if not isinstance(spec, dict):
            raise ValueError(f"--augment: {path} must hold a mapping (ops: [...] or preset: NAME)")
        spec.pop("two_views", None)  # the gallery shows both MoCo views
        return spec
    return {"ops": [{"name": name.strip()} for name in value.split(",") if name.strip()]}


def _show_timeline(args, out: Path) -> int:
    from .emotion.timeline import read_timelines
    from .viz import timeline_plot

    def pick(path, what):
        timelines = {t.video: t for t in read_timelines(path)}
        if args.video is None and len(timelines) == 1:
            return next(iter(timelines.values()))
        if args.video is None:
            some = ", ".join(list(timelines)[:5]) + (", ..." if len(timelines) > 5 else "")
            raise ValueError(f"--video: {path} holds {len(timelines)} videos; name one ({some})")
        if args.video not in timelines:
            raise ValueError(f"--video: no video {args.video!r} in {what} {path}")
        return timelines[args.video]

    annotated = pick(args.timeline, "the timelines")
    predicted = pick(args.predicted, "the predicted timelines") if args.predicted else None
    timeline_plot(out, annotated, predicted)
    print(f"wrote {out}")
    return 0


def _emotion_config(args) -> dict:
    return {k: getattr(args, k) for k in ("epochs", "hidden", "lr") if getattr(args, k, None) is not None}


def _cmd_emotion(args) -> int:
    from .emotion.classifier import Split
    from .emotion.experiment import evaluate_checkpoint, format_report, run_demo, run_emotion
    from .emotion.timeline import TimelineError, load_class_names, read_timelines

    try:
        if args.emotion_command == "demo":
            started = time.perf_counter()
            report = run_demo(Path(args.output), videos=args.videos, separation=args.separation, seed=args.seed,
                              plots=not args.no_plots, **_emotion_config(args))
            print(format_report(report))
            print(f"\nsynthetic timelines: {report['timelines']}; transcripts (raw, masked): {report['transcripts']}")
            print(f"demo: {time.perf_counter() - started:.1f} s; results in {args.output}")
        else:
            timelines = read_timelines(args.timelines, load_class_names(args.class_names) if args.class_names else None)
            if args.emotion_command == "train":
                models = ("gru", "bag") if args.model == "both" else (args.model,)
                report = run_emotion(timelines, Path(args.out), models=models, split=args.split, seed=args.seed,
                                     train_per_outcome=args.train_per_outcome,
                                     test_per_outcome=args.test_per_outcome, plots=not args.no_plots,
                                     **_emotion_config(args))
                print(format_report(report))
                print(f"\nmodels, split and report in {args.out}")
            else:
                report = evaluate_checkpoint(Path(args.checkpoint), timelines, Split.load(args.split) if args.split
                                             else None)
                print(format_report(report))
    except (FileNotFoundError, TimelineError, ValueError) as exc:
        return _config_error(f"emotion {args.emotion_command}", exc)
    if args.json:
        write_json_atomic(args.json, report, indent=1)
    return 0


CLASS_NAMES_HELP = ("MG class names, one per line (or a JSON list; line k names label k), for timelines from mgclr "
                    "prepare imigue (whose classes are MG1...MG31)")


def _add_emotion_commands(sub) -> None:
    rec = sub.add_parser("recognize", help="slide a trained recognizer over long skeleton sequences and write the "
                                           "predicted MG timelines (JSON)")
    rec.add_argument("recognizer", help="OUTPUT/recognizer_<protocol>.pt of mgclr linear / finetune / fuse")
    rec.add_argument("skeletons", nargs="+", help=".npy (C, T, V[, M]) or .npz (x, optional length and fps) files, "
                                                  "one video each (its name: the file's stem); C, V, M as the "
                                                  "recognizer's training data")
    rec.add_argument("--out", default="timelines.json", help="timelines file to write (default timelines.json)")
    rec.add_argument("--fps", type=float, default=None,
                     help="frame rate (required unless every .npz gives fps; must agree with a file's own)")
    rec.add_argument("--input", choices=["auto", "raw", "normalised"], default="auto",
                     help="raw: normalise the skeletons as the training data was (iMiGUE: per video, neck origin, "
                          "shoulder-width scale, y up; NW-UCLA, UTKinect, SMG, NTU: per window, as per clip); "
                          "normalised: they already are; auto (default): normalise unless they already look "
                          "normalised")
    rec.add_argument("--window", type=int, default=64, help="window length in frames (default 64)")
    rec.add_argument("--stride", type=int, default=16, help="frames between window starts (default 16)")
    rec.add_argument("--threshold", type=float, default=0.5,
                     help="minimum mean top probability of a detected MG (default 0.5)")
    rec.add_argument("--min-frames", type=int, default=8, help="shortest MG kept, in frames (default 8)")
    rec.add_argument("--join-gap", type=int, default=0,
                     help="join detections of one class separated by at most this many frames (default 0)")
    rec.add_argument("--device", default="cpu", help="cpu or cuda[:i] (default cpu)")
    rec.add_argument("--plot", action="store_true",
                     help="also draw each video's timeline: OUT_<video>.png beside --out (needs matplotlib)")
    rec.add_argument("--annotated", default=None, metavar="TIMELINES",
                     help="with --plot: annotated timelines (e.g. the dataset's timelines.json) drawn above the "
                          "predicted ones")
    rec.set_defaults(func=_cmd_recognize)

    emo = sub.add_parser("emotion", help="video-level emotion (win/lose) from MG timelines: train | eval | demo")
    esub = emo.add_subparsers(dest="emotion_command", metavar="SUBCOMMAND", required=True)

    def common(p, training: bool = True):
        p.add_argument("--json", default=None, help="also write the report as JSON")
        if training:
            p.add_argument("--seed", type=int, default=0, help="seed of the split and of training (default 0)")
            p.add_argument("--epochs", type=int, default=None, help="GRU training epochs (default 40)")
            p.add_argument("--hidden", type=int, default=None, help="GRU width (default 32)")
            p.add_argument("--lr", type=float, default=None, help="GRU learning rate (default 0.01)")
            p.add_argument("--no-plots", action="store_true", help="no confusion matrix / MG weight charts")
        p.set_defaults(func=_cmd_emotion)
        return p

    tr = common(esub.add_parser("train", help="the iMiGUE protocol's split (or a balanced one), both models, report "
                                              "(accuracy with 95 %% CI, confusion, MGs toward win/lose)"))
    tr.add_argument("timelines", help="timelines JSON (mgclr recognize, or mgclr prepare imigue's timelines.json)")
    tr.add_argument("out", help="folder for the models, split.json and the report")
    tr.add_argument("--model", choices=("gru", "bag", "both"), default="both",
                    help="GRU over the MG sequence, bag-of-MGs logistic regression, or both (default)")
    tr.add_argument("--split", default="auto", metavar="auto|official|random|SPLIT_JSON",
                    help="official: the iMiGUE protocol's 102 / 100 videos; random: a balanced draw from --seed "
                         "(--train/test-per-outcome); a saved split.json; auto (default): official when the "
                         "timelines hold the protocol's videos (mgclr prepare imigue), else random")
    tr.add_argument("--train-per-outcome", type=int, default=51, help="training videos per outcome (default 51)")
    tr.add_argument("--test-per-outcome", type=int, default=50, help="test videos per outcome (default 50)")
    ev = common(esub.add_parser("eval", help="a trained model on the test videos of a split"), training=False)
    ev.add_argument("checkpoint", help="emotion_<model>.pt of mgclr emotion train")
    ev.add_argument("timelines", help="timelines JSON")
    ev.add_argument("--split", default=None, help="split.json (default: every video with a known outcome)")
    for p in (tr, ev):
        p.add_argument("--class-names", default=None, help=CLASS_NAMES_HELP)
    demo = common(esub.add_parser("demo", help="synthetic timelines with outcome-dependent MGs: both models "
                                               "beside the majority baseline, offline, under a minute"))
    demo.add_argument("--output", default="runs/emotion_demo", help="output folder (default runs/emotion_demo)")
    demo.add_argument("--videos", type=int, default=202, help="synthetic videos (default 202, the paper's 102+100)")
    demo.add_argument("--separation", type=float, default=0.5,
                      help="how much the MGs depend on the outcome, 0..1 (default 0.5)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mgclr", description="Skeleton-based micro-gesture understanding.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    show = sub.add_parser(
        "show", help="look at a sequence, what an augmentation does to it, or a video's MG timeline (PNG, GIF, MP4)",
        description="Draw a skeleton sequence with its layout's bones (a strip of frames; --gif / --mp4 animate "
                    "it), an augmentation gallery (--augment: the sample and N augmented views, each with the "
                    "parameters drawn for it), or a video's micro-gesture timeline (--timeline, with --predicted "
                    "a second row). Needs matplotlib (pip install 'mgclr[train]').")
    show.add_argument("source", nargs="?", default=None,
                      help="an mgclr dataset folder, a .npy (C, T, V[, M]) / (N, C, T, V, M), a .npz with x, or a "
                           "pyskl annotation .pkl (default: the synthetic generator)")
    show.add_argument("--sample", type=int, default=0, help="which sequence (default 0)")
    show.add_argument("--split", default=None,
                      help="a dataset folder's part (train, xsub/test, ...) or a pyskl split (xsub_val, ...)")
    show.add_argument("--layout", default=None,
                      help="the joints of a .npy / .npz / .pkl: a name (mgclr layouts), or a YAML file with a custom "
                           "layout or an experiment config giving data.layout (a pyskl .pkl of 17 2-D keypoints: "
                           "coco17 by default); the synthetic data: imigue22 or ntu25")
    show.add_argument("--coord-channels", type=int, choices=(2, 3), default=None,
                      help="leading coordinate channels of a .npy / .npz (default min(C, 3))")
    show.add_argument("--augment", default=None, metavar="PRESET|OPS|YAML",
                      help="an augmentation gallery: a preset (paper_best, skeletonclr, isc, aimclr_extreme), "
                           "ops by name (shear,temporal_crop) or a YAML pipeline")
    show.add_argument("--views", type=int, default=4, help="augmented views in the gallery (default 4)")
    show.add_argument("--strip-frames", type=int, default=8, help="frames drawn per row (default 8)")
    show.add_argument("--timeline", default=None, metavar="TIMELINES",
                      help="draw a video's MG timeline from this timelines file instead")
    show.add_argument("--video", default=None, help="the video of --timeline (needed when it holds several)")
    show.add_argument("--predicted", default=None, metavar="TIMELINES",
                      help="predicted timelines (mgclr recognize) of the same video: a second row")
    show.add_argument("--gif", action="store_true", help="also write an animated GIF beside --out")
    show.add_argument("--mp4", action="store_true", help="also write an MP4 beside --out (needs ffmpeg)")
    show.add_argument("--fps", type=float, default=15.0, help="frames per second of the animation (default 15)")
    show.add_argument("--frames", type=int, default=48, help="length of the synthetic sequences (default 48)")
    show.add_argument("--seed", type=int, default=0, help="synthetic data and augmentation seed (default 0)")
    show.add_argument("--gallery", action="store_true",
                      help="write the README's pictures into the folder --out (from the synthetic generators)")
    show.add_argument("--out", default="show.png", help="PNG to write (default show.png); with --gallery a folder")
    show.set_defaults(func=_cmd_show)
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
    prep.add_argument("--non-mg", choices=["class", "drop"], default=None,
                      help="imigue: the non-MG clips (class 99): the 32nd class non_mg, as the official protocol "
                           "(class, the default), or left out and counted (drop)")
    prep.add_argument("--csv-first-hand", choices=["left", "right"], default=None,
                      help="imigue (light_hand): the person's side of the first five fingertips")
    prep.set_defaults(func=_cmd_prepare)
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
    _add_emotion_commands(sub)
    _add_llm_commands(sub)
    return parser


def _llm_list(values) -> List[str]:
    """Repeatable and comma-separated values as one flat list."""
    return [part.strip() for value in (values or []) for part in str(value).split(",") if part.strip()]


def _cmd_llm(args) -> int:
    from .emotion.llm import commands

    models = args.model if isinstance(args.model, list) else [args.model] if args.model else []
    options = commands.BackendOptions(backend=args.backend, base_url=args.base_url, models=models,
                                      api_key_env=args.api_key_env, timeout=args.timeout, retries=args.retries,
                                      concurrency=args.concurrency, cache_dir=args.cache)
    sampling = {"temperature": args.temperature, "seed": args.seed, "max_tokens": args.max_tokens}
    if args.llm_command == "mask":
        return commands.mask(args.inputs, args.output, options, template=args.template, hide_words=_llm_list(args.hide),
                             untimed=args.untimed, strict=args.strict, **sampling)
    if args.llm_command == "infer":
        return commands.infer(args.transcripts, args.timelines, args.output, options, modes=_llm_list(args.modes),
                              repeats=args.repeats, untimed=args.untimed, class_names=args.class_names, **sampling)
    return commands.probe(args.output, options, classes=_llm_list(args.classes), timelines=args.timelines,
                          add=args.add, repeats=args.repeats, class_names=args.class_names, **sampling)


def _cmd_llm_report(args) -> int:
    from .emotion.llm import commands

    return commands.report(args.records, args.output, args.stem)


def _add_llm_commands(sub) -> None:
    llm = sub.add_parser("llm", help="the LLM protocol: mask interviews, infer win/lose with and without the MG "
                                     "timeline, probe MG priors, report",
                         description="Does a language model infer a hidden match outcome better when it also sees the "
                                     "micro-gestures? --backend rule is an offline rule-based stand-in (for demos and "
                                     "tests, not a model); --base-url/--model ask any OpenAI-compatible server (vLLM, "
                                     "llama.cpp, Ollama, hosted APIs; pip install \"mgclr[llm]\").")
    lsub = llm.add_subparsers(dest="llm_command", metavar="SUBCOMMAND", required=True)

    def backend(p, many_models: bool = False, temperature: Optional[float] = None):
        g = p.add_argument_group("backend")
        g.add_argument("--backend", choices=["rule", "openai"], default=None,
                       help="rule: offline rule-based stand-in (not a model); openai: an OpenAI-compatible server "
                            "(the default when --base-url is given)")
        g.add_argument("--base-url", default=None, metavar="URL", help="server URL, e.g. http://127.0.0.1:8000/v1")
        g.add_argument("--model", action="append" if many_models else "store", default=None, metavar="NAME",
                       help="served model name" + (" (repeatable: one table column each)" if many_models else ""))
        g.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                       help="environment variable holding the API key (default OPENAI_API_KEY; unset: a placeholder "
                            "is sent, as local servers expect)")
        g.add_argument("--cache", default=None, metavar="DIR",
                       help="answer cache folder: reruns with the same requests need no server")
        g.add_argument("--concurrency", type=int, default=4, help="requests in flight at once (default 4)")
        g.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer (default 120)")
        g.add_argument("--retries", type=int, default=4,
                       help="further attempts on 408/429/5xx, timeouts and connection errors (default 4)")
        default = "the server's" if temperature is None else f"{temperature:g}"
        g.add_argument("--temperature", type=float, default=temperature,
                       help=f"sampling temperature (default {default})")
        g.add_argument("--seed", type=int, default=None, help="sampling seed; repeat r sends seed + r")
        g.add_argument("--max-tokens", type=int, default=None, help="answer length limit (default server's)")

    untimed_help = ("lines without a timestamp: error (default), none (keep them untimed) or append (join them to the "
                    "previous utterance)")
    mask = lsub.add_parser("mask", help="hide outcome, identities and named feelings in transcripts (+ leakage check)",
                           description="Ask the backend to mask each transcript (.txt, .srt, .json), write "
                                       "OUTPUT/<video>.txt and OUTPUT/_mask_report.json (raw answers, leakage check). "
                                       "Exit 1 if a transcript failed (or, with --strict, still leaks).")
    mask.add_argument("inputs", nargs="+", help="transcript files or folders of them")
    mask.add_argument("--output", required=True, help="folder for the masked transcripts")
    mask.add_argument("--template", default=None,
                      help="your user-message template (placeholders {transcript}, {n_rows}, {row_format}, "
                           "{hide_words}; literal braces doubled)")
    mask.add_argument("--hide", action="append", default=[], metavar="WORDS",
                      help="further words to hide and to check for, e.g. player names (repeatable, comma-separated)")
    mask.add_argument("--untimed", choices=["error", "none", "append"], default="error", help=untimed_help)
    mask.add_argument("--strict", action="store_true", help="exit 1 when the leakage check flags a row")
    backend(mask, temperature=0.0)
    mask.set_defaults(func=_cmd_llm)

    inf = lsub.add_parser("infer", help="win/lose from masked transcripts, text-only and text + MG timeline",
                          description="Every video with a transcript and a timeline (with its outcome) is asked in "
                                      "each mode, --repeats times. Writes OUTPUT/answers.jsonl (raw answers), "
                                      "OUTPUT/report.json and OUTPUT/report.md (accuracy mean ± std, Acc@1/3/5, "
                                      "situation reversals).")
    inf.add_argument("--transcripts", nargs="+", required=True, metavar="PATH",
                     help="masked transcript files or folders (video name = file stem)")
    inf.add_argument("--timelines", required=True, help="timelines JSON (mgclr recognize, or an annotated one)")
    inf.add_argument("--class-names", default=None, help=CLASS_NAMES_HELP)
    inf.add_argument("--output", required=True, help="folder for the answers and the report")
    inf.add_argument("--modes", action="append", default=None, metavar="MODES",
                     help="text, text+mg or both (default both; comma-separated or repeatable)")
    inf.add_argument("--repeats", type=int, default=1, help="answers per video and mode (default 1)")
    inf.add_argument("--untimed", choices=["error", "none", "append"], default="error", help=untimed_help)
    backend(inf)
    inf.set_defaults(func=_cmd_llm)

    prb = lsub.add_parser("probe", help="what does each MG class suggest (positive/negative/neutral), per model",
                          description="Ask each model about each MG class; write the table (rows: classes, columns: "
                                      "models) as .md, .csv or .json (a .json copy with every raw answer is written "
                                      "beside .md/.csv).")
    prb.add_argument("--output", required=True, help="table file: .md, .csv or .json")
    prb.add_argument("--classes", action="append", default=[], metavar="NAMES",
                     help="MG class names (comma-separated or repeatable; default: those of --timelines, else the "
                          "synthetic demo's)")
    prb.add_argument("--timelines", default=None, help="take the classes from this timelines JSON")
    prb.add_argument("--class-names", default=None, help=CLASS_NAMES_HELP)
    prb.add_argument("--add", action="append", default=[], metavar="TABLE.json",
                     help="merge the columns of an earlier probe table (repeatable)")
    prb.add_argument("--repeats", type=int, default=1, help="answers per class and model; the cell is the majority")
    backend(prb, many_models=True)
    prb.set_defaults(func=_cmd_llm)

    rep = lsub.add_parser("report", help="re-make the report from answers.jsonl (re-parsing every raw answer)")
    rep.add_argument("records", help="answers.jsonl of mgclr llm infer")
    rep.add_argument("--output", default=None, help="folder for report.json / report.md (default: the JSONL's)")
    rep.add_argument("--stem", default="report", help="file name stem (default report)")
    rep.set_defaults(func=_cmd_llm_report)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: one line; what each command wrote so far is atomic or kept as it came
        print(f"\nmgclr {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mgclr ... | head -1`: the reader left; say nothing more to it
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except OSError as exc:  # a read-only folder, a full disk, ...: one line naming the file, not a traceback
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"mgclr {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
