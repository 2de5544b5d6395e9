"""Queue InfoNCE: fused and chunked against the eager reference, gradients, determinism, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import mgclr
from mgclr.ops import queue_infonce
from mgclr.ops.infonce import QueueInfoNCEStats, tie_tolerance
from mgclr.ops.reference import queue_infonce_reference

pytest.importorskip("mgclr._C", reason="mgclr's extension is not built")

TAUS = (0.01, 0.07, 1.0)
# (N, K, D): N=1, K=1, D and K off the 64-row tile and the chunk size used below, a 4-row micro-kernel tail.
SIZES = ((1, 1, 3), (1, 70, 16), (5, 1, 33), (7, 129, 130), (33, 200, 64), (64, 1000, 128))


def make(N, K, D, *, seed=0, dtype=torch.float32, device="cpu", noise=0.3):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(N, D, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(q + noise * torch.randn(N, D, generator=g, dtype=torch.float64), dim=1)
    queue = F.normalize(torch.randn(K, D, generator=g, dtype=torch.float64), dim=1)
    return tuple(t.to(device=device, dtype=dtype) for t in (q, k, queue))


def run(impl, q, k, queue, tau, grad_out, **kw):
    qq = q.clone().requires_grad_()
    st = queue_infonce(qq, k, queue, tau, impl, return_stats=True, **kw)
    st.per_sample.backward(grad_out)
    return st, qq.grad


def tolerances(tau):
    # Logits are dots / tau: fp32 rounding of the logits scales with 1/tau, and dq carries another 1/tau.
    return dict(rtol=1e-4, atol=2e-6 / tau), dict(rtol=1e-4, atol=4e-6 / tau**2)


@pytest.mark.parametrize("impl", ["fused", "chunked", "attention"])
@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("size", SIZES)
def test_matches_reference(impl, tau, size):
    N, K, D = size
    q, k, queue = make(N, K, D, seed=N * 1000 + K)
    grad_out = torch.randn(N, generator=torch.Generator().manual_seed(1))
    ref, ref_dq = run("reference", q, k, queue, tau, grad_out)
    out, dq = run(impl, q, k, queue, tau, grad_out, chunk_size=50)
    loss_tol, dq_tol = tolerances(tau)
    torch.testing.assert_close(out.per_sample, ref.per_sample, **loss_tol)
    torch.testing.assert_close(out.loss, ref.loss, **loss_tol)
    torch.testing.assert_close(dq, ref_dq, **dq_tol)
    assert torch.equal(out.rank, ref.rank)
    assert out.top1.item() == pytest.approx(ref.top1.item())
    assert out.top5.item() == pytest.approx(ref.top5.item())


def test_stats_accuracy_meaning():
    # k == q and an orthogonal-ish queue: every positive ranks first; k opposite to q: ranks last.
    q, _, queue = make(16, 300, 32, seed=3)
    st = queue_infonce(q, q, queue, 0.07, "fused", return_stats=True)
    assert isinstance(st, QueueInfoNCEStats)
    assert st.top1.item() == 1.0 and st.top5.item() == 1.0 and int(st.rank.max()) == 0
    st = queue_infonce(q, -q, queue, 0.07, "fused", return_stats=True)
    assert st.top1.item() == 0.0 and st.top5.item() == 0.0
    # Rank 2 or 3 is top-5 but not top-1.
    queue2 = torch.cat([q[:1] * 1.0, q[:1] * 1.0 + 0.0, queue[:5]], 0)
    queue2[0] = F.normalize(q[0] + 0.01 * queue[0], dim=0)
    k = F.normalize(q[:1] + 0.2 * queue[:1], dim=1)
    st = queue_infonce(q[:1], k, queue2, 0.07, "fused", return_stats=True)
    ref = queue_infonce(q[:1], k, queue2, 0.07, "reference", return_stats=True)
    assert int(st.rank[0]) == int(ref.rank[0]) == 2
    assert st.top1.item() == 0.0 and st.top5.item() == 1.0


@pytest.mark.parametrize("impl", ["fused", "chunked", "attention"])
@pytest.mark.parametrize("tau", (0.05, 1.0))
def test_gradcheck_float64(impl, tau):
    q, k, queue = make(3, 37, 5, seed=5, dtype=torch.float64)
    q.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: queue_infonce(x, k, queue, tau, impl, chunk_size=8), (q,))
    assert torch.autograd.gradcheck(
        lambda x: queue_infonce(x, k, queue, tau, impl, return_stats=True, chunk_size=8).per_sample, (q,))


def test_float64_matches_reference_tightly():
    q, k, queue = make(9, 150, 20, seed=6, dtype=torch.float64)
    g = torch.randn(9, dtype=torch.float64)
    ref, ref_dq = run("reference", q, k, queue, 0.07, g)
    for impl in ("fused", "chunked", "attention"):
        out, dq = run(impl, q, k, queue, 0.07, g, chunk_size=64)
        torch.testing.assert_close(out.per_sample, ref.per_sample, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(dq, ref_dq, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("impl", ["fused", "attention"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_inputs_upcast(dtype, impl):
    q, k, queue = make(8, 100, 32, seed=7, dtype=dtype)
    qq = q.clone().requires_grad_()
    loss = queue_infonce(qq, k, queue, 0.07, impl)
    loss.backward()
    ref = queue_infonce(q.float(), k.float(), queue.float(), 0.07, "reference")
    assert loss.dtype == torch.float32 and qq.grad.dtype == dtype
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["fused", "chunked", "reference", "attention"])
def test_extreme_logits_finite(impl):
    # tau = 0.01 with unit vectors gives |logits| up to 100; scaling the queue up gives far larger ones.
    q, k, queue = make(6, 90, 16, seed=8)
    for tau, scale in ((0.01, 1.0), (0.01, 50.0), (1e-3, 1.0)):
        qq = q.clone().requires_grad_()
        st = queue_infonce(qq, k, queue * scale, tau, impl, return_stats=True, chunk_size=32)
        st.loss.backward()
        assert torch.isfinite(st.per_sample).all() and torch.isfinite(qq.grad).all()
        assert (st.per_sample >= -1e-3).all()


def test_determinism_bitwise():
    q, k, queue = make(70, 2000, 128, seed=9)
    g = torch.randn(70)
    for impl in ("fused", "chunked", "attention"):
        a, da = run(impl, q, k, queue, 0.07, g)
        b, db = run(impl, q, k, queue, 0.07, g)
        assert torch.equal(a.per_sample, b.per_sample) and torch.equal(da, db)


def test_fused_bits_independent_of_thread_count():
    q, k, queue = make(50, 300, 40, seed=10)
    n = torch.get_num_threads()
    from mgclr import _ext

    def once():
        loss = torch.empty(50)
        lse = torch.empty(50)
        rank = torch.empty(50, dtype=torch.int64)
        dq = torch.empty(50, 40)
        _ext.native().infonce_fused_cpu(q.data_ptr(), k.data_ptr(), queue.data_ptr(), 50, 300, 40, 0.07,
                                        tie_tolerance(40, 0.07, torch.float32), loss.data_ptr(), lse.data_ptr(),
                                        rank.data_ptr(), dq.data_ptr(), False)
        return loss, dq

    a = once()
    try:
        torch.set_num_threads(1)
        b = once()
    finally:
        torch.set_num_threads(n)
    # Same per-row operation sequence whatever the partition (the torch setting may or may not reach the
    # extension's OpenMP runtime; either way the bits must agree).
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_auto_picks_the_fast_kernel_of_this_cpu():
    from mgclr import _ext
    from mgclr.ops import infonce

    fast = _ext.native().infonce_fused_cpu_fast()
    small = "fused" if fast else "chunked"  # the portable fused loop loses to matmul chunks
    q, k, queue = make(4, 10, 8)
    assert torch.equal(queue_infonce(q, k, queue, 0.1), queue_infonce(q, k, queue, 0.1, small))
    cpu = torch.device("cpu")
    # The measured crossovers (RESULTS.md): attention from 64 x 1024 for the loss, 128 x 4096 with stats.
    assert infonce._resolve_impl("auto", cpu, 64, 1024, 128, with_stats=False) == "attention"
    assert infonce._resolve_impl("auto", cpu, 32, 1024, 128, with_stats=False) == small
    assert infonce._resolve_impl("auto", cpu, 128, 4096, 128, with_stats=True) == "attention"
    assert infonce._resolve_impl("auto", cpu, 64, 4096, 128, with_stats=True) == small
    assert infonce._resolve_impl("auto", cpu, 256, 16384, 128) == "attention"  # MoCo's shape
    q, k, queue = make(256, 4096, 16)
    assert torch.equal(queue_infonce(q, k, queue, 0.1), queue_infonce(q, k, queue, 0.1, "attention"))


def test_opcheck():
    q, k, queue = make(5, 70, 16, seed=11)
    q.requires_grad_()
    torch.library.opcheck(torch.ops.mgclr.queue_infonce_fused.default, (q, k, queue, 0.07, False))
    torch.library.opcheck(torch.ops.mgclr.queue_infonce_chunked.default, (q, k, queue, 0.07, 32))
    for with_rank in (False, True):
        torch.library.opcheck(torch.ops.mgclr.queue_infonce_attention.default, (q, k, queue, 0.07, with_rank, 32))
    q64, k64, queue64 = make(3, 9, 4, dtype=torch.float64)
    q64.requires_grad_()
    torch.library.opcheck(torch.ops.mgclr.queue_infonce_fused.default, (q64, k64, queue64, 0.5, False))


@pytest.mark.parametrize("impl", ["fused", "attention"])
def test_torch_compile_fullgraph_cpu(impl):
    q, k, queue = make(12, 300, 32, seed=12)
    torch._dynamo.reset()

    @torch.compile(fullgraph=True, backend="aot_eager")
    def step(x, kk, qu):
        st = queue_infonce(x, kk, qu, 0.07, impl, return_stats=True)
        return st.loss * 2.0, st.top1

    qq = q.clone().requires_grad_()
    loss, top1 = step(qq, k, queue)
    loss.backward()
    qr = q.clone().requires_grad_()
    ref = queue_infonce(qr, k, queue, 0.07, "reference") * 2.0
    ref.backward()
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(qq.grad, qr.grad, rtol=1e-4, atol=1e-5)


def test_reference_function_directly():
    q, k, queue = make(4, 6, 3, seed=13)
    per, rank = queue_infonce_reference(q, k, queue, 0.5)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], 1) / 0.5
    torch.testing.assert_close(per, torch.logsumexp(logits, 1) - logits[:, 0])
    assert torch.equal(rank, (logits[:, 1:] > logits[:, :1]).sum(1))


# ---------------------------------------------------------------------------------------- errors ----


def test_bad_inputs():
    q, k, queue = make(4, 10, 8)
    with pytest.raises(ValueError, match=r"k: expected shape \(N, D\) = \(4, 8\).*\(3, 8\)"):
        queue_infonce(q, k[:3], queue, 0.1)
    with pytest.raises(ValueError, match=r"k: expected shape .*\(4, 7\)"):
        queue_infonce(q, k[:, :7], queue, 0.1)
    with pytest.raises(ValueError, match=r"queue: expected shape \(K, D\) with D = 8.*\(10, 5\)"):
        queue_infonce(q, k, queue[:, :5], 0.1)
    with pytest.raises(ValueError, match=r"queue: expected K >= 1 rows, got shape \(0, 8\)"):
        queue_infonce(q, k, queue[:0], 0.1)
    with pytest.raises(ValueError, match=r"q: expected a 2-D tensor"):
        queue_infonce(q[0], k, queue, 0.1)
    with pytest.raises(ValueError, match=r"q: expected shape \(N, D\) with N >= 1"):
        queue_infonce(q[:0], k[:0], queue, 0.1)
    for tau in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            queue_infonce(q, k, queue, tau)
    with pytest.raises(TypeError, match="temperature"):
        queue_infonce(q, k, queue, torch.tensor(0.1))
    with pytest.raises(TypeError, match=r"queue: expected dtype float32 \(the dtype of q\), got float64"):
        queue_infonce(q, k, queue.double(), 0.1)
    with pytest.raises(TypeError, match=r"k: expected dtype in"):
        queue_infonce(q, k.long(), queue, 0.1)
    with pytest.raises(TypeError, match=r"q: expected a torch.Tensor"):
        queue_infonce(q.numpy(), k, queue, 0.1)
    with pytest.raises(ValueError, match="impl"):
        queue_infonce(q, k, queue, 0.1, "flash")
    with pytest.raises(ValueError, match="queue: expected a tensor on cpu"):
        queue_infonce(q, k, queue.to("meta"), 0.1)
    bad = q.clone()
    bad[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"q: expected finite values, got 1 NaN/inf"):
        queue_infonce(bad, k, queue, 0.1, check_finite=True)
    badq = queue.clone()
    badq[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"queue: expected finite values"):
        queue_infonce(q, k, badq, 0.1, check_finite=True)


# ------------------------------------------------------------------------------------------ CUDA ----

needs_cuda = pytest.mark.skipif(not mgclr.cuda_available(),
                                reason="no usable GPU, or mgclr built without its CUDA kernels")


def on(target, impl, q, k, queue, tau, g, **kw):
    """``run`` on a CUDA target (conftest.CUDA_TARGETS): a real GPU, or the emulated CUDA kernels."""
    with target.running():
        return run(impl, target.to(q), target.to(k), target.to(queue), tau, target.to(g), **kw)


GPU_SIZE = (256, 16384, 128)  # MoCo's own shape: 1 G scalar FMAs, too slow for the emulation
MANY_SPLITS = (20, 6000, 16)  # 24 K-slices merged by the combine kernel, cheap enough to emulate


@pytest.mark.parametrize("impl", ["fused", "chunked"])
@pytest.mark.parametrize("size", SIZES + (MANY_SPLITS, GPU_SIZE))
def test_cuda_matches_cpu(cuda_target, impl, size):
    if cuda_target.emulated and size == GPU_SIZE:
        pytest.skip("emulation: MoCo's (256, 16384, 128) runs on a real GPU; MANY_SPLITS covers the split merge")
    N, K, D = size
    q, k, queue = make(N, K, D, seed=21)
    g = torch.randn(N)
    cpu, cpu_dq = run("reference", q, k, queue, 0.07, g)
    out, dq = on(cuda_target, impl, q, k, queue, 0.07, g, chunk_size=50)
    loss_tol, dq_tol = tolerances(0.07)
    torch.testing.assert_close(out.per_sample.cpu(), cpu.per_sample, **loss_tol)
    torch.testing.assert_close(dq.cpu(), cpu_dq, **dq_tol)
    assert (out.rank.cpu() != cpu.rank).sum() <= max(1, N // 100)


@pytest.mark.parametrize("tf32", [False, True])
def test_cuda_fused_deterministic(cuda_target, tf32):
    q, k, queue = make(300, 5000, 128, seed=22)
    g = torch.randn(300)
    a, da = on(cuda_target, "fused", q, k, queue, 0.07, g, tf32=tf32)
    b, db = on(cuda_target, "fused", q, k, queue, 0.07, g, tf32=tf32)
    assert torch.equal(a.per_sample, b.per_sample) and torch.equal(da, db)
    if tf32:
        ref, ref_dq = run("reference", q, k, queue, 0.07, g)
        torch.testing.assert_close(a.per_sample.cpu(), ref.per_sample, rtol=2e-2, atol=2e-2)


def test_cuda_float64_gradcheck(cuda_target):
    q, k, queue = (cuda_target.to(t) for t in make(3, 37, 5, seed=23, dtype=torch.float64))
    q.requires_grad_()
    with cuda_target.running():
        assert torch.autograd.gradcheck(lambda x: queue_infonce(x, k, queue, 0.1, "fused"), (q,))


# ----------------------------------------------------------------------- impl="attention" specifics ----


def test_attention_uses_the_torch_kernel_here():
    from mgclr.ops.attention_backend import attention_kernel

    found = attention_kernel(torch.device("cpu"), torch.float32, 64)
    assert found is not None and found[0] == "aten._scaled_dot_product_flash_attention_for_cpu"
    assert attention_kernel(torch.device("cpu"), torch.float64, 20) is not None


def test_attention_probe_rejects_a_wrong_kernel_and_falls_back(monkeypatch):
    # A kernel returning log2-sum-exp (a plausible convention change in a private op) must not be used:
    # the probe rejects it, impl="attention" warns and computes by the chunked path, the numbers stay right.
    from mgclr.ops import attention_backend, infonce

    def log2_lse(q, queue, scale):
        out, lse = attention_backend._cpu_flash(q, queue, scale)
        return out, lse / torch.log(torch.tensor(2.0, dtype=lse.dtype))

    monkeypatch.setattr(attention_backend, "_candidates", lambda *a: [("wrong", log2_lse)])
    attention_backend._probe.cache_clear()
    monkeypatch.setattr(infonce, "_warned_no_attention", set())
    try:
        q, k, queue = make(9, 80, 24, seed=31)
        assert attention_backend.attention_kernel(q.device, q.dtype, 24) is None
        g = torch.randn(9)
        ref, ref_dq = run("reference", q, k, queue, 0.07, g)
        with pytest.warns(RuntimeWarning, match=r"impl='attention'.*no attention kernel.*using impl='chunked'"):
            out, dq = run("attention", q, k, queue, 0.07, g)
        loss_tol, dq_tol = tolerances(0.07)
        torch.testing.assert_close(out.per_sample, ref.per_sample, **loss_tol)
        torch.testing.assert_close(dq, ref_dq, **dq_tol)
        assert torch.equal(out.rank, ref.rank)
    finally:
        attention_backend._probe.cache_clear()


def test_attention_without_stats_skips_the_rank_pass(monkeypatch):
    # The loss alone is one attention pass: the extra pass of logits for the rank runs only for stats.
    from mgclr.ops import infonce

    calls = []
    real = infonce._count_above
    monkeypatch.setattr(infonce, "_count_above", lambda *a: calls.append(1) or real(*a))
    q, k, queue = make(6, 90, 16, seed=32)
    loss = queue_infonce(q, k, queue, 0.1, "attention")
    assert calls == []
    st = queue_infonce(q, k, queue, 0.1, "attention", return_stats=True)
    assert calls == [1] and torch.equal(st.loss, loss)


# ------------------------------------------------------ where the CUDA fused kernel can launch, auto ----


def test_cuda_fused_shared_memory_limits():
    from mgclr.ops.infonce import cuda_fused_fits, cuda_fused_shared_bytes

    sm80, sm90 = 166912, 232448  # cudaDevAttrMaxSharedMemoryPerBlockOptin of an A100 and an H100/H200
    assert cuda_fused_fits(210, torch.float64, False, sm80) and not cuda_fused_fits(211, torch.float64, False, sm80)
    assert cuda_fused_fits(295, torch.float64, False, sm90) and not cuda_fused_fits(296, torch.float64, False, sm90)
    assert cuda_fused_fits(427, torch.float32, False, sm80) and not cuda_fused_fits(428, torch.float32, False, sm80)
    # Past 48 KiB the launcher must opt in (cudaFuncSetAttribute): float32 from D = 121 (MoCo's D = 128 is
    # past it), float64 from D = 57.
    assert cuda_fused_shared_bytes(120, torch.float32) <= 48 * 1024 < cuda_fused_shared_bytes(121, torch.float32)
    assert cuda_fused_shared_bytes(56, torch.float64) <= 48 * 1024 < cuda_fused_shared_bytes(57, torch.float64)
    # TF32 pads D to the accumulate's 16-column MMA tiles.
    assert cuda_fused_shared_bytes(33, torch.float32, tf32=True) == cuda_fused_shared_bytes(48, torch.float32, True)


def test_cuda_fused_launch_geometry_is_the_extensions():
    # One source: csrc/core/infonce_launch.h, exported by every build (CPU-only too) and, where built, by the
    # emulation module; Python's shared-memory arithmetic gives the launcher's bytes at every width.
    from mgclr import _ext
    from mgclr.ops import infonce

    C = _ext.native()
    launch, raw = infonce.cuda_fused_launch(), C.infonce_launch()
    assert launch == {**raw, "row_state_bytes": dict(raw["row_state_bytes"])}
    assert launch["tile_buffers"] == 2 and launch["threads"] % 32 == 0
    if _ext.emulation_built():
        import mgclr._C_emu as emu

        assert emu.infonce_launch() == C.infonce_launch()
    for D in [*range(1, 300), 384, 427, 428, 512, 1000, 4096]:
        for dtype, dbl in ((torch.float32, False), (torch.float64, True)):
            for tf32 in (False, True):
                assert infonce.cuda_fused_shared_bytes(D, dtype, tf32) == C.infonce_fused_shared_bytes(D, dbl, tf32), \
                    (D, dtype, tf32)
    # The split count stays within the combine kernel's limit and uses its row blocks.
    assert infonce._cuda_splits(1, 10**7, 10**4) == launch["max_splits"]
    assert infonce._cuda_splits(launch["block_rows"] * 264, 16384, 132) == 1


def test_auto_thresholds_come_from_the_policy_file():
    # Every measured threshold of auto lives in mgclr/ops/auto_policy.json, with what it switches, where and how
    # it was measured and the command that measures it again; the code holds the file's values.
    import json
    import shlex
    from pathlib import Path

    from mgclr.ops import auto_policy, infonce, queue_losses

    raw = json.loads(auto_policy.POLICY_FILE.read_text())["thresholds"]
    assert set(raw) == set(auto_policy.THRESHOLDS)
    assert infonce.CPU_ATTENTION_MIN_NK_LOSS == raw["infonce_cpu_attention_min_nk_loss"]["value"]
    assert infonce.CPU_ATTENTION_MIN_NK_STATS == raw["infonce_cpu_attention_min_nk_stats"]["value"]
    assert queue_losses.AIMCLR_SINGLE_PASS_MAX_NK == raw["aimclr_single_pass_max_nk"]["value"]
    root = Path(__file__).resolve().parents[1]
    for name, entry in auto_policy.THRESHOLDS.items():
        assert entry.value > 0 and all((entry.switches, entry.measured_on, entry.measurement, entry.results)), name
        module, attr = entry.code.rsplit(".", 1)
        assert getattr(__import__(module, fromlist=[attr]), attr) == entry.value, name
        argv = shlex.split(entry.benchmark)
        assert argv[0] == "python" and argv[1].startswith("benchmarks/") and "--compare-policy" in argv, name
        script = root / argv[1]
        if script.exists():  # a source checkout
            assert "--compare-policy" in script.read_text(), name


@pytest.mark.parametrize("D, dtype, optin, expected", [
    (128, torch.float32, 166912, "attention"),   # a dtype PyTorch's attention kernels take
    (100, torch.float64, 166912, "fused"),
    (210, torch.float64, 166912, "fused"),
    (211, torch.float64, 166912, "chunked"),     # finding 2: fused cannot launch there on sm_80
    (295, torch.float64, 232448, "fused"),
    (296, torch.float64, 232448, "chunked"),
])
def test_auto_on_cuda_never_picks_a_kernel_that_cannot_launch(monkeypatch, D, dtype, optin, expected):
    from mgclr import _ext
    from mgclr.ops import infonce

    monkeypatch.setattr(_ext, "cuda_compiled", lambda: True)
    monkeypatch.setattr(_ext, "cuda_device_coverage", lambda index=None: _ext.Coverage("native", "sm_80"))
    monkeypatch.setattr(infonce, "_cuda_shared_optin", lambda device: optin)
    assert infonce._resolve_impl("auto", torch.device("cuda", 0), 256, 16384, D, dtype) == expected
    monkeypatch.setattr(infonce, "_attention_available", lambda device, dtype: False)
    fallback = infonce._resolve_impl("auto", torch.device("cuda", 0), 256, 16384, D, dtype)
    assert fallback == ("fused" if infonce.cuda_fused_fits(D, dtype, False, optin) else "chunked")
    # A GPU that no built kernel covers (e.g. sm_70 with the default architectures): the reference, never
    # a launch that fails.
    monkeypatch.setattr(_ext, "cuda_device_coverage", lambda index=None: _ext.Coverage("none", None))
    assert infonce._resolve_impl("auto", torch.device("cuda", 0), 256, 16384, D, dtype) == "reference"


@pytest.mark.parametrize("size, dtype, tf32", [
    ((33, 200, 256), torch.float32, False),   # > 48 KiB of shared memory: the cudaFuncSetAttribute branch
    ((33, 200, 384), torch.float32, False),
    ((17, 150, 100), torch.float64, False),
    ((33, 200, 33), torch.float32, True),     # TF32 at D not a multiple of 8 (nor of 16)
    ((20, 300, 128), torch.float32, True),    # TF32 at MoCo's D, several tiles and slabs per warp
])
def test_cuda_fused_large_shared_memory_and_tf32_paths(cuda_target, size, dtype, tf32):
    N, K, D = size
    q, k, queue = make(N, K, D, seed=24, dtype=dtype)
    g = torch.randn(N, dtype=dtype)
    ref, ref_dq = run("reference", q, k, queue, 0.07, g)
    out, dq = on(cuda_target, "fused", q, k, queue, 0.07, g, tf32=tf32)
    loss_tol, dq_tol = tolerances(0.07)
    if tf32:  # inputs rounded to 10 mantissa bits
        loss_tol, dq_tol = dict(rtol=2e-2, atol=2e-2), dict(rtol=5e-2, atol=5e-2)
    torch.testing.assert_close(out.per_sample.cpu(), ref.per_sample, **loss_tol)
    torch.testing.assert_close(dq.cpu(), ref_dq, **dq_tol)


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("size", SIZES + ((256, 16384, 128),))
def test_cuda_attention_matches_cpu(size, dtype):
    from mgclr.ops.attention_backend import attention_kernel

    N, K, D = size
    q, k, queue = make(N, K, D, seed=25, dtype=dtype)
    g = torch.randn(N)
    ref, ref_dq = run("reference", q.float(), k.float(), queue.float(), 0.07, g)
    out, dq = run("attention", q.cuda(), k.cuda(), queue.cuda(), 0.07, g.cuda())
    assert attention_kernel(torch.device("cuda", torch.cuda.current_device()), dtype, D) is not None, \
        "no CUDA attention kernel passed the probe: auto would fall back to chunked"
    loss_tol, dq_tol = tolerances(0.07)
    if dtype != torch.float32:  # the kernel rounds the probabilities to the half type before P·V
        loss_tol, dq_tol = dict(rtol=1e-2, atol=1e-2), dict(rtol=5e-2, atol=5e-2)
    torch.testing.assert_close(out.per_sample.cpu(), ref.per_sample, **loss_tol)
    torch.testing.assert_close(dq.float().cpu(), ref_dq, **dq_tol)
    assert (out.rank.cpu() != ref.rank).sum() <= max(1, N // 100)  # GPU and CPU matmuls round differently
