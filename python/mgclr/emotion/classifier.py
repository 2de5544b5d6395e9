"""Video-level emotion (win / lose) from the micro-gestures alone: the paper's Table 7 setting.

Two models over a :class:`~mgclr.emotion.timeline.Timeline`:

* ``gru``: a bidirectional GRU over the MG token sequence. Token ``i`` is the MG's class embedding
  concatenated with ``log1p(duration in s)``, ``log1p(gap since the previous MG's end in s)`` and its
  relative position in the video; a start token makes videos without any MG valid input. Mean- and
  max-pooled GRU outputs -> two logits.
* ``bag``: bag-of-MGs logistic regression: per class, MGs per minute; plus MGs per minute overall and the
  mean log duration; standardised on the training videos, L2-regularised, fitted with L-BFGS (the whole
  training set is one batch: deterministic).

Outcome indices follow :data:`~mgclr.emotion.timeline.OUTCOMES`: 0 = win, 1 = lose.

The split is the iMiGUE protocol's (:func:`official_split`: the 102 training videos, 51 won and 51 lost, and
100 test videos, 50 / 50, that the protocol PDF published with the dataset lists) whenever the timelines hold
those videos; otherwise, or on request, one as balanced is drawn by :func:`balanced_split` from a seed
(:func:`choose_split`). It is saved, so every model and rerun sees the same videos. Accuracy comes
with a 95 % Wilson interval (100 test videos give about +/- 10 points: differences smaller than that are not
evidence), beside the majority baseline (the training set's most frequent outcome).

Which MGs weigh toward win or lose: for ``bag``, each class's coefficient (standardised rate; > 0 toward
lose); for ``gru``, occlusion: the mean change of P(lose) over the videos that contain the class when all its
MGs are removed (> 0: the class pushed toward lose).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._files import write_json_atomic
from ..train.checkpoint import load_checkpoint, load_weights, save_checkpoint
from .timeline import OUTCOMES, Timeline

__all__ = ["SPLIT_CHOICES", "EmotionConfig", "EmotionModel", "Split", "balanced_split", "choose_split", "evaluate",
           "holds_official_videos", "official_split", "train_emotion",
           "wilson_interval"]

MODELS = ("gru", "bag")
KIND = "mgclr-emotion"


@dataclass
class EmotionConfig:
    """Hyper-parameters of both models (``model`` picks one). Defaults are sized for ~100 training videos."""

    model: str = "gru"
    embed_dim: int = 16
    hidden: int = 32
    epochs: int = 40
    lr: float = 0.01
    weight_decay: float = 1e-3
    batch_size: int = 32
    dropout: float = 0.2
    l2: float = 1.0               # bag: the penalty 0.5 * l2 * |w|^2 over the mean log-loss * n
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model: expected one of {MODELS}, got {self.model!r}")
        for key in ("embed_dim", "hidden", "epochs", "batch_size"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key}: expected an int >= 1, got {value!r}")
        for key in ("lr", "weight_decay", "dropout", "l2"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{key}: expected a finite value >= 0, got {value!r}")
        if self.lr == 0 or self.dropout >= 1:
            raise ValueError(f"lr > 0 and dropout < 1 expected, got lr={self.lr}, dropout={self.dropout}")


# ------------------------------------------------------------------------------------------------ split


SPLIT_CHOICES = ("auto", "official", "random")


@dataclass
class Split:
    """Video names of the training and test videos, and how they were chosen (``protocol``: ``"official"``,
    the iMiGUE protocol's; ``"random"``, drawn from ``seed``; None: given by hand)."""

    train: List[str]
    test: List[str]
    seed: Optional[int] = None
    protocol: Optional[str] = None

    def save(self, path: Union[str, Path]) -> Path:
        return write_json_atomic(path, dataclasses.asdict(self), indent=1)

    @classmethod
    def load(cls, path: Union[str, Path]) -> Split:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"split: {path} does not exist")
        try:
            data = json.loads(path.read_text())
            split = cls(list(map(str, data["train"])), list(map(str, data["test"])), data.get("seed"),
                        data.get("protocol"))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"split: {path}: expected JSON with lists 'train' and 'test' ({exc})") from None
        both = set(split.train) & set(split.test)
        if both:
            raise ValueError(f"split: {path}: videos in both train and test: {sorted(both)[:5]}")
        return split

    def select(self, timelines: Sequence[Timeline]) -> Tuple[List[Timeline], List[Timeline]]:
        by_name = {t.video: t for t in timelines}
        missing = [v for v in self.train + self.test if v not in by_name]
        if missing:
            raise ValueError(f"split: {len(missing)} of its videos are not in the timelines (first: {missing[:3]})")
        return [by_name[v] for v in self.train], [by_name[v] for v in self.test]


