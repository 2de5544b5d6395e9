"""MoCo's queue of negative keys: a ring buffer with a device-side pointer.

``enqueue`` writes like the torch.library op ``mgclr::queue_enqueue_`` (declared as mutating the buffer and
the pointer; called directly in eager mode, :func:`mgclr.ops.enqueue.enqueue_`, where the op's dispatch would
cost ten times the write), so it runs without a host sync on GPUs, wraps modulo K for any batch size and
composes with ``torch.compile``. Under an initialised ``torch.distributed`` process group it enqueues the keys of all
ranks (all-gathered in rank order; every rank must pass the same batch size), so the queues of all ranks
stay identical.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import FLOAT_DTYPES, check_finite_tensor, check_int, check_tensor
from ..ops import queue_infonce
from ..ops.enqueue import write_ring_


def _random_unit_rows(size: int, dim: int, generator: torch.Generator | None, device,
                      dtype) -> torch.Tensor:
    gen_device = generator.device if generator is not None else device
    rows = torch.randn(size, dim, generator=generator, device=gen_device, dtype=torch.float32)
    return F.normalize(rows, dim=1).to(device=device, dtype=dtype)


def _distributed() -> bool:
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized()


def _all_gather_rows(keys: torch.Tensor) -> torch.Tensor:
    """The keys of every rank, in rank order (a new tensor: never a view of the queue)."""
    dist = torch.distributed
    keys = keys.contiguous()
    parts = [torch.empty_like(keys) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, keys)
    return torch.cat(parts, dim=0)


class MoCoQueue(nn.Module):
    """Queue of ``size`` negative keys of dimension ``dim``, initialised with random unit vectors.

    Buffers (saved in ``state_dict``): ``queue (size, dim)`` and ``ptr`` (0-d int64, the next slot to
    write). ``forward(q, k, temperature, **kw)`` is :func:`mgclr.ops.queue_infonce` against the current
    queue; the loss it returns is not changed by a later ``enqueue`` (snapshot semantics).

    ``dtype`` is a floating dtype (float32 by default). :meth:`enqueue` takes floating keys and casts them
    to the queue's dtype (bfloat16 keys from autocast into a float32 queue, say); keys may be rows of the
    queue itself (they are copied first). NaN keys are stored as they come unless ``check_finite=True``:
    :func:`~mgclr.ops.queue_infonce` then returns NaN for every row that sees them, so a diverging key
    encoder shows in the loss.
    """

    def __init__(self, size: int, dim: int, *, generator: torch.Generator | None = None,
                 device: torch.device | None = None, dtype: torch.dtype = torch.float32,
                 gather_distributed: bool = True) -> None:
        super().__init__()
        check_int("size", size, low=1)
        check_int("dim", dim, low=1)
        if not isinstance(dtype, torch.dtype) or dtype not in FLOAT_DTYPES:
            names = ", ".join(str(d).replace("torch.", "") for d in FLOAT_DTYPES)
            raise TypeError(f"dtype: expected a floating dtype ({names}), got {dtype}")
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

    def enqueue(self, keys: torch.Tensor, *, check_finite: bool = False) -> None:
        """Writes ``keys (n, dim)`` (any n >= 0) after the newest entry, wrapping around; see the class doc.
        ``check_finite`` rejects NaN/inf keys (one device-to-host sync)."""
        # Every check once and the buffers read once: on the CPU this costs about what the research code's
        # slice assignment does (benchmarks/RESULTS.md, "Enqueue"); the queue's own buffers are valid by
        # construction (floating (size, dim), 0-d int64 pointer, one device), so only the keys are checked.
        queue, ptr = self._buffers["queue"], self._buffers["ptr"]  # a dict lookup, not Module.__getattr__
        check_tensor("keys", keys, ndim=2, shape_hint="(n, dim)")
        if keys.shape[1] != queue.shape[1]:
            raise ValueError(f"keys: expected shape (n, dim) with dim = {queue.shape[1]}, got {tuple(keys.shape)}")
        if keys.device != queue.device:
            raise ValueError(f"keys: expected a tensor on {queue.device} (the queue's device), got {keys.device}")
        if keys.requires_grad:
            keys = keys.detach()  # values only: the write records no graph, so no no_grad context is needed
        if check_finite:
            check_finite_tensor("keys", keys)
        if self.gather_distributed and _distributed():
            keys = _all_gather_rows(keys)
        elif keys.numel() and not torch.compiler.is_compiling() and \
                keys.untyped_storage().data_ptr() == queue.untyped_storage().data_ptr():
            keys = keys.clone()  # rows of the queue itself: written while read otherwise (compiled graphs copy)
        write_ring_(queue, ptr, keys)

    @torch.no_grad()
    def resize(self, size: int, *, generator: torch.Generator | None = None) -> None:
        """Changes the capacity to ``size``, keeping the newest min(old, new) keys; new slots get random
        unit vectors (older than every kept key) and the pointer restarts at the oldest slot, 0."""
        size, old = check_int("size", size, low=1), self.size
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
