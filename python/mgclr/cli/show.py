"""``mgclr show``: pictures of a sequence (strip, GIF, MP4), of an augmentation gallery with the parameters drawn
for each view, or of a video's MG timeline (:mod:`mgclr.viz`)."""

from __future__ import annotations

from pathlib import Path

from .common import _config_error


def add_parser(sub) -> None:
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


def _cmd_show(args) -> int:
    """Pictures: a sequence (strip, GIF, MP4), an augmentation gallery, or a video's MG timeline."""
    from ..train.config import ConfigError

    out = Path(args.out)
    try:
        if args.gallery:
            from ..viz.examples import write_examples

            for path in write_examples(out, seed=args.seed):
                print(f"wrote {path}")
            return 0
        if args.timeline is not None:
            return _show_timeline(args, out)
        from .. import viz

        sample = viz.load_sample(args.source, sample=args.sample, split=args.split, layout=args.layout,
                                 coord_channels=args.coord_channels, frames=args.frames, seed=args.seed)
        info = sample.info
        extra = [out.with_suffix(suffix) for suffix, wanted in ((".gif", args.gif), (".mp4", args.mp4)) if wanted]
        if args.augment is not None:
            from ..train.build import build_pipeline

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

    from ..augment.config import PRESETS

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
    from ..emotion.timeline import read_timelines
    from ..viz import timeline_plot

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
