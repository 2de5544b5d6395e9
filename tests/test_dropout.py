"""mgclr.ops.dropout: the counter-RNG dropout against its NumPy-Philox reference (CPU, emulated CUDA), its
distribution against torch's, its gradient, and the ST-GCN's two dropout modules."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import requires_cuda
from torch import nn

from mgclr.models import STGCN
from mgclr.ops import Dropout, dropout
from mgclr.ops.dropout import dropout_drawn_op, dropout_op, dropout_threshold
from mgclr.ops.reference import dropout_reference

SEED = 0x1234_5678_9ABC_DEF0 & ((1 << 63) - 1)
# Odd sizes around the 64-element block (the vector path takes whole blocks, the portable one the tail).
SIZES = [1, 7, 63, 64, 65, 127, 1000, 64 * 33 + 5]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_cpu_matches_reference(n, dtype, p):
    x = torch.randn(n, dtype=dtype, generator=torch.Generator().manual_seed(n))
    assert torch.equal(dropout(x, p, seed=SEED), dropout_reference(x, p, SEED))


def test_reference_shapes_offsets_and_non_contiguous_inputs():
    x = torch.randn(6, 5, 7, 3)
    for offset in (0, 1, 2**32 - 1):
        assert torch.equal(dropout_op(x, 0.3, 99, offset), dropout_reference(x, 0.3, 99, offset))
    xt = x.transpose(1, 3)  # the mask follows the logical (row-major) element order
    assert not xt.is_contiguous()
    assert torch.equal(dropout(xt, 0.4, seed=5), dropout_reference(xt.contiguous(), 0.4, 5))
    assert not torch.equal(dropout_op(x, 0.5, 99, 0), dropout_op(x, 0.5, 99, 1))
    assert not torch.equal(dropout_op(x, 0.5, 99, 0), dropout_op(x, 0.5, 100, 0))


def test_vector_and_portable_paths_draw_the_same_mask():
    # float32 takes the AVX2 path on whole blocks where the CPU has it; float64 is always portable.
    x = torch.rand(64 * 101 + 9, dtype=torch.float64) + 0.5
    assert torch.equal(dropout(x, 0.5, seed=SEED) == 0, dropout(x.float(), 0.5, seed=SEED) == 0)


@pytest.mark.parametrize("n", [1, 65, 64 * 40 + 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_matches_cpu(cuda_target, n, dtype):
    x = torch.randn(n, dtype=dtype, generator=torch.Generator().manual_seed(n))
    expected = dropout(x, 0.3, seed=SEED)
    with cuda_target.running():
        got = dropout(cuda_target.to(x), 0.3, seed=SEED)
    cuda_target.synchronize()
    assert torch.equal(got.cpu(), expected)


def test_cuda_backward_is_the_same_mask(cuda_target):
    x = cuda_target.to(torch.randn(300)).requires_grad_()
    with cuda_target.running():
        y = dropout(x, 0.5, seed=7)
        y.backward(torch.ones_like(y))
    cuda_target.synchronize()
    assert torch.equal(x.grad.cpu(), dropout_reference(torch.ones(300), 0.5, 7))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_distribution_is_torchs(p):
    n = 1 << 20
    x = torch.full((n,), 3.0)
    y = dropout(x, p, seed=SEED + int(10 * p))
    keep = y != 0
    frac, sd = keep.double().mean().item(), math.sqrt(p * (1 - p) / n)
    assert abs(frac - (1 - p)) < 5 * sd
    assert torch.equal(y[keep], x[keep] * torch.tensor(1 / (1 - p), dtype=torch.float32))  # torch's 1/(1-p)
    # Neighbours inside a word, across words, lanes and blocks: no correlation between the decisions.
    k = keep.double() - (1 - p)
    for lag in (1, 4, 15, 16, 17, 63, 64, 65, 1024):
        corr = (k[:-lag] * k[lag:]).mean().item() / (p * (1 - p))
        assert abs(corr) < 5 / math.sqrt(n), (lag, corr)
    # Two seeds: independent masks.
    other = dropout(x, p, seed=SEED + 12345) != 0
    both = (keep & other).double().mean().item()
    assert abs(both - (1 - p) ** 2) < 5 * math.sqrt((1 - p) ** 2 * (1 - (1 - p) ** 2) / n)


def test_threshold():
    assert dropout_threshold(0.5) == 2**31
    assert dropout_threshold(1e-12) == 1  # never 0: 0 is the identity and never reaches a kernel
    assert dropout_threshold(1 - 1e-12) == 2**32 - 1


def test_gradient_is_the_same_mask_and_gradcheck():
    x = torch.randn(4, 70, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 70, dtype=torch.float64)
    (dropout(x, 0.3, seed=11) * w).sum().backward()
    assert torch.equal(x.grad, dropout_reference(w, 0.3, 11))
    assert torch.autograd.gradcheck(lambda t: dropout(t, 0.3, seed=11), (x.detach().requires_grad_(),))


def test_seed_from_torchs_generator():
    x = torch.randn(500)
    torch.manual_seed(3)
    a = dropout(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(a, dropout(x, 0.5))
    assert not torch.equal(a, dropout(x, 0.5))  # the next call draws a new seed
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert torch.equal(dropout(x, 0.5, generator=g1), dropout(x, 0.5, generator=g2))


def test_identity_zero_half_precision_and_nan():
    x = torch.randn(100)
    assert dropout(x, 0.5, training=False) is x and dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros(100))
    for dtype in (torch.float16, torch.bfloat16):
        xh = x.to(dtype)
        y = dropout(xh, 0.5, seed=4)
        assert y.dtype == dtype and torch.equal(y, dropout_reference(xh.float(), 0.5, 4).to(dtype))
    x[:64] = float("nan")
    y = dropout(x, 0.5, seed=1)
    assert torch.isnan(y[:64]).all()  # a dropped NaN stays NaN (x * 0), as in torch's dropout
    assert torch.equal(dropout(torch.empty(0, 3), 0.5, seed=1), torch.empty(0, 3))


def test_bits_independent_of_thread_count():
    x = torch.randn(64 * 500 + 31)
    n = torch.get_num_threads()
    a = dropout(x, 0.5, seed=SEED)
    try:
        torch.set_num_threads(1)
        b = dropout(x, 0.5, seed=SEED)
    finally:
        torch.set_num_threads(n)
    assert torch.equal(a, b)


def test_opcheck_and_compile():
    x = torch.randn(3, 50, requires_grad=True)
    torch.library.opcheck(dropout_op, (x, 0.5, 123, 4))
    torch.library.opcheck(dropout_op, (x.detach().double().requires_grad_(), 0.25, 5, 0))
    torch._dynamo.reset()

    @torch.compile(fullgraph=True, backend="aot_eager")
    def f(t):
        return dropout_op(t * 2.0, 0.5, 77, 0).sum()

    xc = x.detach().clone().requires_grad_()
    f(xc).backward()
    xe = x.detach().clone().requires_grad_()
    dropout_op(xe * 2.0, 0.5, 77, 0).sum().backward()
    assert torch.equal(xc.grad, xe.grad)


def test_compiled_dropout_draws_its_seed_in_the_graph():
    # No graph break per dropout (a host read of the seed broke the graph at each of ST-GCN's nine), the
    # distribution kept, and the backward masks with the forward's own draw.
    torch._dynamo.reset()
    model = nn.Sequential(nn.Linear(16, 16), Dropout(0.5), nn.ReLU(), Dropout(0.25), nn.Linear(16, 4))
    explained = torch._dynamo.explain(model)(torch.randn(8, 16))
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    f = torch.compile(lambda t: dropout(t, 0.3), fullgraph=True, backend="aot_eager")
    ones = torch.ones(2**16, requires_grad=True)
    out = f(ones)
    kept = float((out != 0).float().mean())
    assert abs(kept - 0.7) < 5 * math.sqrt(0.7 * 0.3 / 2**16)
    assert torch.allclose(out[out != 0], torch.full_like(out[out != 0], 1 / 0.7))
    out.sum().backward()
    assert torch.equal(ones.grad, out.detach())  # d(sum)/dx = the forward's mask and scale
    assert not torch.equal(f(ones), out)  # a new draw per call


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_compiled_dropout_on_a_gpu(dtype):
    # Inductor, a CUDA input and the seed tensor drawn on the CPU inside the graph; the backward's mask is the
    # forward's (this path has not run on a GPU yet: the GPU check runs it).
    torch._dynamo.reset()
    f = torch.compile(lambda t: dropout(t, 0.3), fullgraph=True)
    ones = torch.ones(2**16, device="cuda", dtype=dtype, requires_grad=True)
    out = f(ones)
    assert out.dtype == dtype and out.device.type == "cuda"
    assert abs(float((out != 0).float().mean()) - 0.7) < 5 * math.sqrt(0.7 * 0.3 / 2**16)
    out.float().sum().backward()
    assert torch.equal(ones.grad, out.detach())


def test_drawn_op_is_the_op_keyed_by_a_tensor_and_passes_opcheck():
    x = torch.randn(3, 50, requires_grad=True)
    drawn = torch.tensor([123, 4], dtype=torch.int64)
    torch.library.opcheck(dropout_drawn_op, (x, 0.5, drawn))
    assert torch.equal(dropout_drawn_op(x, 0.5, drawn), dropout_op(x, 0.5, 123, 4))


def test_drawn_op_with_a_bad_key_raises_through_the_dispatcher():  # named so: the ASan pass leaves it out
    with pytest.raises(ValueError, match=r"^drawn: expected a CPU int64 tensor of shape \(2,\)"):
        dropout_drawn_op(torch.randn(3, 50), 0.5, torch.tensor([123.0, 4.0]))


def test_bad_inputs():
    x = torch.randn(10)
    with pytest.raises(ValueError, match=r"^p: expected a value <= 1.0, got 1.5$"):
        dropout(x, 1.5)
    with pytest.raises(TypeError, match=r"^p: expected a number, got str"):
        dropout(x, "0.5")
    with pytest.raises(TypeError, match=r"^x: expected dtype in .*got int64$"):
        dropout(torch.arange(4), 0.5)
    with pytest.raises(TypeError, match=r"^x: expected a torch.Tensor"):
        dropout([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match=r"^seed: expected 0 <= seed < 2\*\*63, got -1$"):
        dropout(x, 0.5, seed=-1)


def test_op_called_directly_raises_through_the_dispatcher():
    # torch.ops.mgclr.dropout has its own checks: no float32 read of another dtype, no p without a threshold.
    # (Not in .ci/run's AddressSanitizer pass: an exception crossing torch's dispatcher trips ASan's
    # __cxa_throw interceptor in torch's uninstrumented library.)
    x = torch.randn(10)
    with pytest.raises(TypeError, match=r"^x: expected dtype in \(float32, float64\), got float16$"):
        dropout_op(x.half(), 0.5, 1, 0)
    for p in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"^p: expected a value "):
            dropout_op(x, p, 1, 0)


def test_module_is_an_nn_dropout():
    m = Dropout(0.5)
    assert isinstance(m, nn.Dropout) and m.p == 0.5
    x = torch.randn(200)
    assert m.eval()(x) is x
    torch.manual_seed(0)
    y = m.train()(x)
    assert 60 < int((y == 0).sum()) < 140


def test_stgcn_dropout_impls():
    x = torch.randn(2, 3, 12, 25, 2)
    ours = STGCN("ntu25", hidden_channels=4, hidden_dim=8, dropout=0.5)
    theirs = STGCN("ntu25", hidden_channels=4, hidden_dim=8, dropout=0.5, dropout_impl="torch")
    theirs.load_state_dict(ours.state_dict())  # dropout holds no state: the same weights
    assert isinstance(ours.blocks[3].tcn[4], Dropout) and type(theirs.blocks[3].tcn[4]) is nn.Dropout
    assert theirs.blocks[3].tcn[4].inplace and ours.blocks[0].tcn[4].p == 0.0
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))  # eval: no dropout, the same function
    torch.manual_seed(1)
    a = ours.train()(x)
    torch.manual_seed(1)
    assert torch.equal(a, ours(x))  # reproducible from torch's seed
    with pytest.raises(ValueError, match=r"^dropout_impl: expected one of \('mgclr', 'torch'\), got 'fast'$"):
        STGCN("ntu25", dropout=0.5, dropout_impl="fast")
