"""``mgclr recognize`` (a trained recognizer slid over long sequences: predicted MG timelines) and ``mgclr emotion
train | eval | demo`` (video-level win/lose from the timelines); the work is :mod:`mgclr.emotion`'s."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .._files import write_json_atomic
from .common import CLASS_NAMES_HELP, _config_error


def add_parser(sub) -> None:
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


def _cmd_recognize(args) -> int:
    import torch

    from ..emotion.recognize import load_sequence, normalise_video, predict_timeline, resolve_fps
    from ..emotion.timeline import write_timelines
    from ..train.recognizer import Recognizer

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
            x, length, file_fps = load_sequence(path, info.num_joints, info.channels)
            fps, note = resolve_fps(path, file_fps, args.fps, info.fps)
            if note:
                print(f"  note: {note}", file=sys.stderr)
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
    from ..emotion.timeline import read_timelines
    from ..viz import timeline_plot

    annotated = {t.video: t for t in read_timelines(args.annotated)} if args.annotated else {}
    out = Path(args.out)
    paths = []
    for timeline in timelines:
        path = out.with_name(f"{out.stem}_{timeline.video}.png")
        timeline_plot(path, annotated.get(timeline.video), timeline)
        paths.append(path)
    return paths

def _emotion_config(args) -> dict:
    return {k: getattr(args, k) for k in ("epochs", "hidden", "lr") if getattr(args, k, None) is not None}


def _cmd_emotion(args) -> int:
    from ..emotion.classifier import Split
    from ..emotion.experiment import evaluate_checkpoint, format_report, run_demo, run_emotion
    from ..emotion.timeline import TimelineError, load_class_names, read_timelines

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
