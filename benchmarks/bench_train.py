"""Benchmark: one dual-stream pretraining step, mgclr against a faithful ISC-style step, same sizes, one run.

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

    python benchmarks/bench_train.py [--device auto|cpu|cuda] [--size small|paper] [--steps N] [--json F]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_baselines  # noqa: E402

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

    @torch.no_grad()
    def ema(self):
        for pq, pk in zip(list(self.encoder_q.parameters()) + list(self.head_q.parameters()),
                          list(self.encoder_k.parameters()) + list(self.head_k.parameters())):
            pk.data = pk.data * self.m + pq.data * (1.0 - self.m)

    @torch.no_grad()
    def enqueue(self, keys):
        B = keys.shape[0]
        assert self.K % B == 0
        self.queue[:, self.ptr:self.ptr + B] = keys.T
        self.ptr = (self.ptr + B) % self.K


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


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
    times = {k: 0.0 for k in ("data", "forward", "loss", "backward", "step", "ema", "enqueue")}
    batches = iter(loader)
    record = False

    @contextlib.contextmanager
    def stage(key):
        _sync(device)
        t0 = time.perf_counter()
        yield
        _sync(device)
        if record:
            times[key] += time.perf_counter() - t0

    def next_batch():
        nonlocal batches
        try:
            return next(batches)
        except StopIteration:
            batches = iter(loader)
            return next(batches)

    started = None
    for i in range(warmup + steps):
        if i == warmup:
            record, started = True, time.perf_counter()
        with stage("data"):
            q_view, k_view = (t.to(device).float() for t in next_batch())
        with stage("forward"):
            qs, ks = spatial.loss(q_view, k_view)
            qt, kt = temporal.loss(q_view, k_view)
        with stage("loss"):
            loss = spatial.infonce(qs, ks) + temporal.infonce(qt, kt)
        with stage("backward"):
            optimizer.zero_grad()
            loss.backward()
        with stage("step"):
            optimizer.step()
        with stage("ema"):
            spatial.ema()
            temporal.ema()
        with stage("enqueue"):
            spatial.enqueue(ks)
            temporal.enqueue(kt)
    _sync(device)
    elapsed = time.perf_counter() - started
    return {"samples_per_s": s["batch"] * steps / elapsed, "step_s": elapsed / steps,
            "stages_s": {k: v / steps for k, v in times.items()}}


def bench_mgclr(folder, size, device, steps, warmup, workers):
    s = SIZES[size]
    config = parse_config({
        "device": device.type, "seed": 0,
        "data": {"source": "arrays", "path": str(folder), "layout": "ntu25", "num_persons": 2, "batch_size": s["batch"],
                 "num_workers": workers},
        "augment": {"preset": "isc", "out_frames": T_OUT},
        "model": {"streams": {
            "joint": {"encoder": {"kind": "agcn", "args": {"widths": s["widths"], "strides": s["strides"]}},
                      "head_dim": 128, "head_hidden": s["head_s"], "queue_size": s["queue"]},
            "sequence": {"encoder": {"kind": "bigru", "args": {"hidden": s["hidden"], "layers": s["layers"],
                                                                "pooling": "last"}},
                         "head_dim": 128, "head_hidden": s["head_t"], "queue_size": s["queue"]}}},
        "pretrain": {"optim": {"lr": 0.01}}})
    return benchmark_pretrain_step(config, steps=steps, warmup=warmup)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--size", choices=tuple(SIZES), default=None, help="default: paper on CUDA, small on the CPU")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: 2 CPU, 8 CUDA)")
    ap.add_argument("--samples", type=int, default=None, help="synthetic training samples")
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "out" / "train.json"))
    args = ap.parse_args(argv)
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no GPU")
    device = torch.device("cuda" if cuda else "cpu")
    size = args.size or ("paper" if cuda else "small")
    steps = args.steps or (20 if cuda else 6)
    workers = args.workers if args.workers is not None else (8 if cuda else min(2, os.cpu_count() or 1))
    batch = SIZES[size]["batch"]
    data = generate(args.samples or batch * (steps + args.warmup + 2), layout="ntu25", frames=T_RAW, num_persons=2,
                    seed=0)
    isc = bench_isc(data.x, data.lengths, size, device, steps, args.warmup, workers)
    with tempfile.TemporaryDirectory() as folder:  # mgclr reads the same arrays, memory-mapped, as users do
        for split in ("train", "test"):
            np.save(Path(folder) / f"{split}_x.npy", data.x)
            np.save(Path(folder) / f"{split}_lengths.npy", data.lengths)
            np.save(Path(folder) / f"{split}_labels.npy", data.labels)
        ours = bench_mgclr(folder, size, device, steps, args.warmup, workers)
    ratio = ours["samples_per_s"] / isc["samples_per_s"]
    print(f"\npretraining step, {size} sizes, batch {batch}, {T_OUT} frames, NTU layout (25 x 3 x 2), "
          f"{device}{' ' + torch.cuda.get_device_name() if cuda else ''}, {workers} DataLoader workers")
    print(f"{'':<10}{'ISC-style':>12}{'mgclr':>12}")
    print(f"{'samples/s':<10}{isc['samples_per_s']:>12.1f}{ours['samples_per_s']:>12.1f}   mgclr / ISC = {ratio:.1f}x")
    for stage in ("data", "augment", "forward", "loss", "backward", "step", "ema", "enqueue"):
        a = isc["stages_s"].get(stage)
        b = ours["stages_s"].get(stage)
        fmt = lambda v: f"{v * 1e3:>10.1f}ms" if v is not None else f"{'-':>12}"  # noqa: E731
        print(f"{stage:<10}{fmt(a)}{fmt(b)}")
    result = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                          "gpu": torch.cuda.get_device_name() if cuda else None, "mgclr": mgclr.build_info()},
              "size": size, "sizes": SIZES[size], "steps": steps, "workers": workers, "isc_style": isc,
              "mgclr": ours, "ratio": ratio}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, result)
    print(f"JSON: {args.json}")
    return result


if __name__ == "__main__":
    main()
