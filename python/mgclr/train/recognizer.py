"""A trained MG recognizer in one file: each stream's encoder and classifier from the linear or the finetuning
protocol, the description of the data it was trained on (layout, C, V, M, coordinate channels, fps, classes
and the converter's normalisation), and the evaluation preprocessing -- what ``mgclr recognize`` slides over
a long skeleton sequence (:mod:`mgclr.emotion.recognize`).

``mgclr linear`` / ``finetune`` / ``fuse`` write it as ``OUTPUT/recognizer_<protocol>.pt``. The file holds
plain data only (state dicts, the resolved config, the data's description, names), read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import torch
from torch import nn

from ..data.info import DatasetInfo
from .build import build_pipeline, build_stream_encoder
from .checkpoint import load_checkpoint, load_weights, save_checkpoint
from .config import ConfigError, StreamConfig, _from_mapping

__all__ = ["Recognizer", "RecognizerStream"]

KIND = "mgclr-recognizer"
VERSION = 2  # 2: streams as data (each with its own config, preprocessing and fusion weight)


def _classifier(in_dim: int, num_classes: int, batchnorm: bool) -> nn.Module:
    linear = nn.Linear(in_dim, num_classes)
    return nn.Sequential(nn.BatchNorm1d(in_dim, affine=False), linear) if batchnorm else linear


@dataclass
class RecognizerStream:
    """One stream of a recognizer: how its encoder is built (``config``), the evaluation preprocessing its
    classifier was trained behind (``preprocess``, a one-view pipeline spec, e.g. the centre crop), whether
    the classifier starts with a BatchNorm (``linear.batchnorm``), its fusion ``weight`` and the ``seed`` of
    its preprocessing."""

    config: StreamConfig
    preprocess: Optional[Dict[str, Any]] = None
    batchnorm: bool = False
    weight: float = 1.0
    seed: int = 0

    def to_dict(self) -> Dict[str, Any]:
        return {"config": dataclasses.asdict(self.config), "preprocess": self.preprocess, "batchnorm": self.batchnorm,
                "weight": self.weight, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> RecognizerStream:
        return cls(_from_mapping(f"{where}.config", data["config"], StreamConfig), data.get("preprocess"),
                   bool(data.get("batchnorm", False)), float(data.get("weight", 1.0)), int(data.get("seed", 0)))


class Recognizer(nn.Module):
    """Fused MG classifier: ``forward(x (N, C, T, V, M), lengths (N,))`` -> class probabilities ``(N, K)``, the
    weighted mean over streams of each stream's softmax (the score fusion of ``mgclr fuse``, divided by the sum
    of the weights so that it stays a probability). ``embed(x, lengths)`` gives each stream's features.

    ``x`` is in the coordinates of the training dataset's samples (``info.normalise`` describes them;
    :func:`mgclr.emotion.recognize.normalise_video` brings raw skeletons there, per video or per window). A
    stream's evaluation preprocessing (e.g. the centre crop resized to the pretraining length) runs first, as in
    the protocol its classifier was trained with; then its input modality and encoder (the stream's ``encode``
    as in training)."""

    def __init__(self, streams: Mapping[str, RecognizerStream], info: DatasetInfo, protocol: str):
        super().__init__()
        if not streams:
            raise ValueError("streams: expected at least one stream, got none")
        self.info = info
        self.class_names = list(info.class_names)
        self.protocol = protocol
        self.streams = dict(streams)
        weights = [s.weight for s in self.streams.values()]
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"weights: expected weights >= 0 that do not sum to 0, got {weights}")
        self.encoders = nn.ModuleDict()
        self.classifiers = nn.ModuleDict()
        self.pipelines = nn.ModuleDict()
        for name, stream in self.streams.items():
            encoder = build_stream_encoder(f"streams.{name}", stream.config, info)
            self.encoders[name] = encoder
            self.classifiers[name] = _classifier(encoder.out_dim, len(self.class_names), stream.batchnorm)
            if stream.preprocess:
                self.pipelines[name] = build_pipeline(f"streams.{name}.preprocess", stream.preprocess, info,
                                                      two_views=False)
        self.eval()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def layout(self):
        """The :class:`~mgclr.skeleton.Layout` of the data it was trained on."""
        return self.info.layout

    @property
    def weights(self) -> Dict[str, float]:
        return {name: s.weight for name, s in self.streams.items()}

    def _inputs(self, name: str, x: torch.Tensor, lengths: torch.Tensor):
        if name not in self.pipelines:
            return x, lengths
        x, params = self.pipelines[name](x, lengths, seed=self.streams[name].seed, return_params=True)
        return x, params.lengths[0]

    @torch.no_grad()
    def embed(self, x: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``{stream: (N, F) features}`` of a batch (the stream's preprocessing, input modality and encoder)."""
        return {name: encoder(*self._inputs(name, x, lengths)).float() for name, encoder in self.encoders.items()}

    @torch.no_grad()
    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        total = sum(self.weights.values())
        probs = [self.streams[name].weight / total * self.classifiers[name](f).float().softmax(dim=1)
                 for name, f in self.embed(x, lengths).items()]
        return torch.stack(probs).sum(dim=0)

    # ---------------------------------------------------------------------------------- build / save / load

    @classmethod
    def from_results(cls, info: DatasetInfo, results: Mapping[str, Mapping[str, Any]], protocol: str,
                     weights: Optional[Mapping[str, float]] = None) -> Recognizer:
        """From the results of :func:`~mgclr.train.linear_eval` / :func:`~mgclr.train.finetune_eval` (each
        stream's ``encoder``, ``classifier`` and the ``config`` they were built from; the rows of a cross-run
        fusion come from different configs) on data described by ``info``; ``weights``: each stream's fusion
        weight (default 1)."""
        if protocol not in ("linear", "finetune"):
            raise ValueError(f"protocol: expected 'linear' or 'finetune', got {protocol!r}")
        weights = dict(weights or {})
        unknown = [n for n in weights if n not in results]
        if unknown:
            raise ValueError(f"weights: no stream {unknown[0]!r} among {', '.join(results)}")
        streams = {}
        sources = {}
        for name, r in results.items():
            config = r["config"]
            section = config.linear if protocol == "linear" else config.finetune
            own = r.get("stream", name)
            sources[name] = own
            streams[name] = RecognizerStream(config.model.streams[own], section.test_augment,
                                             bool(getattr(section, "batchnorm", False)),
                                             float(weights.get(name, 1.0)), config.seed)
        rec = cls(streams, info, protocol)
        for name, r in results.items():
            rec.encoders[name].load_state_dict({k: v.detach().cpu() for k, v in r["encoder"].state_dict().items()})
            rec.classifiers[name].load_state_dict({k: v.detach().cpu()
                                                   for k, v in r["classifier"].state_dict().items()})
        return rec.eval()

    def save(self, path: Union[str, Path]) -> Path:
        return save_checkpoint(path, {
            "kind": KIND, "version": VERSION, "data": self.info.to_dict(),  # the classes are in data
            "protocol": self.protocol, "streams": {n: s.to_dict() for n, s in self.streams.items()},
            "encoders": {n: e.state_dict() for n, e in self.encoders.items()},
            "classifiers": {n: c.state_dict() for n, c in self.classifiers.items()}})

    @classmethod
    def load(cls, path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> Recognizer:
        state = load_checkpoint(path, map_location=map_location)
        if state.get("kind") != KIND:
            raise ValueError(f"checkpoint: {path} is not a recognizer (kind {state.get('kind')!r}); write one with "
                             "mgclr linear / finetune / fuse (OUTPUT/recognizer_<protocol>.pt)")
        if state.get("version") != VERSION or "data" not in state:
            raise ValueError(f"checkpoint: {path} is a recognizer of an earlier mgclr (before streams were data); "
                             f"write it again with mgclr linear / finetune / fuse")
        try:
            info = DatasetInfo.from_dict(state["data"], f"{path}: data")
            streams = {n: RecognizerStream.from_dict(s, f"{path}: streams.{n}") for n, s in state["streams"].items()}
        except (ConfigError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"checkpoint: {path}: {exc}") from None
        rec = cls(streams, info, state["protocol"])
        for name in streams:
            for part, modules in (("encoders", rec.encoders), ("classifiers", rec.classifiers)):
                held = state.get(part)
                load_weights(modules[name], held.get(name) if isinstance(held, dict) else None, path,
                             f"{part}.{name}")
        return rec.eval()

    def describe(self) -> Dict[str, Any]:
        return {"protocol": self.protocol, "streams": list(self.encoders), "weights": self.weights,
                "inputs": {n: s.config.input for n, s in self.streams.items()}, "classes": self.num_classes,
                "layout": self.layout.name, "preprocess": {n: s.preprocess for n, s in self.streams.items()},
                "data": self.info.summary(), "normalise": self.info.normalise}
