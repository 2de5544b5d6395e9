"""MoCo (He et al., CVPR 2020; v2's MLP head) for one stream, and any number of streams trained together.

:class:`MoCo` holds a query encoder and head (trained), a key encoder and head (an exponential moving
average of the query's, never trained), and a :class:`~mgclr.models.MoCoQueue` of negative keys. One
training step, in this order (``mgclr.train.pretrain`` reads it top to bottom)::

    out = moco(view_q, view_k, lengths_q, lengths_k)   # q, k (no grad), queue_infonce(q, k, queue)
    out.loss.backward(); optimizer.step()
    moco.momentum_update()                              # key <- m * key + (1 - m) * query, torch._foreach_*
    moco.enqueue(out.keys)                              # after the step: the loss already holds its snapshot

:class:`MultiStreamMoCo` trains named MoCo streams (the paper's ``joint`` graph and ``sequence`` streams,
SkeletonCLR's ``joint`` / ``bone`` / ``motion``, any mix) on their pairs of views (streams that share a pipeline
share one fused two-view augmentation per step), one queue each, losses summed; a cross-stream pairing adds
ISC's cross-stream term between two named streams: each one's queries against the other's keys and queue.
A stream's encoder is a :class:`~mgclr.models.StreamEncoder` (its input modality, then the backbone).

BatchNorm and the key encoder: under DDP the key batch is shuffled across ranks before the key encoder
and unshuffled after (MoCo's shuffle-BN): each rank's BatchNorm then sees a sub-batch that does not hold
the positives of its own queries, so the statistics cannot carry a shortcut from query to key. SyncBN
would average statistics over the global batch, which still contains every positive; MoCo v1/v2 chose
shuffling for that reason and we follow them. In one process there is no sub-batch to shuffle between
(ISC, SkeletonCLR and AimCLR train that way).
"""

from __future__ import annotations

import copy
from typing import Dict, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_float32, check_int
from ..ops import QueueInfoNCEStats, queue_infonce
from ..profiling import range as nvtx_range
from .queue import MoCoQueue

__all__ = ["MoCo", "MoCoOutput", "MultiStreamMoCo", "MultiStreamOutput"]


class MoCoOutput(NamedTuple):
    """loss (scalar, differentiable), stats (:class:`~mgclr.ops.infonce.QueueInfoNCEStats`), queries
    ``(N, dim)`` (differentiable) and keys ``(N, dim)`` (no grad), both L2-normalised."""

    loss: torch.Tensor
    stats: QueueInfoNCEStats
    queries: torch.Tensor
    keys: torch.Tensor


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


