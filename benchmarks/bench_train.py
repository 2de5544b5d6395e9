"""Benchmark: one pretraining step, mgclr against the research code it replaces, same sizes, one run.

``--method moco`` (default): the paper's dual-stream step against a faithful ISC-style step (below).
``--method aimclr``: one AimCLR stream in its nearest-neighbour-mining phase against an AimCLR-style step
(``aimclr_style.py``: per-sample NumPy triple views in workers, the logits of three queries materialised
against ``queue.clone()``, softmax/topk/mask in eager mode), both on mgclr's ST-GCN with EADM; time per stage
and peak memory (the whole step on a GPU; the loss alone, forward + backward, in a fresh process on the CPU).
Sizes: ``small`` ST-GCN hidden 8 / 64-d, batch 32, K = 4096; ``paper`` AimCLR's: hidden 16 / 256-d, batch
128, K = 32768; 50 frames (AimCLR's NTU "frame50"), NTU layout.

ISC-style (fmthoker/skeleton-contrast, as its code does it; written here for the benchmark only):
  data     per-sample NumPy augmentation in DataLoader workers (valid crop-resize to 64 frames, then shear or
           joint shake; benchmarks/numpy_baselines.py), two views per sample
  spatial  2s-AGCN with its per-subset loop (three conv_a/conv_b/conv_d and matmuls per unit)
  temporal nn.GRU(V*C*M, H, L, bidirectional=True) called one frame at a time in a Python loop, the top layer's
           output at the last frame as the feature
  loss     MoCo v1: l_pos / l_neg einsums against ``queue.clone().detach()``, cat, cross_entropy
  EMA      a Python loop over parameters; enqueue: ``queue[:, ptr:ptr + B] = keys.T`` (K % B == 0 asserted)
mgclr:     the same sizes through ``mgclr.train``: workers only slice arrays, one fused two-view augmentation on
           the training device, AGCN with batched subsets, a packed whole-sequence BiGRU, queue_infonce, foreach
           EMA, the in-place queue op (``mgclr.train.bench.benchmark_pretrain_step``)

Sizes: ``--size small`` (default on the CPU): AGCN widths 16-32-32-64, Bi-GRU 2 x 64, batch 32; ``--size
paper`` (default on a GPU): the paper's AGCN (3.45 M) and Bi-GRU (3 x 1024, 45.0 M), batch 64. Input:
synthetic NTU-layout skeletons (25 joints, 2 persons, 100 frames, 64 after the crop-resize), K = 1024
(small) or 16384 (paper). Prints samples/s of both, their ratio, the time split by stage, and writes JSON.

    python benchmarks/bench_train.py [--method moco|aimclr] [--device auto|cpu|cuda] [--size small|paper]
                                     [--steps N] [--json F]

``--method aimclr --compare-policy`` measures instead the threshold AimCLR's ``infonce_impl: auto`` switches at
(``aimclr_single_pass_max_nk`` in ``mgclr/ops/auto_policy.json``): the NNM-phase loss alone, forward + backward,
best of 8, by the one eager pass and by the memory-free passes, at the sizes that measured it (32 x 1024 to
128 x 8192), and prints the largest N x K up to which the one pass won here against the file's value. It never
rewrites the file: a new value goes there by hand, with its machine, and into RESULTS.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aimclr_style  # noqa: E402
import numpy_baselines  # noqa: E402
from baseline_loop import loop_ema, run_steps, slice_enqueue  # noqa: E402

import mgclr  # noqa: E402
from mgclr._files import write_json_atomic  # noqa: E402
from mgclr.data import generate  # noqa: E402
from mgclr.skeleton import adjacency  # noqa: E402
from mgclr.train import parse_config  # noqa: E402
from mgclr.train.bench import benchmark_pretrain_step  # noqa: E402

SIZES = {
    "small": {"widths": [16, 32, 32, 64], "strides": [1, 2, 1, 2], "hidden": 64, "layers": 2, "batch": 32,
              "queue": 1024, "head_s": 64, "head_t": 128},
    "paper": {"widths": [64, 64, 64, 64, 128, 128, 128, 256, 256, 256], "strides": [1, 1, 1, 1, 2, 1, 1, 2, 1, 1],
              "hidden": 1024, "layers": 3, "batch": 64, "queue": 16384, "head_s": 256, "head_t": 2048},
}
T_RAW, T_OUT = 100, 64
AIMCLR_SIZES = {
    "small": {"hidden_channels": 8, "hidden_dim": 64, "batch": 32, "queue": 4096},
    "paper": {"hidden_channels": 16, "hidden_dim": 256, "batch": 128, "queue": 32768},
}
AIMCLR_FRAMES = 50


# ------------------------------------------------------------------------------- the ISC-style models


class IscUnitGcn(nn.Module):
    """2s-AGCN's unit_gcn as published: a Python loop over the three subsets."""

    def __init__(self, cin, cout, A):
        super().__init__()
        self.inter = cout // 4
        self.register_buffer("A", A)
        self.PA = nn.Parameter(torch.full_like(A, 1e-6))
        self.conv_a = nn.ModuleList(nn.Conv2d(cin, self.inter, 1) for _ in range(3))
        self.conv_b = nn.ModuleList(nn.Conv2d(cin, self.inter, 1) for _ in range(3))
        self.conv_d = nn.ModuleList(nn.Conv2d(cin, cout, 1) for _ in range(3))
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout)) if cin != cout else nn.Identity()
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        N, C, T, V = x.shape
        A = self.A + self.PA
        y = None
        for i in range(3):
            a1 = self.conv_a[i](x).permute(0, 3, 1, 2).contiguous().view(N, V, self.inter * T)
            a2 = self.conv_b[i](x).view(N, self.inter * T, V)
            a1 = torch.softmax(torch.matmul(a1, a2) / a1.size(-1), dim=-2) + A[i]
            z = self.conv_d[i](torch.matmul(x.view(N, C * T, V), a1).view(N, C, T, V))
            y = z if y is None else y + z
        return torch.relu(self.bn(y) + self.down(x))


