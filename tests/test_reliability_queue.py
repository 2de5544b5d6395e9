"""Reliability, the queue and the ops (issue 15): MoCoQueue / queue_enqueue_ refuse a key width mismatch, a float
pointer, 1-D keys and K = 0 by name (before: a torch error from deep inside, or a silently wrong write), and a
Pipeline on meta tensors gives its output's shape (the op's fake) instead of failing on a value it cannot read."""

from __future__ import annotations

import pytest
import torch

from mgclr.augment import paper_best
from mgclr.models import MoCoQueue
from mgclr.ops import queue_enqueue_

PTR = torch.zeros((), dtype=torch.int64)


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


def test_a_pipeline_on_meta_tensors_gives_shapes():
    pipe = paper_best(out_frames=8, two_views=True)
    x = torch.empty(2, 3, 10, 25, 1, device="meta")
    (q, k), params = pipe(x, torch.full((2,), 10, device="meta"), seed=0, return_params=True)
    assert q.shape == k.shape == (2, 3, 8, 25, 1) and q.device.type == "meta"
    assert params.lengths[0].shape == (2,)
