"""queue_infonce's edge cases: NaN in gives NaN out (only where it reaches) in every impl and dtype, a second-order
gradient is an error from the fast impls (never zeros) and right from the reference, a temperature whose inverse
overflows its precision is refused, and ties rank alike in every impl."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mgclr.ops import queue_infonce
from mgclr.ops.infonce import tie_tolerance

pytest.importorskip("mgclr._C", reason="mgclr's extension is not built")

IMPLS = ("reference", "chunked", "fused", "attention", "auto")
DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def unit_rows(n, d, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1).to(dtype)


# --------------------------------------------------- 1. NaN in, NaN out (queue_infonce, every impl and dtype)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("where", ["queue", "q", "k"])
def test_infonce_nan_in_nan_out(impl, dtype, where):
    N, K, D = 6, 150, 32
    q, k, queue = unit_rows(N, D, 1, dtype), unit_rows(N, D, 2, dtype), unit_rows(K, D, 3, dtype)
    target = {"q": q, "k": k, "queue": queue}[where]
    target[2 if where != "queue" else 77, 5] = float("nan")
    qq = q.clone().requires_grad_()
    st = queue_infonce(qq, k, queue, 0.07, impl, return_stats=True, chunk_size=64)
    st.per_sample.sum().backward()
    affected = torch.ones(N, dtype=torch.bool) if where == "queue" else torch.arange(N) == 2
    assert torch.equal(torch.isnan(st.per_sample), affected)
    assert torch.isnan(st.loss)
    assert torch.equal(torch.isnan(qq.grad).all(dim=1), affected)
    assert torch.isfinite(qq.grad[~affected]).all()
    with pytest.raises(ValueError, match=f"{where}: expected finite values, got 1 NaN/inf"):
        queue_infonce(q, k, queue, 0.07, impl, check_finite=True)


# ------------------------------------------------------------------- 2. second-order gradients: never zeros


@pytest.mark.parametrize("impl", ["chunked", "fused", "attention", "auto"])
def test_infonce_double_backward_raises(impl):
    q, k, queue = unit_rows(4, 8, 1, torch.float64), unit_rows(4, 8, 2, torch.float64), unit_rows(20, 8, 3,
                                                                                                  torch.float64)
    qq = q.clone().requires_grad_()
    loss = queue_infonce(qq, k, queue, 0.5, impl)
    with pytest.raises(RuntimeError, match="create_graph=True.*impl='reference'"):
        torch.autograd.grad(loss, qq, create_graph=True)
    (grad,) = torch.autograd.grad(queue_infonce(qq, k, queue, 0.5, impl), qq)  # first order still works
    assert torch.isfinite(grad).all()


def test_infonce_reference_gives_second_order():
    q, k, queue = unit_rows(3, 5, 1, torch.float64), unit_rows(3, 5, 2, torch.float64), unit_rows(9, 5, 3,
                                                                                                 torch.float64)
    qq = q.clone().requires_grad_()
    assert torch.autograd.gradgradcheck(lambda x: queue_infonce(x, k, queue, 0.5, "reference"), (qq,))


# ------------------------------------------------------------ 3. the temperature must invert in its precision


def test_infonce_temperature_must_invert_in_its_precision():
    q, k, queue = unit_rows(2, 4, 1), unit_rows(2, 4, 2), unit_rows(5, 4, 3)
    with pytest.raises(ValueError, match="temperature: 1/temperature overflows float32"):
        queue_infonce(q, k, queue, 1e-40)
    loss = queue_infonce(q.double(), k.double(), queue.double(), 1e-40, "reference")  # fine in float64
    assert loss.dtype == torch.float64


# ------------------------------------------------------------- 4. ties count for the positive, everywhere


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_ties_rank_alike_in_every_impl(dtype):
    N, K, D = 16, 300, 128
    q, k, queue = unit_rows(N, D, 1, dtype), unit_rows(N, D, 2, dtype), unit_rows(K, D, 3, dtype)
    queue[::7] = 0.0
    queue[: 2 * N: 2] = k  # every positive has an exact twin among the negatives, at odd places in the tiles
    ranks = {impl: queue_infonce(q, k, queue, 0.07, impl, return_stats=True, chunk_size=37).rank
             for impl in ("reference", "chunked", "fused", "attention")}
    for impl in ("chunked", "fused", "attention"):
        assert torch.equal(ranks["reference"], ranks[impl]), impl
    # The rule, evaluated in float64 on the differences (a twin's difference is exactly 0): a negative
    # outranks the positive by more than the tie tolerance of the arithmetic the impls used.
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    tolerance = tie_tolerance(D, 0.07, compute) * 0.07  # in units of the dot product
    q64, k64, queue64 = q.double(), k.double(), queue.double()
    exact = (q64 @ queue64.t() - (q64 * k64).sum(1, keepdim=True) > tolerance).sum(1)
    assert torch.equal(ranks["fused"], exact)  # the twin does not outrank its positive
    assert int(queue_infonce(q, k, k[:1].repeat(5, 1), 0.07, "fused", return_stats=True).rank[0]) == 0
