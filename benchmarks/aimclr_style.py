"""An AimCLR-style pretraining step, as Levigty/AimCLR's code runs it (written here for the benchmark only), and
the loss-only peak-memory probe of ``bench_train.py --method aimclr``.

AimCLR-style: per-sample NumPy augmentation in DataLoader workers, three views per sample
(``numpy_baselines.TripleFeederDataset``); three query-encoder passes (normal, extreme, extreme with EADM) and
one key-encoder pass in eager mode; the N × (1 + K) logits of all three queries built against
``queue.clone().detach()``, softmaxes of the extreme ones, the detached softmax of the normal one as D3M's
target, NNM's three ``topk`` over the N × K negatives scattered into an N × K mask, ``log_softmax`` with the
mask; a Python loop over parameters for the moving average; ``queue[:, ptr:ptr + B] = keys.T`` (K % B == 0).
The encoder is mgclr's ST-GCN with its EADM branch for both steps, with the released ``Dropout(0.5)`` after
blocks 1-9 (torch's ``nn.Dropout(inplace=True)`` here, mgclr's counter-RNG dropout in mgclr's step), so that
the comparison is of everything around the encoder plus the dropout.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time

import numpy_baselines
import torch
import torch.nn.functional as F
from baseline_loop import loop_ema, run_steps, slice_enqueue, sync
from torch import nn

from mgclr.models import STGCN, ProjectionHead
from mgclr.skeleton import get_layout


class AimclrStyle(nn.Module):
    def __init__(self, hidden_channels, hidden_dim, K, dim=128, m=0.999, T=0.07, dropout=0.5):
        super().__init__()
        # The released encoder's dropout: nn.Dropout(p, inplace=True) after blocks 1-9, torch's random stream.
        self.encoder_q = STGCN("ntu25", hidden_channels=hidden_channels, hidden_dim=hidden_dim, dropout=dropout,
                               dropout_impl="torch")
        self.fc_q = ProjectionHead(hidden_dim, dim, hidden_dim)
        self.encoder_k, self.fc_k = copy.deepcopy(self.encoder_q), copy.deepcopy(self.fc_q)
        for p in list(self.encoder_k.parameters()) + list(self.fc_k.parameters()):
            p.requires_grad = False
        self.K, self.m, self.T = K, m, T
        self.register_buffer("queue", F.normalize(torch.randn(dim, K), dim=0))
        self.ptr = 0

    def encode(self, im_q_extreme, im_q, im_k):
        q = F.normalize(self.fc_q(self.encoder_q(im_q)), dim=1)
        f_e, f_ed = self.encoder_q(im_q_extreme, drop=True)
        q_e, q_ed = F.normalize(self.fc_q(f_e), dim=1), F.normalize(self.fc_q(f_ed), dim=1)
        with torch.no_grad():
            k = F.normalize(self.fc_k(self.encoder_k(im_k)), dim=1)
        return q, q_e, q_ed, k

    def loss(self, q, q_e, q_ed, k, topk=1):
        return aimclr_loss(q, q_e, q_ed, k, self.queue, self.T, topk)

    def ema(self):
        loop_ema(list(self.encoder_q.parameters()) + list(self.fc_q.parameters()),
                 list(self.encoder_k.parameters()) + list(self.fc_k.parameters()), self.m)

    def enqueue(self, keys):
        self.ptr = slice_enqueue(self.queue, self.ptr, keys)


def aimclr_loss(q, q_e, q_ed, k, queue, T, topk=1, nnm=True):
    """AimCLR's loss as its code computes it (net/aimclr.py, processor/pretrain_aimclr.py): the logits of the three
    queries in full against ``queue (dim, K)``, D3M on softmaxes, and with ``nnm`` the union top-k mask.
    Returns (loss, its InfoNCE part)."""
    queue = queue.clone().detach()
    l_pos, l_neg = torch.einsum("nc,nc->n", q, k).unsqueeze(-1), torch.einsum("nc,ck->nk", q, queue)
    l_pos_e, l_neg_e = torch.einsum("nc,nc->n", q_e, k).unsqueeze(-1), torch.einsum("nc,ck->nk", q_e, queue)
    l_pos_ed, l_neg_ed = torch.einsum("nc,nc->n", q_ed, k).unsqueeze(-1), torch.einsum("nc,ck->nk", q_ed, queue)
    logits = torch.cat([l_pos, l_neg], dim=1) / T
    logits_e = torch.softmax(torch.cat([l_pos_e, l_neg_e], dim=1) / T, dim=1)
    logits_ed = torch.softmax(torch.cat([l_pos_ed, l_neg_ed], dim=1) / T, dim=1)
    labels_ddm = torch.softmax(logits.clone().detach(), dim=1)
    if nnm:
        mask = torch.zeros_like(l_neg)
        for scores in (l_neg, l_neg_e, l_neg_ed):
            mask.scatter_(1, torch.topk(scores, topk, dim=1).indices, 1)
        mask = torch.cat([torch.ones(mask.shape[0], 1, device=mask.device), mask], dim=1)
        loss1 = (-(F.log_softmax(logits, dim=1) * mask).sum(1) / mask.sum(1)).mean()
    else:
        loss1 = F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device))
    loss2 = -torch.mean(torch.sum(torch.log(logits_e) * labels_ddm, dim=1))
    loss3 = -torch.mean(torch.sum(torch.log(logits_ed) * labels_ddm, dim=1))
    return loss1 + (loss2 + loss3) / 2.0, loss1


def bench_aimclr_style(x, size, device, steps, warmup, workers, dropout=0.5):
    torch.manual_seed(0)
    model = AimclrStyle(size["hidden_channels"], size["hidden_dim"], size["queue"], dropout=dropout).to(device).train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9,
                                weight_decay=1e-4)
    dataset = numpy_baselines.TripleFeederDataset(x, get_layout("ntu25").left_right)
    loader = torch.utils.data.DataLoader(dataset, batch_size=size["batch"], shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=workers > 0)
    return run_steps(loader, device, steps, warmup, size["batch"], optimizer,
                     forward=model.encode,                                    # (extreme, normal q, normal k)
                     loss=lambda e: model.loss(*e)[0], ema=model.ema, enqueue=lambda e: model.enqueue(e[3]))


# ------------------------------------------------------------------ the loss alone, peak memory ----

_LOSS_CHILD = r"""
import sys, torch
sys.path.insert(0, sys.argv[5])
from aimclr_style import _loss_inputs, aimclr_loss, mgclr_aimclr_loss
from mgclr.ops.queue_losses import aimclr_single_pass_wins
N, K, D, which = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
q, q_e, q_ed, k, queue = _loss_inputs(N, K, D, torch.device("cpu"))
queue_t = queue.t().contiguous()
single = aimclr_single_pass_wins(q.device, N, K)  # the warm-up runs the path the measured call takes
def call(n, kk):
    qs = [t[:n].clone().requires_grad_() for t in (q, q_e, q_ed)]
    if which == "aimclr_style":
        aimclr_loss(*qs, k[:n], queue_t[:, :kk], 0.07)[0].backward()
    else:
        mgclr_aimclr_loss(*qs, k[:n], queue[:kk], single_pass=single).backward()