def balanced_split(timelines: Sequence[Timeline], train_per_outcome: int = 51, test_per_outcome: int = 50,
                   seed: int = 0) -> Split:
    """The paper's balanced video split, drawn reproducibly: ``train_per_outcome`` won and as many lost
    videos for training, ``test_per_outcome`` of each for testing, from the videos whose outcome is known."""
    rng = np.random.default_rng(seed)
    train: List[str] = []
    test: List[str] = []
    for outcome in OUTCOMES:
        names = sorted(t.video for t in timelines if t.outcome == outcome)
        need = train_per_outcome + test_per_outcome
        if len(names) < need:
            raise ValueError(f"timelines: {need} videos with outcome {outcome!r} needed for a "
                             f"{train_per_outcome}+{test_per_outcome} split, found {len(names)}")
        chosen = rng.permutation(names)[:need].tolist()
        train += chosen[:train_per_outcome]
        test += chosen[train_per_outcome:]
    return Split(sorted(train), sorted(test), seed, "random")


def _video_number(name: str) -> Optional[int]:
    return int(name) if name.isdigit() else None


def official_split(timelines: Sequence[Timeline]) -> Split:
    """The iMiGUE protocol's emotion split, on ``timelines`` named by video number (``"298"`` or ``"0298"``,
    as ``mgclr prepare imigue`` writes them). A protocol video missing from the timelines, or outcomes that do
    not give the protocol's 51 / 51 and 50 / 50, is an error naming them."""
    from ..data.convert.imigue import PROTOCOL

    protocol = PROTOCOL["emotion_videos"]
    by_number = {_video_number(t.video): t for t in timelines if _video_number(t.video) is not None}
    parts = {}
    for part, per_outcome in (("train", 51), ("test", 50)):
        missing = [v for v in protocol[part] if v not in by_number]
        if missing:
            raise ValueError(f"split: official: {len(missing)} of the iMiGUE protocol's {len(protocol[part])} {part} "
                             f"videos are not in the timelines (first: {missing[:5]}); convert every video with "
                             f"mgclr prepare imigue, or use --split random")
        chosen = [by_number[v] for v in protocol[part]]
        counts = {o: sum(t.outcome == o for t in chosen) for o in OUTCOMES}
        if any(n != per_outcome for n in counts.values()):
            raise ValueError(f"split: official: the timelines give the protocol's {len(chosen)} {part} videos "
                             f"{', '.join(f'{n} {o}' for o, n in counts.items())}; the protocol has {per_outcome} of "
                             f"each (are the outcomes those of the iMiGUE label file?)")
        parts[part] = [t.video for t in chosen]
    return Split(parts["train"], parts["test"], None, "official")


def holds_official_videos(timelines: Sequence[Timeline]) -> bool:
    """Whether ``timelines`` name every video of the iMiGUE protocol's emotion split (by number)."""
    from ..data.convert.imigue import PROTOCOL

    numbers = {_video_number(t.video) for t in timelines}
    return all(v in numbers for part in ("train", "test") for v in PROTOCOL["emotion_videos"][part])


