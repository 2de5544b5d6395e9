"""When does pretraining help? One knob at a time, on small real datasets (issue 17).

Every run is ``mgclr compare`` (pretrain, then linear evaluation of the pretrained and of the random-init encoders
under the plain and the BatchNorm probe, beside the ridge floor) of one base config with one knob changed, for
each dataset and seed. The gain is pretrained minus random-init fused top-1, per probe.

    python benchmarks/pretraining_knobs.py --base configs/small_cpu.yaml \\
        --data utkinect=data/utkinect:xsub --data nw_ucla_25=data/nw_ucla:xview:0.25 \\
        --knob queue_size=16,64,256 --seeds 0,1 --out benchmarks/out/knobs

Knobs (each value is applied to every stream): ``queue_size``, ``temperature``, ``steps`` (optimiser steps; the
epochs follow from the training set's size), ``frames`` (frames per view, for pretraining and evaluation),
``head_hidden``, ``pooling`` (the Bi-GRU's: mean or last), ``view`` (view_perturbation's main angle, rad),
``sequence_encoder`` (``bigru_mean``, ``bigru_last``, ``isc_bigru``: the sequence streams' encoder at the base's
size), ``stgcn_dropout`` (the graph streams replaced by an ST-GCN, 8 wide and 64-d, with this dropout).
``cross_stream`` (ISC's cross-stream term between the first two streams at this weight; 0: none).
**One stream only**: ``STREAM.FIELD`` sets ``model.streams.STREAM.FIELD`` (``sequence.temperature``,
``sequence.head_hidden``, ``sequence.encoder.args.hidden``, ...); ``STREAM.crop`` gives that stream its own
pretraining augmentation, the experiment's with crop_resize's smallest scale set to the value (the temporal
augmentation's strength). **A section's field**: ``pretrain.FIELD``, ``linear.FIELD``, ``knn.FIELD`` as the
config has them (``pretrain.amp=false,true``).
Writes ``<out>/<knob>.json``, ``<out>/<knob>.md`` (the table) and ``<out>/<knob>.png`` (gain against the knob,
per dataset and probe, mean over seeds with the seeds' range).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List

from mgclr._files import write_json_atomic, write_text_atomic
from mgclr.train import load_config
from mgclr.train.build import load_splits
from mgclr.train.compare import run_comparison
from mgclr.train.recipe import resolve_recipe


def _streams(config) -> List[str]:
    return list(config.model.streams)


def knob_overrides(knob: str, value: str, config, train_size: int) -> List[str]:
    streams = _streams(config)
    stream, dot, field = knob.partition(".")
    if dot and stream in streams:
        if field == "crop":
            ops = copy.deepcopy(config.augment["ops"])
            for op in ops:
                if op.get("name") == "crop_resize":
                    op["scale"] = [float(value), 1.0]
            return [f"model.streams.{stream}.augment={json.dumps({**config.augment, 'ops': ops})}"]
        return [f"model.streams.{knob}={value}"]
    if dot and stream in ("pretrain", "linear", "knn"):  # a field of a section as it is: pretrain.amp, ...
        return [f"{knob}={value}"]
    if knob in ("queue_size", "temperature", "head_hidden"):
        return [f"model.streams.{s}.{knob}={value}" for s in streams]
    if knob == "cross_stream":
        pair = [{"streams": streams[:2], "weight": float(value)}] if float(value) > 0 else []
        return [f"model.cross_stream={json.dumps(pair)}"]
    if knob == "steps":
        per_epoch = max(train_size // config.data.batch_size, 1)
        return [f"pretrain.epochs={max(1, round(int(value) / per_epoch))}"]
    if knob == "pooling":
        return [f"model.streams.{s}.encoder.args.pooling={value}" for s in streams
                if config.model.streams[s].encoder.kind == "bigru"]
    if knob in ("frames", "view"):
        out = []
        for section in ("augment", "linear.augment", "linear.test_augment"):
            spec = config.augment if section == "augment" else getattr(config.linear, section.split(".")[1])
            if not spec or "ops" not in spec:
                continue
            ops = copy.deepcopy(spec["ops"])
            for op in ops:
                if knob == "frames" and "out_frames" in op:
                    op["out_frames"] = int(value)
                if knob == "view" and op.get("name") == "view_perturbation":
                    op["a_main"] = float(value)
            out.append(f"{section}={json.dumps({**spec, 'ops': ops})}")
        return out
    if knob == "sequence_encoder":  # bigru_mean, bigru_last or isc_bigru at the base's size
        out = []
        for s in streams:
            encoder = config.model.streams[s].encoder
            if encoder.kind not in ("bigru", "isc_bigru"):
                continue
            size = {k: encoder.args[k] for k in ("hidden", "layers") if k in encoder.args}
            kind, _, pooling = value.partition("_") if value.startswith("bigru_") else (value, "", "")
            args = {**size, "pooling": pooling} if pooling else size
            out.append(f"model.streams.{s}.encoder={json.dumps({'kind': kind, 'args': args})}")
        return out
    if knob == "stgcn_dropout":  # graph streams as ST-GCN (8-wide, 64-d) with this dropout
        args = {"hidden_channels": 8, "hidden_dim": 64, "dropout": float(value)}
        return [f"model.streams.{s}.encoder={json.dumps({'kind': 'stgcn', 'args': args})}" for s in streams
                if config.model.streams[s].encoder.kind in ("agcn", "stgcn")]
    raise SystemExit(f"--knob: unknown knob {knob!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the base experiment config")
    ap.add_argument("--data", action="append", required=True, metavar="NAME=PATH:BENCHMARK[:FRACTION]")
    ap.add_argument("--knob", required=True, metavar="NAME=V1,V2,...")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--set", action="append", default=[], help="further overrides of the base config")
    ap.add_argument("--steps", type=int, default=None,
                    help="optimiser steps of every run (the epochs follow from each training set's size)")
    ap.add_argument("--out", default="benchmarks/out/knobs")
    args = ap.parse_args()
    knob, values = args.knob.split("=", 1)
    values = [v for v in values.split(",") if v]
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    rows: List[Dict[str, Any]] = []
    done = out / f"{knob}.json"
    if done.is_file():
        rows = json.loads(done.read_text())["rows"]
    for spec in args.data:
        name, rest = spec.split("=", 1)
        parts = rest.split(":")
        path, bench = parts[0], parts[1]
        fraction = float(parts[2]) if len(parts) > 2 else 1.0
        data = [f"data.path={path}", f"data.train_split={bench}/train", f"data.test_split={bench}/test",
                f"data.train_fraction={fraction}"]
        base = load_config(args.base, data + args.set)
        train_set = load_splits(base.data)[0]
        train_size = len(train_set)
        base, _ = resolve_recipe(base, train_set)  # the batch the recipe picks (for --steps)
        if args.steps is not None and knob != "steps":
            data = data + knob_overrides("steps", str(args.steps), base, train_size)
        for value in values:
            for seed in seeds:
                if any(r["data"] == name and r["value"] == value and r["seed"] == seed for r in rows):
                    continue
                run_dir = out / "runs" / f"{knob}_{name}_{value}_{seed}"
                overrides = data + args.set + [f"seed={seed}", f"output={run_dir}", "fuse.tsne=false",
                                               "fuse.confusion=false", "pretrain.tensorboard=false"]
                config = load_config(args.base, overrides + knob_overrides(knob, value, base, train_size))
                started = time.perf_counter()
                report = run_comparison(config, show_progress=False, log=lambda *_: None, overwrite=True)
                fused = list(report["pretrained"])[-1]  # the rows are the streams, then the combination
                row = {"data": name, "train": train_size, "value": value, "seed": seed, "row": fused,
                       "seconds": time.perf_counter() - started,
                       "ridge": report["ridge"]["top1"] if report["ridge"] else None,
                       "knn": {str(k): v for k, v in report["knn"].items()}, "knn_random": report["knn_random"]}
                for probe, cols in report["probes"].items():
                    for init, scores in cols.items():
                        row[f"{probe}/{init}"] = {r: acc["top1"] for r, acc in scores.items()}
                rows.append(row)
                write_json_atomic(done, {"knob": knob, "base": args.base, "rows": rows})
                print(f"{name} {knob}={value} seed {seed}: " + ", ".join(
                    f"{p} {100 * row[f'{p}/random_init'][fused]:.1f} -> {100 * row[f'{p}/pretrained'][fused]:.1f}"
                    for p in report["probes"]) + f" ({row['seconds']:.0f} s)", flush=True)
    write_text_atomic(out / f"{knob}.md", table(knob, rows) + "\n" + knn_table(knob, rows))
    plot(knob, rows, out / f"{knob}.png")
    print(table(knob, rows))
    print(knn_table(knob, rows))


def _gains(rows, name, value, probe) -> List[float]:
    return [100 * (r[f"{probe}/pretrained"][r["row"]] - r[f"{probe}/random_init"][r["row"]])
            for r in rows if r["data"] == name and r["value"] == value]


def table(knob: str, rows: List[Dict[str, Any]]) -> str:
    lines = [f"| data (train) | {knob} | seeds | random / pretrained, plain | gain | random / pretrained, BN | gain "
             f"| ridge |", "|---|---|--:|--:|--:|--:|--:|--:|"]
    for name in dict.fromkeys(r["data"] for r in rows):
        for value in _ordered(r["value"] for r in rows if r["data"] == name):
            sel = [r for r in rows if r["data"] == name and r["value"] == value]
            cells = []
            for probe in ("plain", "BN"):
                rand = statistics.mean(100 * r[f"{probe}/random_init"][r["row"]] for r in sel)
                pre = statistics.mean(100 * r[f"{probe}/pretrained"][r["row"]] for r in sel)
                g = _gains(rows, name, value, probe)
                spread = f" ({min(g):+.1f}..{max(g):+.1f})" if len(g) > 1 else ""
                cells += [f"{rand:.1f} / {pre:.1f}", f"{statistics.mean(g):+.1f}{spread}"]
            ridge = sel[0]["ridge"]
            lines.append(f"| {name} ({sel[0]['train']}) | {value} | {len(sel)} | " + " | ".join(cells)
                         + f" | {'-' if ridge is None else f'{100 * ridge:.1f}'} |")
    return "\n".join(lines) + "\n"


def _ordered(values) -> List[str]:
    """The distinct values, in numeric order where they are all numbers (else as they came)."""
    distinct = list(dict.fromkeys(values))
    try:
        return sorted(distinct, key=float)
    except ValueError:
        return distinct


def knn_table(knob: str, rows: List[Dict[str, Any]]) -> str:
    """The third probe: the kNN monitor's top-1 per stream at the end of pretraining against the random-init
    encoder's on the same split, mean over seeds with the gain's range."""
    streams = list(dict.fromkeys(s for r in rows for s in r["knn_random"]))
    lines = [f"| data (train) | {knob} | seeds | " + " | ".join(f"kNN {s}: random / pretrained | gain"
                                                           for s in streams) + " |",
             "|---|---|--:|" + "--:|--:|" * len(streams)]
    for name in dict.fromkeys(r["data"] for r in rows):
        for value in _ordered(r["value"] for r in rows if r["data"] == name):
            sel = [r for r in rows if r["data"] == name and r["value"] == value and r["knn"] and r["knn_random"]]
            if not sel:
                continue
            cells = []
            for stream in streams:
                last = [r["knn"][max(r["knn"], key=int)][stream] for r in sel]
                rand = [r["knn_random"][stream] for r in sel]
                g = [100 * (a - b) for a, b in zip(last, rand)]
                spread = f" ({min(g):+.1f}..{max(g):+.1f})" if len(g) > 1 else ""
                cells += [f"{100 * statistics.mean(rand):.1f} / {100 * statistics.mean(last):.1f}",
                          f"{statistics.mean(g):+.1f}{spread}"]
            lines.append(f"| {name} ({sel[0]['train']}) | {value} | {len(sel)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(knob: str, rows: List[Dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    values = _ordered(r["value"] for r in rows)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name in dict.fromkeys(r["data"] for r in rows):
        for probe, style in (("plain", "-o"), ("BN", "--s")):
            g = [_gains(rows, name, v, probe) for v in values]
            xs = [i for i, gi in enumerate(g) if gi]
            means = [statistics.mean(g[i]) for i in xs]
            line, = ax.plot(xs, means, style, label=f"{name}, {probe} probe")
            ax.fill_between(xs, [min(g[i]) for i in xs], [max(g[i]) for i in xs], alpha=0.15,
                            color=line.get_color())
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(values)), values)
    ax.set_xlabel(knob)
    ax.set_ylabel("fused top-1 gain over random init (points)")
    ax.set_title(f"pretraining gain vs {knob} (mean over seeds, band: their range)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
