"""A trained MG recognizer in one file: each stream's encoder and classifier from the linear or the finetuning
protocol, the description of the data it was trained on (layout, C, V, M, coordinate channels, fps, classes
and the converter's normalisation), and the evaluation preprocessing -- what ``mgclr recognize`` slides over
a long skeleton sequence (:mod:`mgclr.emotion.recognize`).

``mgclr linear`` / ``finetune`` / ``fuse`` write it as ``OUTPUT/recognizer_<protocol>.pt``. The file holds
plain data only (state dicts, the resolved config, the data's description, names), read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from ..data.info import DatasetInfo
from .build import build_encoder, build_pipeline
from .checkpoint import load_checkpoint, save_checkpoint
from .config import ConfigError, ExperimentConfig, config_to_dict, parse_config, stream_items

__all__ = ["Recognizer"]

KIND = "mgclr-recognizer"


def _classifier(in_dim: int, num_classes: int, batchnorm: bool) -> nn.Module:
    linear = nn.Linear(in_dim, num_classes)
    return nn.Sequential(nn.BatchNorm1d(in_dim, affine=False), linear) if batchnorm else linear


class Recognizer(nn.Module):
    """Fused MG classifier: ``forward(x (N, C, T, V, M), lengths (N,))`` -> class probabilities ``(N, K)``,
    the mean over streams of each stream's softmax (the paper's score fusion, divided by the number of
    streams so that it stays a probability). ``x`` is in the coordinates of the training dataset's samples
    (``info.normalise`` describes them; :func:`mgclr.emotion.recognize.normalise_video` brings raw skeletons
    there, per video or per window). The evaluation preprocessing of the protocol (e.g. the centre crop
    resized to the pretraining length) runs first, as in the protocol the classifiers were trained with."""

    def __init__(self, config: ExperimentConfig, info: DatasetInfo, protocol: str,
                 preprocess: Optional[Dict[str, Any]], batchnorm: bool, streams: Optional[Sequence[str]] = None):
        super().__init__()
        self.config = config
        self.info = info
        self.class_names = list(info.class_names)
        self.protocol = protocol
        self.preprocess_spec = dict(preprocess) if preprocess else None
        self.batchnorm = bool(batchnorm)
        wanted = [n for n, _ in stream_items(config.model)] if streams is None else list(streams)
        self.encoders = nn.ModuleDict()
        self.classifiers = nn.ModuleDict()
        for name, stream in stream_items(config.model):
            if name not in wanted:
                continue
            encoder = build_encoder(f"model.{name}.encoder", stream.encoder.kind, stream.encoder.args, info)
            self.encoders[name] = encoder
            self.classifiers[name] = _classifier(encoder.out_dim, len(self.class_names), self.batchnorm)
        if not len(self.encoders):
            raise ValueError(f"streams: none of {wanted} is in the config's model")
        self.pipeline = build_pipeline("preprocess", self.preprocess_spec, info, two_views=False) \
            if self.preprocess_spec else None
        self.eval()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def layout(self):
        """The :class:`~mgclr.skeleton.Layout` of the data it was trained on."""
        return self.info.layout

    @torch.no_grad()
    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.pipeline is not None:
            x, params = self.pipeline(x, lengths, seed=self.config.seed, return_params=True)
            lengths = params.lengths[0]
        probs = [self.classifiers[name](enc(x, lengths)).float().softmax(dim=1) for name, enc in self.encoders.items()]
        return torch.stack(probs).mean(dim=0)

    # ---------------------------------------------------------------------------------- build / save / load

    @classmethod
    def from_results(cls, config: ExperimentConfig, info: DatasetInfo, results: Mapping[str, Mapping[str, Any]],
                     protocol: str) -> Recognizer:
        """From the results of :func:`~mgclr.train.linear_eval` / :func:`~mgclr.train.finetune_eval` (which
        keep each stream's ``encoder`` and ``classifier``) on data described by ``info``; ``config`` is the
        one the encoders were built from (:func:`~mgclr.train.evaluate.evaluation_config`)."""
        if protocol not in ("linear", "finetune"):
            raise ValueError(f"protocol: expected 'linear' or 'finetune', got {protocol!r}")
        section = config.linear if protocol == "linear" else config.finetune
        batchnorm = bool(getattr(section, "batchnorm", False))
        rec = cls(config, info, protocol, section.test_augment, batchnorm, streams=list(results))
        for name, r in results.items():
            rec.encoders[name].load_state_dict({k: v.detach().cpu() for k, v in r["encoder"].state_dict().items()})
            rec.classifiers[name].load_state_dict({k: v.detach().cpu()
                                                   for k, v in r["classifier"].state_dict().items()})
        return rec.eval()

    def save(self, path: Union[str, Path]) -> Path:
        return save_checkpoint(path, {
            "kind": KIND, "config": config_to_dict(self.config), "data": self.info.to_dict(),  # classes in data
            "protocol": self.protocol, "preprocess": self.preprocess_spec, "batchnorm": self.batchnorm,
            "streams": list(self.encoders),
            "encoders": {n: e.state_dict() for n, e in self.encoders.items()},
            "classifiers": {n: c.state_dict() for n, c in self.classifiers.items()}})

    @classmethod
    def load(cls, path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> Recognizer:
        state = load_checkpoint(path, map_location=map_location)
        if state.get("kind") != KIND:
            raise ValueError(f"checkpoint: {path} is not a recognizer (kind {state.get('kind')!r}); write one with "
                             "mgclr linear / finetune / fuse (OUTPUT/recognizer_<protocol>.pt)")
        if "data" not in state:
            raise ValueError(f"checkpoint: {path} is a recognizer of an earlier mgclr without the description of its "
                             f"data; write it again with mgclr linear / finetune / fuse")
        try:
            config = parse_config(state["config"])
            info = DatasetInfo.from_dict(state["data"], f"{path}: data")
        except (ConfigError, ValueError) as exc:
            raise ValueError(f"checkpoint: {path}: {exc}") from None
        rec = cls(config, info, state["protocol"], state["preprocess"], state["batchnorm"], streams=state["streams"])
        for name in state["streams"]:
            rec.encoders[name].load_state_dict(state["encoders"][name])
            rec.classifiers[name].load_state_dict(state["classifiers"][name])
        return rec.eval()

    def describe(self) -> Dict[str, Any]:
        return {"protocol": self.protocol, "streams": list(self.encoders), "classes": self.num_classes,
                "layout": self.layout.name, "preprocess": self.preprocess_spec, "data": self.info.summary(),
                "normalise": self.info.normalise}