class IscAgcn(nn.Module):
    def __init__(self, widths, strides, A, persons=2, joints=25):
        super().__init__()
        self.data_bn = nn.BatchNorm1d(persons * joints * 3)
        units, cin = [], 3
        for i, (w, s) in enumerate(zip(widths, strides)):
            gcn = IscUnitGcn(cin, w, A)
            tcn = nn.Sequential(nn.Conv2d(w, w, (9, 1), (s, 1), (4, 0)), nn.BatchNorm2d(w))
            res = None if i == 0 else (nn.Identity() if cin == w and s == 1 else
                                       nn.Sequential(nn.Conv2d(cin, w, 1, (s, 1)), nn.BatchNorm2d(w)))
            units.append(nn.ModuleDict({"gcn": gcn, "tcn": tcn, "res": res or nn.Identity()}))
            units[-1].has_res = res is not None
            cin = w
        self.units = nn.ModuleList(units)
        self.out_dim = cin

    def forward(self, x):
        N, C, T, V, M = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(N, M * V * C, T))
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).reshape(N * M, C, T, V)
        for u in self.units:
            y = u["tcn"](u["gcn"](x))
            x = torch.relu(y + u["res"](x) if u.has_res else y)
        return x.view(N, M, x.shape[1], -1).mean(3).mean(1)


class IscGru(nn.Module):
    """ISC's BIGRU: the GRU is fed one frame at a time; the output of the last frame is the feature."""

    def __init__(self, input_size, hidden, layers):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden, layers, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    def forward(self, x):
        N, C, T, V, M = x.shape
        seq = x.permute(0, 2, 3, 1, 4).reshape(N, T, V * C * M)
        h = None
        for t in range(T):
            out, h = self.gru(seq[:, t:t + 1], h)
        return out[:, -1]


