"""Any number of named streams trained together, each with its method, one queue each, losses summed.

Streams are the paper's ``joint`` graph and ``sequence`` streams, SkeletonCLR's / AimCLR's / CrosSCLR's
``joint`` / ``bone`` / ``motion``, any mix; each is one method (:data:`~mgclr.models.methods.METHODS`). One step
embeds every stream first, then computes each stream's loss with every stream's embedding at hand (CrosSCLR
mines its positives from its partners'). A cross-stream pairing adds ISC's cross-stream term between two
named streams: each one's queries against the other's keys and queue.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, NamedTuple, Sequence, Tuple

import torch
from torch import nn

from ..._validation import check_float32
from ...ops import queue_infonce
from ...profiling import range as nvtx_range
from .base import MoCoOutput, MomentumMethod, View

__all__ = ["MultiStreamMoCo", "MultiStreamOutput"]


class MultiStreamOutput(NamedTuple):
    """loss = the sum of the streams' losses (+ each cross-stream term times its weight); ``streams``: each
    stream's :class:`~mgclr.models.methods.base.MoCoOutput` by name; ``cross``: each cross-stream term by
    ``"a/b"``."""

    loss: torch.Tensor
    streams: Dict[str, MoCoOutput]
    cross: Dict[str, torch.Tensor]


class MultiStreamMoCo(nn.Module):
    """Named streams trained in one loop (module docstring).

    Args:
        streams: ``{name: method}`` in order (:class:`~mgclr.models.MoCo`, :class:`~mgclr.models.AimCLR`,
            :class:`~mgclr.models.CrosSCLR`, ...).
        cross_stream: ``[(a, b, weight)]``: ISC's cross-stream term between the named streams ``a`` and ``b``
            (heads of one size): a's queries against b's keys and queue, and b's against a's.
    """

    def __init__(self, streams: Mapping[str, MomentumMethod],
                 cross_stream: Sequence[Tuple[str, str, float]] = ()) -> None:
        super().__init__()
        if not streams:
            raise ValueError("streams: expected at least one stream, got none")
        for name, stream in streams.items():
            if not isinstance(stream, MomentumMethod):
                raise TypeError(f"streams.{name}: expected a method (MoCo, AimCLR, CrosSCLR, ...), got "
                                f"{type(stream).__name__}")
        self.streams = nn.ModuleDict(dict(streams))
        for name, stream in self.streams.items():
            try:
                stream.check_peers(dict(self.streams.items()), name)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"streams.{name}.{exc}") from None
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

    def _stream_views(self, name: str, given: Any) -> Dict[str, View]:
        """A stream's views from ``{view: View | (x, lengths)}`` or the pair form ``(view_q, view_k, lengths_q,
        lengths_k)``."""
        if isinstance(given, (tuple, list)) and len(given) == 4:
            given = {"query": View(given[0], given[2]), "key": View(given[1], given[3])}
        return self.streams[name].check_views(given, f"views[{name!r}]")

    def forward(self, views: Mapping[str, Any], epoch: int = 0) -> MultiStreamOutput:
        """Each stream on its views: ``views[name] = {"query": (x, lengths), "key": ..., <extra views>}`` (or
        ``(view_q, view_k, lengths_q, lengths_k)`` for a method without extra views); ``epoch`` (0-based) for
        the methods' schedules."""
        missing = [name for name in self.streams if name not in views]
        if missing:
            raise ValueError(f"views: expected the views of every stream, got none for {', '.join(missing)}")
        stream_views = {name: self._stream_views(name, views[name]) for name in self.streams}
        with nvtx_range("mgclr/forward"):
            embs = {name: stream.embed(stream_views[name]) for name, stream in self.streams.items()}
        peers = {name: (self.streams[name], emb) for name, emb in embs.items()}
        # The queue losses stay fp32 under pretrain.amp: autocast would run their products in bf16 (logits
        # off by ~0.05, mined neighbours and ranks changed) where only the encoders are meant to.
        device_type = next(iter(embs.values())).queries.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            outs = {name: stream.loss(embs[name], epoch, peers) for name, stream in self.streams.items()}
            loss = sum(out.loss for out in outs.values())
            cross = {}
            for a, b, weight in self.cross_stream:
                sa, sb = self.streams[a], self.streams[b]
                qa, qb, ka, kb = (t.float() for t in (outs[a].queries, outs[b].queries, outs[a].keys, outs[b].keys))
                term = (queue_infonce(qa, kb, sb.queue.queue, sa.temperature, sa.infonce_impl)
                        + queue_infonce(qb, ka, sa.queue.queue, sb.temperature, sb.infonce_impl))
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
