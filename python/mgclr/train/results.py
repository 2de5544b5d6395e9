"""Typed results of the evaluation protocols: what a probe measured, its test scores, and what it trained.

:func:`mgclr.train.linear_eval` and :func:`mgclr.train.finetune_eval` return ``{stream: ProbeResult}``. A
:class:`ProbeResult` is also a read-only mapping of the fields it holds (``result["top1_best"]``), so report
code can treat it as the dict it replaces; :meth:`ProbeResult.metrics` is the numbers alone, what the CLI
prints and what is written to ``<protocol>.json``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional

import torch
from torch import nn

__all__ = ["ProbeResult"]


@dataclass(eq=False)
class ProbeResult(Mapping):
    """One stream's linear or finetuning evaluation on the test split.

    ``top1_best`` / ``top5_best``: the best epoch's accuracy (``best_epoch``, 1-based); ``top1_last`` /
    ``top5_last``: the last epoch's; ``scores``: the last epoch's softmax probabilities (N, classes) and
    ``labels`` (N,). What was trained, for :meth:`mgclr.train.recognizer.Recognizer.from_results`: the
    ``encoder`` and ``classifier`` (eval mode) and the ``config`` they were built from; ``stream``: its name.
    ``test_features``: the frozen encoder's test features (linear); ``labelled_samples``: the labelled
    training samples used (finetune)."""

    top1_best: float
    top5_best: float
    best_epoch: int
    top1_last: float
    top5_last: float
    scores: torch.Tensor
    labels: torch.Tensor
    stream: Optional[str] = None
    test_features: Optional[torch.Tensor] = None
    labelled_samples: Optional[int] = None
    encoder: Optional[nn.Module] = None
    classifier: Optional[nn.Module] = None
    config: Any = None

    METRICS = ("top1_best", "top5_best", "best_epoch", "top1_last", "top5_last", "labelled_samples")

    def metrics(self) -> Dict[str, float]:
        """The numbers: accuracies, the best epoch and (finetune) the labelled samples."""
        return {name: getattr(self, name) for name in self.METRICS if getattr(self, name) is not None}

    def with_fields(self, **values: Any) -> ProbeResult:
        return dataclasses.replace(self, **values)

    def _held(self) -> List[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]

    def __getitem__(self, key: str) -> Any:
        if key in self._held():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._held())

    def __len__(self) -> int:
        return len(self._held())

    __eq__ = object.__eq__  # a result is itself (its tensors have no single truth value to compare)
    __hash__ = object.__hash__


def metrics_of(results: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """``{stream: its numbers}`` of a protocol's results (what ``<protocol>.json`` holds)."""
    return {name: (r.metrics() if isinstance(r, ProbeResult)
                   else {k: v for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
            for name, r in results.items()}
