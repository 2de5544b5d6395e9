"""MoCoQueue: ring-buffer enqueue for any batch size, resize, state_dict, DDP equality, snapshots."""

from __future__ import annotations

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from conftest import file_rendezvous

from mgclr.models import MoCoQueue
from mgclr.ops import queue_infonce
from mgclr.ops.infonce import queue_enqueue_

K, D = 11, 4


def model_enqueue(state, ptr, keys):
    """Slot-by-slot oracle: write every key in turn."""
    state = state.clone()
    for row in keys:
        state[ptr] = row
        ptr = (ptr + 1) % state.shape[0]
    return state, ptr


@pytest.mark.parametrize("n", [1, 7, K - 1, K, K + 3, 3 * K + 2])
def test_wraparound_any_batch(n):
    mq = MoCoQueue(K, D, generator=torch.Generator().manual_seed(0))
    expected, ptr = mq.queue.clone(), 0
    g = torch.Generator().manual_seed(n)
    for _ in range(4):  # several calls so the pointer starts at varied slots
        keys = torch.randn(n, D, generator=g)
        mq.enqueue(keys)
        expected, ptr = model_enqueue(expected, ptr, keys)
        assert torch.equal(mq.queue, expected)
        assert int(mq.ptr) == ptr == (int(mq.ptr))


def test_pointer_arithmetic_and_empty_batch():
    mq = MoCoQueue(K, D)
    mq.enqueue(torch.zeros(0, D))
    assert int(mq.ptr) == 0
    total = 0
    for n in (3, 5, 9, 1, 11, 20):
        mq.enqueue(torch.randn(n, D))
        total += n
        assert int(mq.ptr) == total % K
    assert mq.ptr.dtype == torch.int64 and mq.ptr.dim() == 0


