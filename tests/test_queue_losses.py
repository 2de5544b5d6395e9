"""The queue-loss family beyond plain InfoNCE: extra positives, AimCLR's soft cross-entropy, queue top-k,
CrosSCLR's cross-view loss with context.

Every impl against the eager references of mgclr.ops.reference (float32 within 1e-5 relative in loss and
gradient), gradcheck in float64, NaN rows, and no N × K tensor on the default path.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from mgclr.ops import queue_context_infonce, queue_infonce, queue_soft_cross_entropy, queue_softmax_mean, queue_topk
from mgclr.ops.reference import (
    queue_context_infonce_reference,
    queue_infonce_positives_reference,
    queue_soft_cross_entropy_reference,
    queue_softmax_mean_reference,
    queue_topk_reference,
)

pytest.importorskip("mgclr._C", reason="mgclr's extension is not built")

IMPLS = ("reference", "chunked", "fused", "attention", "auto")


def unit(n, d, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1).to(dtype)


def grads(fn, q):
    qq = q.clone().requires_grad_()
    out = fn(qq)
    out.sum().backward()
    return out.detach(), qq.grad


TOL = dict(rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ extra positives ----


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("t", [1, 4])
def test_positives_match_the_mask_reference(impl, t):
    N, K, D, tau = 9, 300, 32, 0.1
    q, k, queue = unit(N, D, 1), unit(N, D, 2), unit(K, D, 3)
    positives = torch.randint(0, K, (N, t), generator=torch.Generator().manual_seed(4))
    if t > 1:
        positives[0, 1] = positives[0, 0]          # a repeated index counts once
        positives[1] = positives[1, 0]             # a row of one index repeated
    ref, ref_grad = grads(lambda x: queue_infonce_positives_reference(x, k, queue, tau, positives), q)
    out, grad = grads(lambda x: queue_infonce(x, k, queue, tau, impl, positives=positives, return_stats=True,
                                              chunk_size=64).per_sample, q)
    torch.testing.assert_close(out, ref, **TOL)
    torch.testing.assert_close(grad, ref_grad, **TOL)


def test_positives_of_width_zero_are_the_plain_loss():
    q, k, queue = unit(5, 16, 1), unit(5, 16, 2), unit(40, 16, 3)
    empty = torch.empty(5, 0, dtype=torch.int64)
    assert torch.equal(queue_infonce(q, k, queue, 0.2, "chunked", positives=empty),
                       queue_infonce(q, k, queue, 0.2, "chunked"))


@pytest.mark.parametrize("impl", ["chunked", "fused", "attention"])
def test_positives_gradcheck_float64(impl):
    q, k, queue = unit(4, 6, 1, torch.float64), unit(4, 6, 2, torch.float64), unit(30, 6, 3, torch.float64)
    positives = torch.tensor([[3, 3], [0, 29], [7, 8], [12, 1]])
    q.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: queue_infonce(x, k, queue, 0.5, impl, positives=positives,
                                                            chunk_size=8), (q,))


@pytest.mark.parametrize("impl", ["chunked", "fused", "attention"])
def test_positives_nan_key_makes_its_row_nan(impl):
    q, k, queue = unit(6, 16, 1), unit(6, 16, 2), unit(50, 16, 3)
    k[2, 3] = float("nan")
    positives = torch.randint(0, 50, (6, 2), generator=torch.Generator().manual_seed(5))
    per = queue_infonce(q, k, queue, 0.1, impl, positives=positives, return_stats=True).per_sample
    assert torch.equal(torch.isnan(per), torch.arange(6) == 2)
    queue[positives[4, 0], 0] = float("nan")     # a NaN queue row: every row NaN
    per = queue_infonce(q, k, queue, 0.1, impl, positives=positives, return_stats=True).per_sample
    assert torch.isnan(per).all()


def test_positives_bad_input():
    q, k, queue = unit(4, 8, 1), unit(4, 8, 2), unit(10, 8, 3)
    with pytest.raises(ValueError, match=r"positives: expected queue indices in \[0, K\) = \[0, 10\), got values "
                                         r"in \[0, 10\]"):
        queue_infonce(q, k, queue, 0.1, positives=torch.tensor([[0], [1], [2], [10]]))
    with pytest.raises(ValueError, match=r"positives: expected queue indices .*\[-1, 2\]"):
        queue_infonce(q, k, queue, 0.1, positives=torch.tensor([[0], [1], [2], [-1]]))
    with pytest.raises(ValueError, match=r"positives: expected an int64 tensor of shape \(N, t\) = \(4, t\), got "
                                         r"int32 of shape \(4, 1\)"):
        queue_infonce(q, k, queue, 0.1, positives=torch.zeros(4, 1, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"positives: expected an int64 tensor of shape \(N, t\) = \(4, t\), got "
                                         r"int64 of shape \(3, 1\)"):
        queue_infonce(q, k, queue, 0.1, positives=torch.zeros(3, 1, dtype=torch.int64))
    with pytest.raises(TypeError, match="positives: expected an"):
        queue_infonce(q, k, queue, 0.1, positives=[[0]] * 4)


# ------------------------------------------------------------------------- soft cross-entropy ----


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("tau", [0.07, 1.0])
def test_soft_cross_entropy_matches_reference(impl, tau):
    N, K, D = 11, 257, 48
    q, k, queue, target = unit(N, D, 1), unit(N, D, 2), unit(K, D, 3), unit(N, D, 4)
    target = F.normalize(target + 2.0 * q, dim=1)  # a target close to q, as AimCLR's normal vs extreme views
    ref, ref_grad = grads(lambda x: queue_soft_cross_entropy_reference(x, k, queue, target, tau), q)
    out, grad = grads(lambda x: queue_soft_cross_entropy(x, k, queue, target, tau, impl, reduction="none",
                                                         chunk_size=50), q)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 / tau)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=2e-5 / tau)
    mean = queue_soft_cross_entropy(q, k, queue, target, tau, impl, chunk_size=50)
    torch.testing.assert_close(mean, ref.mean(), rtol=1e-5, atol=1e-5 / tau)


def test_soft_cross_entropy_of_q_against_itself_is_its_entropy_and_has_no_target_gradient():
    q, k, queue = unit(6, 16, 1), unit(6, 16, 2), unit(80, 16, 3)
    target = q.clone().requires_grad_()
    loss = queue_soft_cross_entropy(q, k, queue, target, 0.1, "chunked", reduction="none")
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], 1) / 0.1
    p = torch.softmax(logits, 1)
    torch.testing.assert_close(loss, -(p * torch.log(p)).sum(1), **TOL)
    assert not loss.requires_grad  # only q carries a gradient, and q does not require one here


@pytest.mark.parametrize("impl", ["chunked", "fused", "attention"])
def test_soft_cross_entropy_gradcheck_float64(impl):
    q, k, queue = unit(3, 5, 1, torch.float64), unit(3, 5, 2, torch.float64), unit(25, 5, 3, torch.float64)
    target = unit(3, 5, 4, torch.float64)
    q.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: queue_soft_cross_entropy(x, k, queue, target, 0.3, impl, reduction="none", chunk_size=8), (q,))


@pytest.mark.parametrize("impl", ["reference", "chunked", "fused", "attention"])
def test_soft_cross_entropy_nan_rows(impl):
    q, k, queue, target = unit(5, 16, 1), unit(5, 16, 2), unit(60, 16, 3), unit(5, 16, 4)
    target[3, 0] = float("nan")
    per = queue_soft_cross_entropy(q, k, queue, target, 0.1, impl, reduction="none")
    assert torch.equal(torch.isnan(per), torch.arange(5) == 3)
    with pytest.raises(ValueError, match="target_q: expected finite values"):
        queue_soft_cross_entropy(q, k, queue, target, 0.1, impl, check_finite=True)


def test_soft_cross_entropy_bad_input():
    q, k, queue, target = unit(4, 8, 1), unit(4, 8, 2), unit(10, 8, 3), unit(4, 8, 4)
    with pytest.raises(ValueError, match=r"target_q: expected shape \(N, D\) = \(4, 8\) like q, got \(3, 8\)"):
        queue_soft_cross_entropy(q, k, queue, target[:3], 0.1)
    with pytest.raises(TypeError, match=r"target_q: expected dtype float32 \(the dtype of q\), got float64"):
        queue_soft_cross_entropy(q, k, queue, target.double(), 0.1)
    with pytest.raises(ValueError, match=r"reduction: expected one of"):
        queue_soft_cross_entropy(q, k, queue, target, 0.1, reduction="sum")
    with pytest.raises(ValueError, match="temperature"):
        queue_soft_cross_entropy(q, k, queue, target, 0.0)


@pytest.mark.parametrize("impl", IMPLS)
def test_softmax_mean_matches_reference_and_serves_as_the_target(impl):
    N, K, D, tau = 7, 211, 24, 0.1
    q, k, queue, target = unit(N, D, 1), unit(N, D, 2), unit(K, D, 3), unit(N, D, 4)
    mean = queue_softmax_mean(target, k, queue, tau, impl, chunk_size=50)
    torch.testing.assert_close(mean, queue_softmax_mean_reference(target, k, queue, tau), **TOL)
    assert not mean.requires_grad
    via_mean, grad_mean = grads(lambda x: queue_soft_cross_entropy(x, k, queue, None, tau, impl, target_mean=mean,
                                                                   reduction="none", chunk_size=50), q)
    via_target, grad_target = grads(lambda x: queue_soft_cross_entropy(x, k, queue, target, tau, impl,
                                                                       reduction="none", chunk_size=50), q)
    torch.testing.assert_close(via_mean, via_target, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(grad_mean, grad_target, rtol=1e-5, atol=2e-4)


def test_soft_cross_entropy_takes_one_target():
    q, k, queue, target = unit(4, 8, 1), unit(4, 8, 2), unit(10, 8, 3), unit(4, 8, 4)
    with pytest.raises(ValueError, match="target_q, target_mean: give one .*got neither"):
        queue_soft_cross_entropy(q, k, queue, None, 0.1)
    with pytest.raises(ValueError, match="target_q, target_mean: give one .*got both"):
        queue_soft_cross_entropy(q, k, queue, target, 0.1, target_mean=target)
    with pytest.raises(ValueError, match=r"target_mean: expected shape \(N, D\) = \(4, 8\) like q, got \(4, 7\)"):
        queue_soft_cross_entropy(q, k, queue, None, 0.1, target_mean=target[:, :7])


# ------------------------------------------------------------------------------------ queue top-k ----


@pytest.mark.parametrize("t", [1, 3, 10])
@pytest.mark.parametrize("chunk", [7, 64, 4096])
def test_topk_matches_reference(t, chunk):
    q, queue = unit(13, 24, 1), unit(200, 24, 2)
    assert torch.equal(queue_topk(q, queue, t, chunk_size=chunk), queue_topk_reference(q, queue, t))


def test_topk_equal_similarities_keep_the_lower_index_first():
    q = unit(3, 8, 1)
    queue = torch.cat([unit(5, 8, 2), q[:1], q[:1], unit(5, 8, 3), q[:1]])  # q[0]'s twin at 5, 6 and 12
    assert queue_topk(q, queue, 3, chunk_size=4)[0].tolist() == [5, 6, 12]


def test_top1_ties_keep_the_earlier_chunk_and_nan_outranks_numbers():
    q = unit(3, 8, 1)
    queue = torch.cat([unit(5, 8, 2), q[:1], unit(6, 8, 3), q[:1]])  # q[0]'s twin at 5 and 12
    assert queue_topk(q, queue, 1, chunk_size=4)[0].tolist() == [5]
    queue[9, 2] = float("nan")  # a NaN row in a later chunk outranks every number, as torch.topk ranks it
    assert queue_topk(q, queue, 1, chunk_size=4)[:, 0].tolist() == [9, 9, 9]
    assert torch.equal(queue_topk(q, queue, 1, chunk_size=4), torch.topk(q @ queue.t(), 1, dim=1).indices)


def test_topk_bad_input():
    q, queue = unit(3, 8, 1), unit(10, 8, 2)
    with pytest.raises(ValueError, match=r"t: expected at most K = 10"):
        queue_topk(q, queue, 11)
    with pytest.raises(ValueError, match=r"t: expected"):
        queue_topk(q, queue, 0)
    with pytest.raises(ValueError, match=r"queue: expected shape \(K, D\) with D = 8"):
        queue_topk(q, queue[:, :4], 2)


# -------------------------------------------------------------------- cross-view with context ----


def context_inputs(N=9, K=130, D=32, D2=20, dtype=torch.float32):
    return unit(N, D, 1, dtype), unit(N, D, 2, dtype), unit(K, D, 3, dtype), unit(N, D2, 4, dtype), \
        unit(K, D2, 5, dtype)


def test_context_logits_by_hand():
    # One row, K = 2: logits [q·k, q·Q0, q·Q1, (q·Q0)(q'·Q'0), (q·Q1)(q'·Q'1)] / tau, positives {1}: the mean of
    # -log p over k+, the plain candidate 1 and the context candidate 1.
    q, k = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.6, 0.8]])
    queue, q2, queue2 = torch.tensor([[0.0, 1.0], [0.8, 0.6]]), torch.tensor([[1.0]]), torch.tensor([[0.5], [-1.0]])
    tau = 0.5
    logits = torch.tensor([0.6, 0.0, 0.8, 0.0, -0.8]) / tau
    log_p = torch.log_softmax(logits, dim=0)
    expected = -(log_p[0] + log_p[2] + log_p[4]) / 3
    got = queue_context_infonce(q, k, queue, q2, queue2, tau, positives=torch.tensor([[1]]), chunk_size=1)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("impl", ["reference", "chunked"])
@pytest.mark.parametrize("t", [0, 1, 4])
def test_context_matches_reference(impl, t):
    q, k, queue, q2, queue2 = context_inputs()
    positives = None
    if t:
        positives = torch.randint(0, queue.shape[0], (q.shape[0], t), generator=torch.Generator().manual_seed(6))
        if t > 1:
            positives[0, 1] = positives[0, 0]
            positives[1] = positives[1, 0]
    q_, q2_ = q.clone().requires_grad_(), q2.clone().requires_grad_()
    ref = queue_context_infonce_reference(q_, k, queue, q2_, queue2, 0.1, positives)
    ref_grads = torch.autograd.grad(ref.sum(), (q_, q2_))
    out = queue_context_infonce(q_, k, queue, q2_, queue2, 0.1, positives=positives, impl=impl, reduction="none",
                                chunk_size=17)
    out_grads = torch.autograd.grad(out.sum(), (q_, q2_))
    torch.testing.assert_close(out, ref.detach(), **TOL)
    for got, want in zip(out_grads, ref_grads):
        torch.testing.assert_close(got, want, **TOL)


def test_context_gradcheck_float64():
    q, k, queue, q2, queue2 = context_inputs(4, 23, 6, 5, torch.float64)
    positives = torch.tensor([[3, 3], [0, 22], [7, 8], [12, 1]])
    q.requires_grad_()
    q2.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: queue_context_infonce(a, k, queue, b, queue2, 0.3, positives=positives,
                                                                       reduction="none", chunk_size=6), (q, q2))


def test_context_nan_rows_and_half_inputs():
    q, k, queue, q2, queue2 = context_inputs()
    k[2, 0] = float("nan")
    per = queue_context_infonce(q, k, queue, q2, queue2, 0.1, reduction="none")
    assert torch.equal(torch.isnan(per), torch.arange(q.shape[0]) == 2)
    queue2[7, 1] = float("nan")  # a NaN row of the partner's queue: every row sees it
    assert torch.isnan(queue_context_infonce(q, k, queue, q2, queue2, 0.1, reduction="none")).all()
    q, k, queue, q2, queue2 = context_inputs()
    half = queue_context_infonce(*(t.bfloat16() for t in (q, k, queue, q2, queue2)), 0.1)
    assert half.dtype == torch.float32
    full = queue_context_infonce(*(t.bfloat16().float() for t in (q, k, queue, q2, queue2)), 0.1)
    torch.testing.assert_close(half, full)


def test_context_bad_input():
    q, k, queue, q2, queue2 = context_inputs()
    with pytest.raises(ValueError, match=r"queue_other: expected shape \(K, D'\) = \(130, 20\) \(the K of queue"):
        queue_context_infonce(q, k, queue, q2, queue2[:100], 0.1)
    with pytest.raises(ValueError, match=r"q_other: expected shape \(N, D'\) with N = 9 like q, got \(8, 20\)"):
        queue_context_infonce(q, k, queue, q2[:8], queue2, 0.1)
    with pytest.raises(TypeError, match=r"q_other: expected dtype float32 \(the dtype of q\), got float64"):
        queue_context_infonce(q, k, queue, q2.double(), queue2, 0.1)
    with pytest.raises(ValueError, match=r"impl: expected 'chunked' or 'reference', got 'fused'"):
        queue_context_infonce(q, k, queue, q2, queue2, 0.1, impl="fused")
    with pytest.raises(ValueError, match=r"positives: expected queue indices in \[0, K\) = \[0, 130\)"):
        queue_context_infonce(q, k, queue, q2, queue2, 0.1, positives=torch.full((9, 1), 130))
    with pytest.raises(ValueError, match="q_other: expected finite values"):
        queue_context_infonce(q, k, queue, q2 * float("nan"), queue2, 0.1, check_finite=True)


# ------------------------------------------------------------------- no N x K tensor, measured ----

_PEAK_CHILD = r"""
import sys, torch, torch.nn.functional as F
from mgclr.ops import queue_context_infonce, queue_infonce, queue_soft_cross_entropy, queue_topk
N, K, D = 1024, 65536, 128
g = torch.Generator().manual_seed(0)
q = F.normalize(torch.randn(N, D, generator=g), dim=1)
k = F.normalize(torch.randn(N, D, generator=g), dim=1)
queue = F.normalize(torch.randn(K, D, generator=g), dim=1)
target = F.normalize(torch.randn(N, D, generator=g), dim=1)
other = F.normalize(torch.randn(K, D, generator=g), dim=1)  # a partner stream's queue (context)
what = sys.argv[1]
def call(q, k, queue, target):
    qq = q.clone().requires_grad_()
    if what == "positives":
        p = queue_topk(q, queue, 2)
        queue_infonce(qq, k, queue, 0.07, positives=p).backward()
    elif what == "context":
        tt = target.clone().requires_grad_()
        p = queue_topk(target, other[:queue.shape[0]], 1)
        queue_context_infonce(qq, k, queue, tt, other[:queue.shape[0]], 0.07, positives=p).backward()
    else:
        queue_soft_cross_entropy(qq, k, queue, target, 0.07).backward()