call(4, 64)
def kb(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field + ":"))
open("/proc/self/clear_refs", "w").write("5")
before = kb("VmRSS")
call(N, K)
print((kb("VmHWM") - before) * 1024)
"""


def loss_peak_memory(which: str, N: int, K: int, D: int, device) -> int:
    """Peak extra memory (bytes) of one forward + backward of the AimCLR loss alone (``which``: ``aimclr_style``
    or ``mgclr``) at (N, K, D): on a GPU what the allocator held above the inputs, on the CPU the peak RSS
    growth in a fresh process whose large blocks are returned on free."""
    if device.type == "cuda":
        return _cuda_loss_peak_memory(which, N, K, D, device)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", _LOSS_CHILD, str(N), str(K), str(D), which, here],
                         capture_output=True, text=True, env=env, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def _loss_inputs(N, K, D, device):
    g = torch.Generator(device=device).manual_seed(0)
    q, q_e, q_ed, k = (F.normalize(torch.randn(N, D, generator=g, device=device), dim=1) for _ in range(4))
    queue = F.normalize(torch.randn(K, D, generator=g, device=device), dim=1)
    return q, q_e, q_ed, k, queue


def mgclr_aimclr_loss(q, q_e, q_ed, k, queue, T=0.07, topk=1, single_pass=None):
    """What mgclr's AimCLR computes in its NNM phase, from the same embeddings (``queue (K, dim)``): the method's
    own terms; ``single_pass``: force the path (None: what ``infonce_impl: auto`` picks at this N, K)."""
    from mgclr.models.methods.aimclr import aimclr_terms

    stats, d3m = aimclr_terms(q, [q_e, q_ed], k, queue, T, topk, single_pass=single_pass)
    return stats.loss + sum(d3m) / 2


def loss_time(which: str, N: int, K: int, D: int, device, repeats: int = 5, single_pass=None) -> float:
    """Best-of-``repeats`` seconds of one forward + backward of the NNM-phase loss alone (``single_pass``: mgclr's
    path forced, as :func:`mgclr_aimclr_loss` takes it; None: auto's)."""
    q, q_e, q_ed, k, queue = _loss_inputs(N, K, D, device)
    queue_t = queue.t().contiguous()
    best = float("inf")
    for _ in range(repeats + 1):  # the first call warms up (and probes the attention kernels once)
        qs = [t.clone().requires_grad_() for t in (q, q_e, q_ed)]
        sync(device)
        t0 = time.perf_counter()
        if which == "aimclr_style":
            aimclr_loss(*qs, k, queue_t, 0.07)[0].backward()
        else:
            mgclr_aimclr_loss(*qs, k, queue, single_pass=single_pass).backward()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def _cuda_loss_peak_memory(which: str, N: int, K: int, D: int, device) -> int:
    q, q_e, q_ed, k, queue = _loss_inputs(N, K, D, device)
    queue_t = queue.t().contiguous()
    qs = [t.clone().requires_grad_() for t in (q, q_e, q_ed)]
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    if which == "aimclr_style":
        aimclr_loss(*qs, k, queue_t, 0.07)[0].backward()
    else:
        mgclr_aimclr_loss(*qs, k, queue).backward()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated(device) - base