class IscStream(nn.Module):
    def __init__(self, encoder, dim_hidden, dim=128, K=16384, m=0.999, tau=0.07):
        super().__init__()
        self.encoder_q = encoder
        self.head_q = nn.Sequential(nn.Linear(encoder.out_dim, dim_hidden), nn.ReLU(), nn.Linear(dim_hidden, dim))
        self.encoder_k, self.head_k = copy.deepcopy(self.encoder_q), copy.deepcopy(self.head_q)
        for p in list(self.encoder_k.parameters()) + list(self.head_k.parameters()):
            p.requires_grad = False
        self.m, self.tau, self.K = m, tau, K
        self.register_buffer("queue", F.normalize(torch.randn(dim, K), dim=0))
        self.ptr = 0

    def loss(self, q_view, k_view):
        q = F.normalize(self.head_q(self.encoder_q(q_view)), dim=1)
        with torch.no_grad():
            k = F.normalize(self.head_k(self.encoder_k(k_view)), dim=1)
        return q, k

    def infonce(self, q, k):
        l_pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", q, self.queue.clone().detach())
        logits = torch.cat([l_pos, l_neg], dim=1) / self.tau
        return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=q.device))

    def ema(self):
        loop_ema(list(self.encoder_q.parameters()) + list(self.head_q.parameters()),
                 list(self.encoder_k.parameters()) + list(self.head_k.parameters()), self.m)

    def enqueue(self, keys):
        self.ptr = slice_enqueue(self.queue, self.ptr, keys)