call(q[:4], k[:4], queue[:64], target[:4])            # warm-up: code pages and thread pools
def kb(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field + ":"))
open("/proc/self/clear_refs", "w").write("5")
before = kb("VmRSS")
call(q, k, queue, target)
print((kb("VmHWM") - before) * 1024)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc to read peak RSS")
@pytest.mark.parametrize("what", ["positives", "soft_cross_entropy", "context"])
def test_default_path_holds_no_n_by_k_tensor(what):
    # N x K float32 logits at N = 1024, K = 65536 are 256 MiB; the default path keeps chunks of at most
    # N x 4096 (16 MiB) alive. Peak RSS growth of one forward + backward in a fresh process, with every block
    # of 64 KiB or more a fresh mapping (returned on free), must stay under a quarter of one N x K tensor.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, "-c", _PEAK_CHILD, what], capture_output=True, text=True, env=env,
                         check=True)
    peak = int(out.stdout.strip().splitlines()[-1])
    assert peak < 1024 * 65536 * 4 // 4, f"{what}: peak extra memory {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("views", [1, 2])
@pytest.mark.parametrize("topk", [None, 1, 3])
def test_aimclr_single_pass_matches_the_memory_free_terms(views, topk):
    from mgclr.ops import queue_infonce, queue_soft_cross_entropy, queue_softmax_mean, queue_topk
    from mgclr.ops.queue_losses import aimclr_loss_single_pass, aimclr_single_pass_wins

    g = torch.Generator().manual_seed(views * 10 + (topk or 0))
    unit = lambda *s: torch.nn.functional.normalize(torch.randn(*s, generator=g), dim=-1)  # noqa: E731
    N, K, D, tau = 12, 300, 16, 0.1
    q, k, queue = unit(N, D), unit(N, D), unit(K, D)
    extremes = [unit(N, D) for _ in range(views)]
    a = [t.clone().requires_grad_() for t in (q, *extremes)]
    stats, d3m = aimclr_loss_single_pass(a[0], a[1:], k, queue, tau, topk)
    (stats.loss + sum(d3m)).backward()
    b = [t.clone().requires_grad_() for t in (q, *extremes)]
    positives = None
    if topk:
        found = queue_topk(torch.cat(b).detach(), queue, topk).view(1 + views, N, topk)
        positives = found.permute(1, 0, 2).reshape(N, -1)
    expected = queue_infonce(b[0], k, queue, tau, "chunked", positives=positives, return_stats=True)
    target = queue_softmax_mean(b[0], k, queue, tau, "chunked")
    d3m_expected = [queue_soft_cross_entropy(v, k, queue, None, tau, "chunked", target_mean=target) for v in b[1:]]
    (expected.loss + sum(d3m_expected)).backward()
    torch.testing.assert_close(stats.per_sample, expected.per_sample, rtol=1e-5, atol=1e-5)
    assert torch.equal(stats.rank, expected.rank)
    for got, want in zip(d3m, d3m_expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for x, y in zip(a, b):
        torch.testing.assert_close(x.grad, y.grad, rtol=1e-4, atol=1e-6)
    assert aimclr_single_pass_wins(torch.device("cpu"), 128, 4096)
    assert not aimclr_single_pass_wins(torch.device("cpu"), 128, 4097)
    assert not aimclr_single_pass_wins(torch.device("cuda"), 32, 1024)