def test_init_unit_rows_and_generator():
    a = MoCoQueue(64, 16, generator=torch.Generator().manual_seed(3))
    b = MoCoQueue(64, 16, generator=torch.Generator().manual_seed(3))
    c = MoCoQueue(64, 16, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(a.queue.norm(dim=1), torch.ones(64))
    assert torch.equal(a.queue, b.queue) and not torch.equal(a.queue, c.queue)


def test_resize_keeps_newest():
    mq = MoCoQueue(5, 2, generator=torch.Generator().manual_seed(0))
    mq.enqueue(torch.arange(14.0).view(7, 2))  # rows 0..6 written; newest five are keys 2..6
    mq.resize(3)
    assert torch.equal(mq.queue, torch.tensor([[8.0, 9.0], [10.0, 11.0], [12.0, 13.0]]))
    assert int(mq.ptr) == 0
    mq.enqueue(torch.full((1, 2), -1.0))  # overwrites the oldest
    assert torch.equal(mq.queue[0], torch.tensor([-1.0, -1.0]))
    mq.resize(6, generator=torch.Generator().manual_seed(1))
    assert mq.size == 6 and int(mq.ptr) == 0
    # Newest last, in age order: 10,11 / 12,13 / -1,-1 after three fresh unit rows.
    assert torch.equal(mq.queue[3:], torch.tensor([[10.0, 11.0], [12.0, 13.0], [-1.0, -1.0]]))
    torch.testing.assert_close(mq.queue[:3].norm(dim=1), torch.ones(3))


def test_state_dict_round_trip():
    mq = MoCoQueue(K, D, generator=torch.Generator().manual_seed(0))
    mq.enqueue(torch.randn(5, D))
    sd = mq.state_dict()
    assert set(sd) == {"queue", "ptr"}
    other = MoCoQueue(K, D, generator=torch.Generator().manual_seed(9))
    other.load_state_dict(sd)
    assert torch.equal(other.queue, mq.queue) and int(other.ptr) == 5
    resized = MoCoQueue(3, D)
    resized.load_state_dict(sd)
    assert resized.size == K and torch.equal(resized.queue, mq.queue)
    keys = torch.randn(4, D)
    mq.enqueue(keys)
    other.enqueue(keys)
    assert torch.equal(other.queue, mq.queue) and int(other.ptr) == int(mq.ptr)


@pytest.mark.parametrize("impl", ["reference", "chunked", "fused"])
def test_snapshot_semantics(impl):
    g = torch.Generator().manual_seed(5)
    mq = MoCoQueue(50, 16, generator=g)
    q = F.normalize(torch.randn(6, 16, generator=g), dim=1)
    k = F.normalize(torch.randn(6, 16, generator=g), dim=1)

    def loss_and_grad(enqueue_between):
        qq = q.clone().requires_grad_()
        loss = mq(qq, k, 0.07, impl=impl)
        value = loss.detach().clone()
        if enqueue_between:
            mq.enqueue(F.normalize(torch.randn(30, 16, generator=g), dim=1))
        loss.backward()
        return value, loss.detach(), qq.grad

    before = mq.queue.clone()
    v0, l0, g0 = loss_and_grad(False)
    v1, l1, g1 = loss_and_grad(True)
    assert not torch.equal(mq.queue, before)
    assert torch.equal(v0, v1) and torch.equal(l1, v1)
    assert torch.equal(g0, g1)
    after = queue_infonce(q, k, mq.queue, 0.07, impl)
    assert not torch.allclose(after, v1)


def test_enqueue_op_opcheck_and_compile():
    queue = torch.randn(K, D)
    ptr = torch.tensor(4, dtype=torch.int64)
    torch.library.opcheck(torch.ops.mgclr.queue_enqueue_.default, (queue, ptr, torch.randn(7, D)))

    mq = MoCoQueue(K, D, generator=torch.Generator().manual_seed(0))
    ref = MoCoQueue(K, D, generator=torch.Generator().manual_seed(0))
    torch._dynamo.reset()
    fn = torch.compile(lambda qu, p, x: queue_enqueue_(qu, p, x), fullgraph=True, backend="aot_eager")
    for n in (3, 12):
        keys = torch.randn(n, D)
        fn(mq.queue, mq.ptr, keys)
        ref.enqueue(keys)
    assert torch.equal(mq.queue, ref.queue) and int(mq.ptr) == int(ref.ptr)


@pytest.mark.parametrize("start", [0, 5, K - 3])
@pytest.mark.parametrize("n", [0, 1, 7, K - 1, K, K + 5, 3 * K + 2])
def test_the_eager_enqueue_writes_what_the_op_writes(start, n):
    """MoCoQueue's eager path (slices on CPU, no dispatcher) against the torch.library op: wrap-around, more keys
    than slots, another dtype, and keys that require grad (written as values)."""
    from mgclr.ops.infonce import enqueue_

    g = torch.Generator().manual_seed(n * 31 + start)
    base = torch.randn(K, D, generator=g)
    keys = torch.randn(n, D, generator=g, dtype=torch.float64).requires_grad_()
    a, b = base.clone(), base.clone()
    pa, pb = torch.tensor(start), torch.tensor(start)
    queue_enqueue_(a, pa, keys.detach())
    enqueue_(b, pb, keys)
    assert torch.equal(a, b) and int(pa) == int(pb) == (start + n) % K and not b.requires_grad
    with pytest.raises(ValueError, match="keys: expected a floating"):
        enqueue_(b, pb, torch.zeros(2, D + 1))


def test_bad_inputs():
    mq = MoCoQueue(K, D)
    with pytest.raises(ValueError, match=r"keys: expected shape \(n, dim\) with dim = 4, got \(2, 5\)"):
        mq.enqueue(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"keys: expected a 2-D tensor"):
        mq.enqueue(torch.randn(4))
    with pytest.raises(TypeError, match=r"keys: expected dtype in"):
        mq.enqueue(torch.ones(2, D, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"keys: expected a tensor on cpu"):
        mq.enqueue(torch.randn(2, D, device="meta"))
    with pytest.raises(ValueError, match=r"size: expected a value >= 1, got 0"):
        MoCoQueue(0, D)
    with pytest.raises(TypeError, match=r"dim: expected an integer"):
        MoCoQueue(K, 2.5)
    with pytest.raises(ValueError, match=r"size: expected a value >= 1"):
        mq.resize(0)


# ----------------------------------------------------------------------------------- distributed ----


def _ddp_worker(rank: int, world: int, rendezvous: str, out) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=rendezvous, rank=rank, world_size=world)
    try:
        mq = MoCoQueue(K, D, generator=torch.Generator().manual_seed(0))
        for step, n in enumerate((3, 5, 4)):
            keys = torch.full((n, D), float(10 * step + rank)) + torch.arange(n, dtype=torch.float32)[:, None]
            mq.enqueue(keys)
        # Plain lists: tensors would travel as shared-memory handles that die with this process.
        out.put((rank, mq.queue.tolist(), int(mq.ptr)))
        # Every rank has put its result before any tears down.
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_ddp_queues_identical(tmp_path):
    if not torch.distributed.is_available():
        pytest.skip("torch.distributed is not available in this torch build")
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    mp.start_processes(_ddp_worker, args=(2, file_rendezvous(tmp_path), out), nprocs=2, join=True, start_method="spawn")
    results = sorted([out.get() for _ in range(2)], key=lambda r: r[0])
    (_, q0, p0), (_, q1, p1) = results
    q0, q1 = torch.tensor(q0), torch.tensor(q1)
    assert torch.equal(q0, q1) and p0 == p1
    # Expected: each step enqueues rank 0's keys then rank 1's.
    expected, ptr = MoCoQueue(K, D, generator=torch.Generator().manual_seed(0)).queue, 0
    for step, n in enumerate((3, 5, 4)):
        for r in range(2):
            keys = torch.full((n, D), float(10 * step + r)) + torch.arange(n, dtype=torch.float32)[:, None]
            expected, ptr = model_enqueue(expected, ptr, keys)
    assert torch.equal(q0, expected) and p0 == ptr == (2 * 12) % K


def test_compiled_loss_then_enqueue_inductor():
    # One compiled training-style step (default inductor backend on CPU): loss against the queue, then
    # enqueue the keys; the loss must be the one of the queue before the enqueue.
    mq = MoCoQueue(300, 32, generator=torch.Generator().manual_seed(0))
    torch._dynamo.reset()

    @torch.compile(fullgraph=True)
    def step(q, k):
        loss = mq(q, k, 0.07, impl="fused")
        mq.enqueue(k)
        return loss

    g = torch.Generator().manual_seed(1)
    q = F.normalize(torch.randn(12, 32, generator=g), dim=1).requires_grad_()
    k = F.normalize(torch.randn(12, 32, generator=g), dim=1)
    before = mq.queue.clone()
    loss = step(q, k)
    loss.backward()
    qr = q.detach().clone().requires_grad_()
    ref = queue_infonce(qr, k, before, 0.07, "reference")
    ref.backward()
    torch.testing.assert_close(loss.detach(), ref.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(q.grad, qr.grad, rtol=1e-4, atol=1e-5)
    assert int(mq.ptr) == 12 and torch.equal(mq.queue[:12], k)
