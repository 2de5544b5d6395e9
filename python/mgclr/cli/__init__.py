"""The ``mgclr`` command. argparse lives only in this package; the work is done by the library.

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

One module per command group registers its commands and their handlers (``add_parser(subparsers)``; each
handler is the parsed arguments' ``func``): ``show``, ``info`` (info, layouts), ``augment``, ``data`` (prepare),
``train`` (demo, pretrain, compare, sweep, linear, knn, finetune, fuse, embed, bench), ``emotion`` (recognize,
emotion), ``llm``; ``common`` holds what they share (CONFIG and ``--set``, the one-line error).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import augment, data, emotion, info, llm, show, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mgclr", description="Skeleton-based micro-gesture understanding.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (show, info, augment, data, train, emotion, llm):  # the order of `mgclr --help`
        group.add_parser(sub)
    return parser


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