def _gather(t: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(t) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(parts, t.contiguous())
    return torch.cat(parts)


class MoCo(nn.Module):
    """One MoCo stream.

    Args:
        encoder: ``(N, C, T, V, M)`` (+ lengths) -> ``(N, F)``; it must expose ``out_dim`` = F.
        head: ``(N, F)`` -> ``(N, dim)``, with ``out_dim`` = dim (e.g. :class:`~mgclr.models.ProjectionHead`).
        queue_size: K negatives (16384 for NTU, 512 for iMiGUE).
        momentum: m of the key encoder's moving average (0.999).
        temperature: tau of the InfoNCE loss (0.07).
        infonce_impl: ``queue_infonce``'s ``impl`` ("auto").
        shuffle_bn: shuffle the key batch across ranks under DDP (module docstring).
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, queue_size: int = 16384, momentum: float = 0.999,
                 temperature: float = 0.07, *, infonce_impl: str = "auto", shuffle_bn: bool = True,
                 generator: Optional[torch.Generator] = None) -> None:
        super().__init__()
        for name, module in (("encoder", encoder), ("head", head)):
            if not isinstance(getattr(module, "out_dim", None), int):
                raise TypeError(f"{name}: expected a module with an int attribute out_dim, got "
                                f"{type(module).__name__}")
        self.momentum = check_float32("momentum", momentum, low=0.0, high=1.0)
        self.temperature = check_float32("temperature", temperature, low=0.0, low_inclusive=False, divisor=True)
        self.infonce_impl = infonce_impl
        self.shuffle_bn = bool(shuffle_bn)
        self.encoder_q, self.head_q = encoder, head
        self.encoder_k, self.head_k = copy.deepcopy(encoder), copy.deepcopy(head)
        for p in self.key_parameters():
            p.requires_grad_(False)
        param = next(encoder.parameters(), None)
        self.queue = MoCoQueue(check_int("queue_size", queue_size, low=1), head.out_dim, generator=generator,
                               device=param.device if param is not None else None)

    @property
    def dim(self) -> int:
        return self.head_q.out_dim

    def query_parameters(self):
        return list(self.encoder_q.parameters()) + list(self.head_q.parameters())

    def key_parameters(self):
        return list(self.encoder_k.parameters()) + list(self.head_k.parameters())

    def encode(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The stream's features ``(N, F)`` (query encoder, no head): what evaluation and the recognizer use."""
        return self.encoder_q(x, lengths)

    def encode_query(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        return F.normalize(self.head_q(self.encoder_q(x, lengths)), dim=1)

    @torch.no_grad()
    def encode_key(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not (self.shuffle_bn and self.training and _distributed()):
            return F.normalize(self.head_k(self.encoder_k(x, lengths)), dim=1)
        # MoCo's shuffle-BN: the key batch is gathered, permuted (one permutation for all ranks, drawn on
        # rank 0) and re-split, so each rank's BN sees other ranks' samples; keys are then unshuffled.
        dist = torch.distributed
        N, rank = x.shape[0], dist.get_rank()
        all_x = _gather(x)
        all_lengths = _gather(lengths) if lengths is not None else None
        order = torch.randperm(all_x.shape[0], device=x.device) if rank == 0 else \
            torch.empty(all_x.shape[0], dtype=torch.int64, device=x.device)
        dist.broadcast(order, src=0)
        mine = order[rank * N:(rank + 1) * N]
        keys = F.normalize(self.head_k(self.encoder_k(all_x[mine], None if all_lengths is None
                                                      else all_lengths[mine])), dim=1)
        all_keys = _gather(keys)
        unshuffled = torch.empty_like(all_keys)
        unshuffled[order] = all_keys
        return unshuffled[rank * N:(rank + 1) * N]

    def forward(self, view_q: torch.Tensor, view_k: torch.Tensor, lengths_q: Optional[torch.Tensor] = None,
                lengths_k: Optional[torch.Tensor] = None) -> MoCoOutput:
        with nvtx_range("mgclr/forward"):
            q = self.encode_query(view_q, lengths_q)
            k = self.encode_key(view_k, lengths_k)
        with nvtx_range("mgclr/loss"):
            stats = queue_infonce(q.float(), k.float(), self.queue.queue, self.temperature, self.infonce_impl,
                                  return_stats=True)
        return MoCoOutput(stats.loss, stats, q, k)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """key <- m * key + (1 - m) * query, parameter by parameter, in a few fused kernels."""
        keys, queries = self.key_parameters(), self.query_parameters()
        torch._foreach_mul_(keys, self.momentum)
        torch._foreach_add_(keys, queries, alpha=1.0 - self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        self.queue.enqueue(keys)


class MultiStreamOutput(NamedTuple):
    """loss = the sum of the streams' losses (+ each cross-stream term times its weight); ``streams``: each
    stream's :class:`MoCoOutput` by name; ``cross``: each cross-stream term by ``"a/b"``."""

    loss: torch.Tensor
    streams: Dict[str, MoCoOutput]
    cross: Dict[str, torch.Tensor]


Views = Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]


class MultiStreamMoCo(nn.Module):
    """Any number of MoCo streams trained in one loop, one queue each, losses summed.

    Args:
        streams: ``{name: MoCo}`` in order (e.g. the paper's ``joint`` AGCN and ``sequence`` Bi-GRU, or
            SkeletonCLR's ``joint``, ``bone`` and ``motion`` ST-GCNs).
        cross_stream: ``[(a, b, weight)]``: ISC's cross-stream term between the named streams ``a`` and ``b``
            (heads of one size): a's queries against b's keys and queue, and b's against a's.
    """

    def __init__(self, streams: Mapping[str, MoCo], cross_stream: Sequence[Tuple[str, str, float]] = ()) -> None:
        super().__init__()
        if not streams:
            raise ValueError("streams: expected at least one stream, got none")
        self.streams = nn.ModuleDict(dict(streams))
        self.cross_stream = []
        for i, pair in enumerate(cross_stream):
            a, b, weight = pair
            for name in (a, b):
                if name not in self.streams:
                    raise ValueError(f"cross_stream[{i}]: no stream {name!r} (streams: {', '.join(self.streams)})")
            if a == b:
                raise ValueError(f"cross_stream[{i}]: expected two different streams, got {a!r} twice")
            if self.streams[a].dim != self.streams[b].dim:
                raise ValueError(f"cross_stream[{i}]: the cross-stream term needs heads of one size, got "
                                 f"{self.streams[a].dim} ({a}) and {self.streams[b].dim} ({b})")
            self.cross_stream.append((a, b, check_float32(f"cross_stream[{i}] weight", weight, low=0.0)))

    def forward(self, views: Mapping[str, Views]) -> MultiStreamOutput:
        """Each stream on its pair of views: ``views[name] = (view_q, view_k, lengths_q, lengths_k)``."""
        missing = [name for name in self.streams if name not in views]
        if missing:
            raise ValueError(f"views: expected a pair of views for every stream, got none for {', '.join(missing)}")
        outs = {name: stream(*views[name]) for name, stream in self.streams.items()}
        loss = sum(out.loss for out in outs.values())
        cross = {}
        for a, b, weight in self.cross_stream:
            sa, sb = self.streams[a], self.streams[b]
            term = (queue_infonce(outs[a].queries, outs[b].keys, sb.queue.queue, sa.temperature, sa.infonce_impl)
                    + queue_infonce(outs[b].queries, outs[a].keys, sa.queue.queue, sb.temperature, sb.infonce_impl))
            cross[f"{a}/{b}"] = term
            loss = loss + weight * term
        return MultiStreamOutput(loss, outs, cross)

    @torch.no_grad()
    def momentum_update(self) -> None:
        for stream in self.streams.values():
            stream.momentum_update()

    @torch.no_grad()
    def enqueue(self, out: MultiStreamOutput) -> None:
        with nvtx_range("mgclr/enqueue"):
            for name, stream in self.streams.items():
                stream.enqueue(out.streams[name].keys)
