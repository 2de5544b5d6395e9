"""The queue's errors: MoCoQueue / queue_enqueue_ refuse a key width mismatch, a float pointer, 1-D keys and K = 0 by
name (before: a torch error from deep inside, or a silently wrong write); a MoCoQueue's dtype must be floating, its
integer keys are refused, other floating ones cast and rows of the queue itself copied, and NaN keys are stored (they
show in the loss) or, with check_finite, refused."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import mgclr
from mgclr.models import MoCoQueue
from mgclr.ops import queue_enqueue_

PTR = torch.zeros((), dtype=torch.int64)
requires_extension = pytest.mark.skipif(not mgclr.build_info()["extension"], reason="mgclr's extension is not built")


def unit_rows(n, d, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1).to(dtype)


@pytest.mark.parametrize("queue, ptr, keys, message", [
    (torch.zeros(0, 4), PTR, torch.zeros(2, 4), r"queue: expected a floating \(K, D\) tensor with K >= 1, .*\(0, 4\)"),
    (torch.zeros(8, 4, dtype=torch.int64), PTR, torch.zeros(2, 4), r"queue: expected a floating"),
    (torch.zeros(8, 4), torch.zeros(()), torch.zeros(2, 4), r"ptr: expected a 0-d int64 tensor .* torch\.float32"),
    (torch.zeros(8, 4), torch.zeros(1, dtype=torch.int64), torch.zeros(2, 4), r"ptr: expected a 0-d int64"),
    (torch.zeros(8, 4), PTR, torch.zeros(4), r"keys: expected a floating \(n, D\) tensor with D = 4 .* \(4,\)"),
    (torch.zeros(8, 4), PTR, torch.zeros(2, 5), r"keys: expected .* D = 4 \(the queue's width\), .*\(2, 5\)"),
    (torch.zeros(8, 4), PTR, torch.zeros(2, 4, dtype=torch.int32), r"keys: expected a floating"),
])
def test_enqueue_refuses_by_name(queue, ptr, keys, message):
    before = queue.clone()
    with pytest.raises(ValueError, match=message):
        queue_enqueue_(queue, ptr, keys)
    assert torch.equal(queue, before) and int(ptr) == 0


def test_moco_queue_refuses_too():
    with pytest.raises(ValueError, match=r"size: expected a value >= 1, got 0"):
        MoCoQueue(0, 4)
    queue = MoCoQueue(8, 4)
    with pytest.raises(ValueError, match=r"keys: expected a 2-D tensor \(n, dim\), got shape \(4,\)"):
        queue.enqueue(torch.zeros(4))
    with pytest.raises(ValueError, match=r"keys: expected shape \(n, dim\) with dim = 4, got \(2, 3\)"):
        queue.enqueue(torch.zeros(2, 3))
    queue.enqueue(torch.ones(3, 4))
    assert int(queue.ptr) == 3 and torch.equal(queue.queue[:3], torch.ones(3, 4))


# -------------------------------------------------------------------------------------- MoCoQueue inputs


@requires_extension
def test_queue_dtype_must_be_floating():
    with pytest.raises(TypeError, match="dtype: expected a floating dtype"):
        MoCoQueue(8, 4, dtype=torch.int64)


@requires_extension
def test_queue_keys_integer_refused_float_cast_alias_copied():
    queue = MoCoQueue(8, 4)
    with pytest.raises(TypeError, match="keys: expected dtype in"):
        queue.enqueue(torch.ones(2, 4, dtype=torch.int64))
    queue.enqueue(torch.full((2, 4), 0.5, dtype=torch.float64))
    queue.enqueue(torch.full((1, 4), 0.25, dtype=torch.bfloat16))
    assert queue.queue.dtype == torch.float32 and queue.queue[2, 0].item() == 0.25
    before = queue.queue[:3].clone()
    queue.enqueue(queue.queue[:3])  # rows of the queue itself
    assert torch.equal(queue.queue[3:6], before) and int(queue.ptr) == 6
    shifted = MoCoQueue(8, 4)
    shifted.enqueue(torch.randn(1, 4))
    before = shifted.queue[:3].clone()
    shifted.enqueue(shifted.queue[:3])  # rows 0-2 onto rows 1-3: the source overlaps the destination
    assert torch.equal(shifted.queue[1:4], before) and int(shifted.ptr) == 4


@requires_extension
def test_queue_nan_keys_are_stored_and_show_in_the_loss_or_refused():
    queue = MoCoQueue(8, 4)
    keys = torch.randn(2, 4)
    keys[1, 2] = float("nan")
    with pytest.raises(ValueError, match="keys: expected finite values"):
        queue.enqueue(keys, check_finite=True)
    assert int(queue.ptr) == 0
    queue.enqueue(keys)
    q = unit_rows(3, 4, 5)
    assert torch.isnan(queue(q, unit_rows(3, 4, 6), 0.1))