def bench_isc(x, lengths, size, device, steps, warmup, workers):
    s = SIZES[size]
    torch.manual_seed(0)
    A = adjacency("ntu25", "agcn")
    spatial = IscStream(IscAgcn(s["widths"], s["strides"], A), s["head_s"], K=s["queue"]).to(device)
    temporal = IscStream(IscGru(150, s["hidden"], s["layers"]), s["head_t"], K=s["queue"]).to(device)
    params = [p for m in (spatial, temporal) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    dataset = numpy_baselines.FeederDataset(x, lengths, "isc", out_frames=T_OUT)
    loader = torch.utils.data.DataLoader(dataset, batch_size=s["batch"], shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=workers > 0)

    def forward(q_view, k_view):
        return spatial.loss(q_view, k_view), temporal.loss(q_view, k_view)

    def ema():
        spatial.ema()
        temporal.ema()

    def enqueue(embeddings):
        (_, ks), (_, kt) = embeddings
        spatial.enqueue(ks)
        temporal.enqueue(kt)

    return run_steps(loader, device, steps, warmup, s["batch"], optimizer, forward=forward,
                     loss=lambda e: spatial.infonce(*e[0]) + temporal.infonce(*e[1]), ema=ema, enqueue=enqueue)


def save_arrays(data, folder) -> None:
    """The synthetic data as an ``arrays`` dataset (both splits): mgclr reads it memory-mapped, as users do."""
    for split in ("train", "test"):
        np.save(Path(folder) / f"{split}_x.npy", data.x)
        np.save(Path(folder) / f"{split}_lengths.npy", data.lengths)
        np.save(Path(folder) / f"{split}_labels.npy", data.labels)


def _arrays_data(folder, batch: int, workers: int) -> dict:
    """The config's data section for the arrays of save_arrays."""
    return {"source": "arrays", "path": str(folder), "layout": "ntu25", "num_persons": 2, "batch_size": batch,
            "num_workers": workers}


def bench_mgclr(folder, size, device, steps, warmup, workers, amp=False):
    s = SIZES[size]
    config = parse_config({
        "device": device.type, "seed": 0,
        "data": _arrays_data(folder, s["batch"], workers),
        "augment": {"preset": "isc", "out_frames": T_OUT},
        "model": {"streams": {
            "joint": {"encoder": {"kind": "agcn", "args": {"widths": s["widths"], "strides": s["strides"]}},
                      "head_dim": 128, "head_hidden": s["head_s"], "queue_size": s["queue"]},
            "sequence": {"encoder": {"kind": "bigru", "args": {"hidden": s["hidden"], "layers": s["layers"],
                                                                "pooling": "last"}},
                         "head_dim": 128, "head_hidden": s["head_t"], "queue_size": s["queue"]}}},
        "pretrain": {"optim": {"lr": 0.01}, "amp": amp}})
    return benchmark_pretrain_step(config, steps=steps, warmup=warmup)


def bench_mgclr_aimclr(folder, size, device, steps, warmup, workers, dropout=0.5, amp=False):
    s = AIMCLR_SIZES[size]
    config = parse_config({
        "device": device.type, "seed": 0,
        "data": _arrays_data(folder, s["batch"], workers),
        "augment": {"preset": "skeletonclr"},
        "model": {"streams": {"joint": {
            "encoder": {"kind": "stgcn", "args": {"hidden_channels": s["hidden_channels"],
                                                  "hidden_dim": s["hidden_dim"], "dropout": dropout}},
            "head_dim": 128, "head_hidden": s["hidden_dim"], "queue_size": s["queue"],
            "method": {"kind": "aimclr", "args": {"nnm_epoch": 0, "topk": 1}}}}},  # NNM from the first step
        "pretrain": {"optim": {"lr": 0.1, "nesterov": False}, "amp": amp}})
    return benchmark_pretrain_step(config, steps=steps, warmup=warmup)


def _print_stages(results, stages):
    fmt = lambda v: f"{v * 1e3:>12.1f}ms" if v is not None else f"{'-':>14}"  # noqa: E731
    for stage in stages:
        print(f"{stage:<10}" + "".join(fmt(r["stages_s"].get(stage)) for r in results))


def main_aimclr(args, device, cuda, machine):
    size = args.size or ("paper" if cuda else "small")
    s = AIMCLR_SIZES[size]
    steps = args.steps or (20 if cuda else 4)
    workers = args.workers if args.workers is not None else (8 if cuda else min(2, os.cpu_count() or 1))
    data = generate(args.samples or s["batch"] * (steps + args.warmup + 2), layout="ntu25", frames=AIMCLR_FRAMES,
                    num_persons=2, seed=0)
    theirs = aimclr_style.bench_aimclr_style(data.x, s, device, steps, args.warmup, workers, args.dropout)
    with tempfile.TemporaryDirectory() as folder:
        save_arrays(data, folder)
        ours = bench_mgclr_aimclr(folder, size, device, steps, args.warmup, workers, args.dropout, args.amp)
    N, K = s["batch"], s["queue"]
    styles = ("aimclr_style", "mgclr")
    # The loss alone at the step's sizes and at AimCLR's (N = 128, K = 32768), where the logits weigh.
    loss_sizes = sorted({(N, K), (AIMCLR_SIZES["paper"]["batch"], AIMCLR_SIZES["paper"]["queue"])})
    loss = {}
    for n, k in loss_sizes:
        loss[f"N={n},K={k}"] = {w: {"seconds": aimclr_style.loss_time(w, n, k, 128, device),
                                    "peak_memory_bytes": aimclr_style.loss_peak_memory(w, n, k, 128, device)}
                                for w in styles}
    ratio = ours["samples_per_s"] / theirs["samples_per_s"]
    print(f"\nAimCLR pretraining step (NNM phase), {size} sizes: ST-GCN hidden {s['hidden_channels']}, batch {N}, "
          f"K = {K}, {AIMCLR_FRAMES} frames, dropout {args.dropout} (torch's / mgclr's), NTU layout (25 x 3 x 2), "
          f"{device}"
          f"{' ' + torch.cuda.get_device_name() if cuda else ''}, {workers} DataLoader workers")
    print(f"{'':<10}{'AimCLR-style':>14}{'mgclr':>14}")
    print(f"{'samples/s':<10}{theirs['samples_per_s']:>14.1f}{ours['samples_per_s']:>14.1f}   "
          f"mgclr / AimCLR-style = {ratio:.2f}x")
    _print_stages([theirs, ours], ("data", "augment", "forward", "loss", "backward", "optimizer", "ema", "enqueue"))
    mib = lambda b: f"{b / 2**20:>11.1f}MiB"  # noqa: E731
    if cuda:
        print(f"{'step peak':<10}{mib(theirs['peak_memory_bytes'])}{mib(ours['peak_memory_bytes'])}")
    print(f"the loss alone, forward + backward (best of 5; peak memory: "
          f"{'the CUDA allocator' if cuda else 'peak RSS growth in a fresh process'}), D = 128:")
    for key, by in loss.items():
        a, b = by["aimclr_style"], by["mgclr"]
        print(f"  {key:<16}{a['seconds'] * 1e3:>9.1f}ms{b['seconds'] * 1e3:>9.1f}ms  "
              f"{mib(a['peak_memory_bytes'])}{mib(b['peak_memory_bytes'])}   time ratio "
              f"{a['seconds'] / b['seconds']:.2f}x, memory ratio "
              f"{a['peak_memory_bytes'] / max(b['peak_memory_bytes'], 1):.1f}x")
    return {"machine": machine, "method": "aimclr", "size": size, "sizes": s, "frames": AIMCLR_FRAMES,
            "dropout": args.dropout, "amp": args.amp, "steps": steps,
            "workers": workers, "aimclr_style": theirs, "mgclr": ours, "ratio": ratio, "loss_alone": loss}


# The sizes that measured auto_policy.json's aimclr_single_pass_max_nk (RESULTS.md, "The AimCLR loss at small sizes").
POLICY_SIZES = [(32, 1024), (32, 4096), (64, 8192), (128, 4096), (128, 8192)]


def compare_aimclr_policy(device, machine) -> dict:
    """The one eager pass against the memory-free passes, the loss alone, at POLICY_SIZES; the largest N·K up to
    which the one pass won at every measured size against auto_policy.json's aimclr_single_pass_max_nk."""
    from mgclr.ops.auto_policy import THRESHOLDS
    from mgclr.ops.queue_losses import aimclr_single_pass_wins

    entry = THRESHOLDS["aimclr_single_pass_max_nk"]
    print(f"AimCLR's NNM-phase loss alone, forward + backward, D = 128, best of 8, {device}: one eager pass against "
          f"the memory-free passes (auto's impl)")
    print(f"{'N x K':>12}{'one pass':>12}{'memory-free':>14}  fastest      auto takes")
    rows, measured = [], None
    for n, k in sorted(POLICY_SIZES, key=lambda nk: (nk[0] * nk[1], nk)):
        one = aimclr_style.loss_time("mgclr", n, k, 128, device, repeats=8, single_pass=True)
        free = aimclr_style.loss_time("mgclr", n, k, 128, device, repeats=8, single_pass=False)
        auto = "one pass" if aimclr_single_pass_wins(device, n, k) else "memory-free"
        fastest = "one pass" if one < free else "memory-free"
        print(f"{f'{n} x {k}':>12}{one * 1e3:>10.2f}ms{free * 1e3:>12.2f}ms  {fastest:<12} {auto}"
              f"{'' if auto == fastest else '  <- not the fastest'}")
        rows.append({"N": n, "K": k, "one_pass_seconds": one, "memory_free_seconds": free, "auto": auto})
    for r in sorted(rows, key=lambda r: r["N"] * r["K"]):
        if r["one_pass_seconds"] >= r["memory_free_seconds"]:
            break
        measured = r["N"] * r["K"]
    print(f"one pass fastest up to N·K = {measured if measured is not None else 'none measured'} here; "
          f"auto_policy.json aimclr_single_pass_max_nk = {entry.value} ({entry.value_as})"
          f"{'' if measured == entry.value else '  <- differs'}")
    print(f"the file's value was measured on {entry.measured_on}")
    if device.type != "cpu":
        print("(the threshold switches the CPU only: on a GPU auto keeps the memory-free passes)")
    return {"machine": machine, "method": "aimclr", "compare_policy": rows,
            "policy": {"aimclr_single_pass_max_nk": {"policy": entry.value, "measured": measured}}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", choices=("moco", "aimclr"), default="moco",
                    help="moco: the paper's dual-stream step vs ISC-style; aimclr: AimCLR vs AimCLR-style")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--size", choices=tuple(SIZES), default=None, help="default: paper on CUDA, small on the CPU")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: 2 CPU, 8 CUDA)")
    ap.add_argument("--samples", type=int, default=None, help="synthetic training samples")
    ap.add_argument("--amp", action="store_true",
                    help="mgclr's step with bf16 autocast of the encoders (pretrain.amp); the peer stays fp32")
    ap.add_argument("--dropout", type=float, default=0.5,
                    help="--method aimclr: the ST-GCN's dropout in both steps (0.5, as released)")
    ap.add_argument("--compare-policy", action="store_true",
                    help="--method aimclr: measure the one-pass threshold of auto (mgclr/ops/auto_policy.json) "
                         "instead of the step, and print it against the file's value; never rewrites the file")
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "out" / "train.json"))
    args = ap.parse_args(argv)
    if args.compare_policy and args.method != "aimclr":
        ap.error("--compare-policy: the threshold bench_train.py measures is AimCLR's (--method aimclr)")
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no GPU")
    device = torch.device("cuda" if cuda else "cpu")
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
               "gpu": torch.cuda.get_device_name() if cuda else None, "mgclr": mgclr.build_info()}
    if args.method == "aimclr":
        result = compare_aimclr_policy(device, machine) if args.compare_policy else main_aimclr(args, device, cuda,
                                                                                                 machine)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.json, result)
        print(f"JSON: {args.json}")
        return result
    size = args.size or ("paper" if cuda else "small")
    steps = args.steps or (20 if cuda else 6)
    workers = args.workers if args.workers is not None else (8 if cuda else min(2, os.cpu_count() or 1))
    batch = SIZES[size]["batch"]
    data = generate(args.samples or batch * (steps + args.warmup + 2), layout="ntu25", frames=T_RAW, num_persons=2,
                    seed=0)
    isc = bench_isc(data.x, data.lengths, size, device, steps, args.warmup, workers)
    with tempfile.TemporaryDirectory() as folder:  # mgclr reads the same arrays, memory-mapped, as users do
        save_arrays(data, folder)
        ours = bench_mgclr(folder, size, device, steps, args.warmup, workers, args.amp)
    ratio = ours["samples_per_s"] / isc["samples_per_s"]
    print(f"\npretraining step, {size} sizes, batch {batch}, {T_OUT} frames, NTU layout (25 x 3 x 2), "
          f"{device}{' ' + torch.cuda.get_device_name() if cuda else ''}, {workers} DataLoader workers")
    print(f"{'':<10}{'ISC-style':>12}{'mgclr':>12}")
    print(f"{'samples/s':<10}{isc['samples_per_s']:>12.1f}{ours['samples_per_s']:>12.1f}   mgclr / ISC = {ratio:.1f}x")
    for stage in ("data", "augment", "forward", "loss", "backward", "optimizer", "ema", "enqueue"):
        a = isc["stages_s"].get(stage)
        b = ours["stages_s"].get(stage)
        fmt = lambda v: f"{v * 1e3:>10.1f}ms" if v is not None else f"{'-':>12}"  # noqa: E731
        print(f"{stage:<10}{fmt(a)}{fmt(b)}")
    result = {"machine": machine, "method": "moco", "size": size, "sizes": SIZES[size], "amp": args.amp, "steps": steps,
              "workers": workers, "isc_style": isc, "mgclr": ours, "ratio": ratio}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, result)
    print(f"JSON: {args.json}")
    return result


if __name__ == "__main__":
    main()