def choose_split(timelines: Sequence[Timeline], split: Union[Split, str, Path, None] = "auto", *, seed: int = 0,
                 train_per_outcome: int = 51, test_per_outcome: int = 50) -> Split:
    """The split to train and test on: a :class:`Split` as given; ``"official"``: :func:`official_split`;
    ``"random"``: :func:`balanced_split` from ``seed``; ``"auto"`` (or None): the official one when the
    timelines hold the protocol's videos (iMiGUE's), else a random one; any other string or path: a saved
    ``split.json``."""
    if isinstance(split, Split):
        return split
    if split is None or split == "auto":
        split = "official" if holds_official_videos(timelines) else "random"
    if split == "official":
        return official_split(timelines)
    if split == "random":
        return balanced_split(timelines, train_per_outcome, test_per_outcome, seed)
    return Split.load(split)


def _targets(timelines: Sequence[Timeline], what: str) -> torch.Tensor:
    unknown = [t.video for t in timelines if t.outcome is None]
    if unknown:
        raise ValueError(f"{what}: {len(unknown)} videos have no outcome (first: {unknown[:3]})")
    return torch.tensor([OUTCOMES.index(t.outcome) for t in timelines])


# ----------------------------------------------------------------------------------------------- models


class MGSequenceClassifier(nn.Module):
    """Bidirectional GRU over MG tokens (see the module docstring). ``num_classes`` MG classes; token ids
    ``num_classes`` (unknown class) and ``num_classes + 1`` (start) are reserved."""

    NUM_FEATURES = 3

    def __init__(self, num_classes: int, embed_dim: int = 16, hidden: int = 32, dropout: float = 0.2):
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes + 2, embed_dim)
        self.inp = nn.Linear(embed_dim + self.NUM_FEATURES, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(4 * hidden, len(OUTCOMES))

    def forward(self, tokens: torch.Tensor, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(torch.cat([self.embed(tokens), feats], dim=-1)))
        packed = nn.utils.rnn.pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        valid = (torch.arange(tokens.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
        mean = (out * valid).sum(1) / lengths[:, None].to(out.dtype)
        peak = out.masked_fill(~valid, float("-inf")).max(1).values
        return self.out(self.drop(torch.cat([mean, peak], dim=1)))


class BagOfMGs(nn.Module):
    """Logistic regression on standardised per-class MG rates (see the module docstring)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        num_features = num_classes + 2
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.linear = nn.Linear(num_features, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        z = self.linear((feats - self.mean) / self.std).squeeze(1)
        return torch.stack([-z / 2, z / 2], dim=1)  # softmax -> P(lose) = sigmoid(z)


def _tokens(timeline: Timeline, num_classes: int) -> Tuple[List[int], List[List[float]]]:
    duration = timeline.duration_seconds or 1.0
    tokens, feats = [num_classes + 1], [[0.0, 0.0, 0.0]]
    previous_end = 0.0
    for e in timeline.events:
        start, end = e.start_seconds(timeline.fps), e.end_seconds(timeline.fps)
        tokens.append(e.label if e.label < num_classes else num_classes)
        feats.append([math.log1p(end - start), math.log1p(max(0.0, start - previous_end)), start / duration])
        previous_end = max(previous_end, end)
    return tokens, feats


def _sequence_batch(timelines: Sequence[Timeline], num_classes: int):
    encoded = [_tokens(t, num_classes) for t in timelines]
    L = max(len(tok) for tok, _ in encoded)
    tokens = torch.zeros(len(encoded), L, dtype=torch.int64)
    feats = torch.zeros(len(encoded), L, MGSequenceClassifier.NUM_FEATURES)
    lengths = torch.tensor([len(tok) for tok, _ in encoded])
    for i, (tok, f) in enumerate(encoded):
        tokens[i, :len(tok)] = torch.tensor(tok)
        feats[i, :len(tok)] = torch.tensor(f)
    return tokens, feats, lengths


def _bag_features(timelines: Sequence[Timeline], num_classes: int) -> torch.Tensor:
    out = torch.zeros(len(timelines), num_classes + 2)
    for i, t in enumerate(timelines):
        minutes = max((t.duration_seconds or 60.0) / 60.0, 1e-6)
        for e in t.events:
            if e.label < num_classes:
                out[i, e.label] += 1.0 / minutes
        out[i, num_classes] = len(t.events) / minutes
        if t.events:
            out[i, num_classes + 1] = float(np.mean([math.log1p(e.frames / t.fps) for e in t.events]))
    return out


# ------------------------------------------------------------------------------------------ the model


class EmotionModel:
    """A trained video-level classifier: its config, MG vocabulary (class names by label) and network."""

    def __init__(self, config: EmotionConfig, class_names: Sequence[str], network: Optional[nn.Module] = None):
        self.config = config
        self.class_names = list(class_names)
        if network is None:
            K = len(self.class_names)
            network = MGSequenceClassifier(K, config.embed_dim, config.hidden, config.dropout) \
                if config.model == "gru" else BagOfMGs(K)
        self.network = network.eval()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def unknown_labels(self, timelines: Sequence[Timeline]) -> int:
        """MGs whose class the model never saw in training (read as one "unknown" token / left out of the bag)."""
        return sum(e.label >= self.num_classes for t in timelines for e in t.events)

    def logits(self, timelines: Sequence[Timeline]) -> torch.Tensor:
        if self.config.model == "gru":
            return self.network(*_sequence_batch(timelines, self.num_classes))
        return self.network(_bag_features(timelines, self.num_classes))

    @torch.no_grad()
    def predict_proba(self, timelines: Sequence[Timeline]) -> torch.Tensor:
        """(N, 2) probabilities of (win, lose)."""
        if not timelines:
            raise ValueError("timelines: expected at least one video, got none")
        self.network.eval()
        return self.logits(timelines).softmax(dim=1)

    def mg_weights(self, timelines: Sequence[Timeline]) -> Dict[str, float]:
        """How much each MG class pushes toward lose (> 0) or win (< 0); see the module docstring."""
        if self.config.model == "bag":
            w = self.network.linear.weight.detach()[0, :self.num_classes]
            return {self.class_names[k]: float(w[k]) for k in range(self.num_classes)}
        base = self.predict_proba(timelines)[:, 1]
        weights = {}
        for k in range(self.num_classes):
            holders = [i for i, t in enumerate(timelines) if any(e.label == k for e in t.events)]
            if not holders:
                continue
            without = [dataclasses.replace(timelines[i], events=[e for e in timelines[i].events if e.label != k])
                       for i in holders]
            weights[self.class_names[k]] = float((base[holders] - self.predict_proba(without)[:, 1]).mean())
        return weights

    def save(self, path: Union[str, Path]) -> Path:
        """Atomically, through the one checkpoint writer (:func:`mgclr.train.checkpoint.save_checkpoint`)."""
        return save_checkpoint(path, {"kind": KIND, "config": dataclasses.asdict(self.config),
                                      "class_names": self.class_names, "state": self.network.state_dict()})

    @classmethod
    def load(cls, path: Union[str, Path]) -> EmotionModel:
        state = load_checkpoint(path, map_location="cpu")
        if state.get("kind") != KIND:
            raise ValueError(f"checkpoint: {path} is not an emotion model (write one with mgclr emotion train)")
        model = cls(EmotionConfig(**state["config"]), state["class_names"])
        load_weights(model.network, state.get("state"), path, "state")
        return model


def _vocabulary(timelines: Sequence[Timeline]) -> List[str]:
    names: Dict[int, str] = {}
    for t in timelines:
        for e in t.events:
            if names.setdefault(e.label, e.name) != e.name:
                raise ValueError(f"timelines: label {e.label} is called both {names[e.label]!r} and {e.name!r} "
                                 f"(video {t.video})")
    if not names:
        raise ValueError("timelines: the training videos contain no MG at all")
    return [names.get(k, f"class_{k}") for k in range(max(names) + 1)]


def train_emotion(train: Sequence[Timeline], config: Optional[EmotionConfig] = None) -> EmotionModel:
    """Fit ``config.model`` on the training videos (all with a known outcome)."""
    config = config or EmotionConfig()
    if not train:
        raise ValueError("train: expected at least one video, got none")
    y = _targets(train, "train")
    if len(set(y.tolist())) < 2:
        raise ValueError(f"train: both outcomes needed, got only {OUTCOMES[int(y[0])]!r}")
    torch.manual_seed(config.seed)
    model = EmotionModel(config, _vocabulary(train))
    net = model.network
    if config.model == "bag":
        feats = _bag_features(train, model.num_classes)
        net.mean.copy_(feats.mean(0))
        net.std.copy_(feats.std(0).clamp_min(1e-6))
        optimizer = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=500, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = F.cross_entropy(net(feats), y) + 0.5 * config.l2 * net.linear.weight.pow(2).sum() / len(y)
            loss.backward()
            return loss

        net.train()
        optimizer.step(closure)
        return EmotionModel(config, model.class_names, net)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    threads = torch.get_num_threads()
    # A network this small runs 2-3x faster on one intra-op thread (more only add synchronisation).
    torch.set_num_threads(1)
    try:
        _fit_sequence_model(model, train, y, optimizer, generator)
    finally:
        torch.set_num_threads(threads)
    net.eval()
    return model


def _fit_sequence_model(model: EmotionModel, train: Sequence[Timeline], y: torch.Tensor, optimizer, generator) -> None:
    config, net = model.config, model.network
    for _ in range(config.epochs):
        net.train()
        order = torch.randperm(len(train), generator=generator).tolist()
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            loss = F.cross_entropy(model.logits([train[j] for j in idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


# ------------------------------------------------------------------------------------------- evaluation


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> Tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % by default)."""
    if total <= 0:
        raise ValueError(f"total: expected > 0, got {total}")
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def evaluate(model: EmotionModel, test: Sequence[Timeline], train: Optional[Sequence[Timeline]] = None,
             top: int = 5) -> Dict[str, Any]:
    """Accuracy (with its 95 % Wilson interval), the confusion matrix (rows true win/lose, columns
    predicted), the majority baseline (the training videos' most frequent outcome; test majority when
    ``train`` is None), the ``top`` MG classes toward win and toward lose, per-video predictions."""
    y = _targets(test, "test")
    probs = model.predict_proba(test)
    pred = probs.argmax(1)
    correct = int((pred == y).sum())
    confusion = [[int(((y == a) & (pred == b)).sum()) for b in range(len(OUTCOMES))] for a in range(len(OUTCOMES))]
    reference = _targets(train, "train") if train is not None else y
    majority = int(torch.bincount(reference, minlength=len(OUTCOMES)).argmax())
    baseline = float((y == majority).float().mean())
    weights = model.mg_weights(test)
    ranked = sorted(weights.items(), key=lambda kv: kv[1])
    lo, hi = wilson_interval(correct, len(y))
    return {"model": model.config.model, "videos": len(y), "accuracy": correct / len(y), "ci95": [lo, hi],
            "majority_baseline": baseline, "majority_outcome": OUTCOMES[majority], "confusion": confusion,
            "labels": list(OUTCOMES), "unknown_mgs": model.unknown_labels(test),
            "toward_win": [[n, w] for n, w in ranked[:top] if w < 0],
            "toward_lose": [[n, w] for n, w in reversed(ranked[-top:]) if w > 0],
            "predictions": [{"video": t.video, "outcome": t.outcome, "p_lose": float(p[1])}
                            for t, p in zip(test, probs)]}
