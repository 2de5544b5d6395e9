"""MoCo's queue of negative keys: a ring buffer with a device-side pointer.

``enqueue`` is the torch.library op ``mgclr::queue_enqueue_`` (declared as mutating the buffer and the
pointer), so it runs without a host sync, wraps modulo K for any batch size and composes with
``torch.compile``. Under an initialised ``torch.distributed`` process group it enqueues the keys of all
ranks (all-gathered in rank order; every rank must pass the same batch size), so the queues of all ranks
stay identical.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_number, check_tensor
from ..ops import queue_enqueue_, queue_infonce


def _random_unit_rows(size: int, dim: int, generator: torch.Generator | None, device,
                      dtype) -> torch.Tensor:
    gen_device = generator.device if generator is not None else device
    rows = torch.randn(size, dim, generator=generator, device=gen_device, dtype=torch.float32)
    return F.normalize(rows, dim=1).to(device=device, dtype=dtype)


class MoCoQueue(nn.Module):
    """Queue of ``size`` negative keys of dimension ``dim``, initialised with random unit vectors.

    Buffers (saved in ``state_dict``): ``queue (size, dim)`` and ``ptr`` (0-d int64, the next slot to
    write). ``forward(q, k, temperature, **kw)`` is :func:`mgclr.ops.queue_infonce` against the current
    queue; the loss it returns is not changed by a later ``enqueue`` (snapshot semantics).
    """

    def __init__(self, size: int, dim: int, *, generator: torch.Generator | None = None,
                 device: torch.device | None = None, dtype: torch.dtype = torch.float32,
                 gather_distributed: bool = True) -> None:
        super().__init__()
        check_number("size", size, low=1, integer=True)
        check_number("dim", dim, low=1, integer=True)
        self.gather_distributed = gather_distributed
        self.register_buffer("queue", _random_unit_rows(int(size), int(dim), generator, device, dtype))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.int64, device=device))

    @property
    def size(self) -> int:
        return self.queue.shape[0]

    @property
    def dim(self) -> int:
        return self.queue.shape[1]

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"

    def forward(self, q: torch.Tensor, k: torch.Tensor, temperature: float, **kwargs):
        return queue_infonce(q, k, self.queue, temperature, **kwargs)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Writes ``keys (n, dim)`` (any n >= 0) after the newest entry, wrapping around; see module doc."""
        check_tensor("keys", keys, ndim=2, shape_hint="(n, dim)")
        if keys.shape[1] != self.dim:
            raise ValueError(f"keys: expected shape (n, dim) with dim = {self.dim}, got {tuple(keys.shape)}")
        if keys.device != self.queue.device:
            raise ValueError(f"keys: expected a tensor on {self.queue.device} (the queue's device), "
                             f"got {keys.device}")
        keys = keys.detach()
        dist = torch.distributed
        if self.gather_distributed and dist.is_available() and dist.is_initialized():
            keys = keys.contiguous()
            parts = [torch.empty_like(keys) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, keys)
            keys = torch.cat(parts, dim=0)
        queue_enqueue_(self.queue, self.ptr, keys)

    @torch.no_grad()
    def resize(self, size: int, *, generator: torch.Generator | None = None) -> None:
        """Changes the capacity to ``size``, keeping the newest min(old, new) keys; new slots get random
        unit vectors (older than every kept key) and the pointer restarts at the oldest slot, 0."""
        check_number("size", size, low=1, integer=True)
        size, old = int(size), self.size
        order = torch.remainder(self.ptr + torch.arange(old, device=self.queue.device), old)  # oldest first
        kept = self.queue.index_select(0, order)
        if size <= old:
            new = kept[old - size:].clone()
        else:
            fresh = _random_unit_rows(size - old, self.dim, generator, self.queue.device, self.queue.dtype)
            new = torch.cat([fresh, kept], dim=0)
        self.queue = new
        self.ptr = torch.zeros((), dtype=torch.int64, device=self.queue.device)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint may hold a queue of another size or dim: adopt its shape instead of refusing it.
        saved = state_dict.get(prefix + "queue")
        if isinstance(saved, torch.Tensor) and saved.dim() == 2 and saved.shape != self.queue.shape:
            self.queue = torch.empty(saved.shape, dtype=self.queue.dtype, device=self.queue.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
