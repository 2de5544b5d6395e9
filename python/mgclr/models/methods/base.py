"""The machinery every momentum-contrast method shares, and the types a training step passes around.

A method (solo-learn's shape: one small class per method over this base, its losses functions of
:mod:`mgclr.ops`) is one stream's query encoder and head (trained), its key encoder and head (an exponential
moving average of the query's, never trained) and its queue of negative keys. A step, in this order::

    emb = stream.embed(views)                  # the method's encoder passes over the views it asks for
    out = stream.loss(emb, epoch, peers)       # its loss (peers: the other streams' embeddings, for CrosSCLR)
    out.loss.backward(); optimizer.step()
    stream.momentum_update()                   # key <- m * key + (1 - m) * query, torch._foreach_*
    stream.enqueue(out.keys)                   # after the step: every queue loss already holds its snapshot

``stream(view_q, view_k, lengths_q, lengths_k, epoch=..., extreme=...)`` runs ``embed`` and ``loss`` for one
stream alone. What the subclasses say about themselves: :attr:`MomentumMethod.name` (the registry name a
config gives as ``method``), :attr:`MomentumMethod.extra_views` (views besides the normal pair, each with the
augmentation that makes it by default) and their own keyword options (checked against the signature).

BatchNorm and the key encoder: under DDP the key batch is shuffled across ranks before the key encoder and
unshuffled after (MoCo's shuffle-BN): each rank's BatchNorm then sees a sub-batch that does not hold the
positives of its own queries, so the statistics cannot carry a shortcut from query to key. SyncBN would
average statistics over the global batch, which still contains every positive; MoCo v1/v2 chose shuffling
for that reason and we follow them. In one process there is no sub-batch to shuffle between (ISC,
SkeletonCLR and AimCLR train that way).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar, Dict, Mapping, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..._validation import check_float32, check_int
from ...ops import QueueInfoNCEStats
from ..queue import MoCoQueue

__all__ = ["Embedding", "MoCoOutput", "MomentumMethod", "View", "as_view"]


class View(NamedTuple):
    """One augmented view of the batch: ``x (N, C, T, V, M)`` and its valid frames ``lengths (N,)`` (or None)."""

    x: torch.Tensor
    lengths: Optional[torch.Tensor] = None


def as_view(name: str, value: Any) -> View:
    """``value`` (a :class:`View`, an ``(x, lengths)`` pair or a tensor) as a :class:`View`; else a TypeError
    naming ``name``."""
    if isinstance(value, View):
        return value
    if isinstance(value, torch.Tensor):
        return View(value, None)
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], torch.Tensor):
        return View(value[0], value[1])
    raise TypeError(f"{name}: expected a view (a tensor (N, C, T, V, M), or (x, lengths)), got {type(value).__name__}")


class Embedding(NamedTuple):
    """What a stream's encoders made of its views in one step: ``queries (N, dim)`` of the normal query view
    (differentiable), ``keys (N, dim)`` of the key view (no grad), both L2-normalised, and ``extra``: the
    method's other embeddings by name (AimCLR's ``extreme`` and ``extreme_drop`` queries) and what the step
    derives from them once for every stream (CrosSCLR's mined queue indices); a fresh dict each step."""

    queries: torch.Tensor
    keys: torch.Tensor
    extra: Dict[str, torch.Tensor]


class MoCoOutput(NamedTuple):
    """loss (scalar, differentiable); stats (:class:`~mgclr.ops.QueueInfoNCEStats` of the normal query's InfoNCE,
    or None where the method's loss does not give them for free); queries ``(N, dim)`` (differentiable) and
    keys ``(N, dim)`` (no grad), both L2-normalised; terms: the parts of the loss by name (detached, for logs)."""

    loss: torch.Tensor
    stats: Optional[QueueInfoNCEStats]
    queries: torch.Tensor
    keys: torch.Tensor
    terms: Dict[str, torch.Tensor] = {}


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


def _gather(t: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(t) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(parts, t.contiguous())
    return torch.cat(parts)


# A stream's peers in one step: name -> (that stream, its embedding), every stream of the model included.
Peers = Mapping[str, Tuple["MomentumMethod", Embedding]]


class MomentumMethod(nn.Module):
    """The shared base of the momentum-contrast methods (one stream each).

    Args:
        encoder: ``(N, C, T, V, M)`` (+ lengths) -> ``(N, F)``; it must expose ``out_dim`` = F.
        head: ``(N, F)`` -> ``(N, dim)``, with ``out_dim`` = dim (e.g. :class:`~mgclr.models.ProjectionHead`).
        queue_size: K negatives (16384 for NTU, 512 for iMiGUE).
        momentum: m of the key encoder's moving average (0.999).
        temperature: tau of the contrastive losses (0.07).
        infonce_impl: the ``impl`` of the :mod:`mgclr.ops` queue losses ("auto").
        shuffle_bn: shuffle the key batch across ranks under DDP (module docstring).
    """

    name: ClassVar[str] = ""
    # Views besides the normal pair ("query", "key"): name -> the augmentation spec that makes it by default
    # (mgclr.augment.pipeline_from_config; a config may give another under method.views).
    extra_views: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # Options that name the (0-based) epoch something switches on: option -> what switches on.
    schedules: ClassVar[Mapping[str, str]] = {}

    def __init__(self, encoder: nn.Module, head: nn.Module, queue_size: int = 16384, momentum: float = 0.999,
                 temperature: float = 0.07, *, infonce_impl: str = "auto", shuffle_bn: bool = True,
                 generator: Optional[torch.Generator] = None) -> None:
        super().__init__()
        for what, module in (("encoder", encoder), ("head", head)):
            if not isinstance(getattr(module, "out_dim", None), int):
                raise TypeError(f"{what}: expected a module with an int attribute out_dim, got "
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

    @classmethod
    def options(cls) -> Tuple[str, ...]:
        """The method's own keyword options (what a config's ``method.args`` may set), in signature order."""
        base = inspect.signature(MomentumMethod.__init__).parameters
        return tuple(n for n, p in inspect.signature(cls.__init__).parameters.items()
                     if p.kind == p.KEYWORD_ONLY and n not in base)

    def _check_topk(self, topk: int) -> int:
        """``topk`` queue entries to mine: an int in [1, K]."""
        topk = check_int("topk", topk, low=1)
        if topk > self.queue.size:
            raise ValueError(f"topk: expected at most queue_size = {self.queue.size} entries, got {topk}")
        return topk

    @property
    def dim(self) -> int:
        return self.head_q.out_dim

    @property
    def views(self) -> Tuple[str, ...]:
        """The views one step needs, by name: ``("query", "key")`` and the method's extra views."""
        return ("query", "key", *self.extra_views)

    def query_parameters(self):
        return list(self.encoder_q.parameters()) + list(self.head_q.parameters())

    def key_parameters(self):
        return list(self.encoder_k.parameters()) + list(self.head_k.parameters())

    def encode(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The stream's features ``(N, F)`` (query encoder, no head): what evaluation and the recognizer use."""
        return self.encoder_q(x, lengths)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """The query head, L2-normalised: features ``(N, F)`` -> ``(N, dim)``."""
        return F.normalize(self.head_q(features), dim=1)

    def encode_query(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.project(self.encoder_q(x, lengths))

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

    def embed(self, views: Mapping[str, View]) -> Embedding:
        """The normal pair: queries of ``views["query"]``, keys of ``views["key"]``. Methods with more views
        extend it."""
        query, key = views["query"], views["key"]
        return Embedding(self.encode_query(query.x, query.lengths), self.encode_key(key.x, key.lengths), {})

    def loss(self, emb: Embedding, epoch: int = 0, peers: Optional[Peers] = None) -> MoCoOutput:
        """The method's loss for this step's embedding (``epoch``: 0-based, for schedules such as AimCLR's
        nearest-neighbour mining; ``peers``: every stream's (stream, embedding) of the model)."""
        raise NotImplementedError(f"{type(self).__name__}.loss")

    def check_views(self, views: Mapping[str, Any], where: str = "views") -> Dict[str, View]:
        """``views`` as {name: View}, with every view this method needs; else an error naming the missing."""
        if not isinstance(views, Mapping):
            raise TypeError(f"{where}: expected a mapping view name -> view, got {type(views).__name__}")
        missing = [v for v in self.views if v not in views]
        if missing:
            raise ValueError(f"{where}: {type(self).__name__} ({self.name}) needs the views {', '.join(self.views)}; "
                             f"got none for {', '.join(missing)}")
        return {name: as_view(f"{where}[{name!r}]", views[name]) for name in self.views}

    def forward(self, view_q: torch.Tensor, view_k: torch.Tensor, lengths_q: Optional[torch.Tensor] = None,
                lengths_k: Optional[torch.Tensor] = None, *, epoch: int = 0, peers: Optional[Peers] = None,
                **extra_views: Any) -> MoCoOutput:
        """One stream alone: ``embed`` then ``loss``. Extra views by name (``extreme=x`` or ``(x, lengths)``)."""
        views = self.check_views({"query": View(view_q, lengths_q), "key": View(view_k, lengths_k), **extra_views})
        return self.loss(self.embed(views), epoch, peers)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """key <- m * key + (1 - m) * query, parameter by parameter, in a few fused kernels."""
        keys, queries = self.key_parameters(), self.query_parameters()
        torch._foreach_mul_(keys, self.momentum)
        torch._foreach_add_(keys, queries, alpha=1.0 - self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        self.queue.enqueue(keys)

    def check_peers(self, streams: Mapping[str, MomentumMethod], own_name: str) -> None:
        """Called once by :class:`~mgclr.models.MultiStreamMoCo` with every stream of the model: a method that
        works with other streams checks them here (ValueError naming the option)."""

    def extra_repr(self) -> str:
        return f"method={self.name}, dim={self.dim}, temperature={self.temperature:g}, momentum={self.momentum:g}"
