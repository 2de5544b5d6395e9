"""Evaluation protocols on the pretrained query encoders (projection heads removed).

* :func:`knn_eval`: cosine kNN on frozen features, k = 1 (nearest neighbour) and weighted k = 20 (votes
  ``exp(cos / 0.1)``, as InstDisc); also the pretraining's monitor (:func:`knn_monitor`).
* :func:`linear_eval`: a linear classifier on frozen features (encoder in eval mode); features are
  computed once when the linear stage has no augmentation; top-1/top-5 of the best and the last epoch.
* :func:`finetune_eval`: encoder and classifier trained end to end on a (per-class, seeded) fraction of
  the labels; from a random initialisation it is the supervised reference.
* :func:`fuse_eval`: the paper's fusion, the sum of the two streams' softmax scores; spatial, temporal
  and fused top-1/top-5 (its Table 3), a confusion matrix and a t-SNE of each stream's features (PNG).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .._files import write_json_atomic
from ..data.info import DatasetInfo
from ..models import DualStreamMoCo
from .build import build_model, build_pipeline, learning_rate, load_splits, sgd
from .checkpoint import first_non_finite, latest_checkpoint, load_checkpoint
from .config import ConfigError, ExperimentConfig, OptimConfig
from .run import check_same_data, config_for_checkpoint

__all__ = ["evaluation_config", "extract_features", "finetune_eval", "fuse_eval", "knn_eval", "knn_monitor",
           "knn_predict", "linear_eval", "load_pretrained", "topk_accuracy"]


# ------------------------------------------------------------------------------------------------- basics


def _checkpoint_state(config: ExperimentConfig, checkpoint: Optional[Path], mmap: bool = False
                      ) -> Tuple[Path, Dict[str, Any]]:
    path = checkpoint or latest_checkpoint(config.output)
    if path is None:
        raise FileNotFoundError(f"checkpoint: none in {config.output}; pretrain first (mgclr pretrain) or "
                                "pass --checkpoint")
    return Path(path), load_checkpoint(path, map_location="cpu", require=("model",), mmap=mmap)


def evaluation_config(config: ExperimentConfig, checkpoint: Optional[Path] = None, random_init: bool = False
                      ) -> ExperimentConfig:
    """``config`` with the model shapes of the checkpoint to evaluate (``random_init``: ``config`` itself), so
    that everything built for the evaluation -- the model, the recognizer written after it -- matches the
    weights (:func:`mgclr.train.run.config_for_checkpoint`)."""
    if random_init:
        return config
    path, state = _checkpoint_state(config, checkpoint, mmap=True)  # only the config is read here
    return config_for_checkpoint(config, state, path)


def load_pretrained(config: ExperimentConfig, device: torch.device, checkpoint: Optional[Path] = None,
                    random_init: bool = False, info: Optional[DatasetInfo] = None) -> DualStreamMoCo:
    """The model of ``config`` with the weights of ``checkpoint`` (default: the run's latest; its shapes rule,
    see :func:`evaluation_config`), or freshly initialised with ``random_init`` (the baseline every table
    reports beside the pretrained numbers). ``info``: the data's description (default: read the data)."""
    if info is None:
        info = load_splits(config.data)[2]
    if random_init:
        return build_model(config, info).to(device).eval()
    path, state = _checkpoint_state(config, checkpoint)
    config = config_for_checkpoint(config, state, path)
    check_same_data(state, info, path)
    bad = first_non_finite(state["model"])
    if bad is not None:
        raise ValueError(f"checkpoint: {path} holds non-finite weights ({bad} has NaN or inf): nothing to evaluate")
    model = build_model(config, info)
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def _loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0, workers: int = 0) -> DataLoader:
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, num_workers=workers)


@torch.no_grad()
def extract_features(encoder: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 256,
                     pipeline=None, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """(features (N, F) float32 on the CPU, labels (N,)) of ``encoder`` in eval mode; ``pipeline`` (one
    view) augments each batch first, seeded by (seed, batch)."""
    was_training = encoder.training
    encoder.eval()
    feats, labels = [], []
    for i, (x, lengths, y) in enumerate(_loader(dataset, batch_size)):
        x, lengths = x.to(device), lengths.to(device)
        if pipeline is not None:
            x, params = pipeline(x, lengths, seed=seed * 7919 + i, return_params=True)
            lengths = params.lengths[0]
        feats.append(encoder(x, lengths).float().cpu())
        labels.append(y)
    encoder.train(was_training)
    return torch.cat(feats), torch.cat(labels)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)) -> Dict[int, float]:
    top = scores.topk(min(max(ks), scores.shape[1]), dim=1).indices
    hits = top == labels.unsqueeze(1)
    return {k: float(hits[:, :k].any(dim=1).float().mean()) for k in ks}


def knn_predict(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, k: int, num_classes: int,
                temperature: float = 0.1, chunk: int = 1024) -> torch.Tensor:
    """Class scores (M, num_classes) of cosine kNN: k = 1 votes for the nearest neighbour; k > 1 weights
    each of the k nearest by exp(cos / temperature)."""
    train = F.normalize(train, dim=1)
    test = F.normalize(test, dim=1)
    scores = []
    for start in range(0, test.shape[0], chunk):
        sim = test[start:start + chunk] @ train.t()
        top_sim, top_idx = sim.topk(min(k, train.shape[0]), dim=1)
        weights = torch.ones_like(top_sim) if k == 1 else (top_sim / temperature).exp()
        votes = torch.zeros(sim.shape[0], num_classes)
        votes.scatter_add_(1, train_labels[top_idx], weights)
        scores.append(votes)
    return torch.cat(scores)


def _num_classes(info: DatasetInfo, *label_sets: torch.Tensor) -> int:
    """The dataset's number of classes; a label outside it is an error naming the value."""
    n = info.num_classes
    for labels in label_sets:
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n):
            raise ConfigError(f"data: labels {int(labels.min())}..{int(labels.max())} outside the {n} classes of "
                              f"{info.source}")
    return n


@torch.no_grad()
def knn_monitor(model: DualStreamMoCo, train_set: Dataset, test_set: Dataset, config: ExperimentConfig,
                process, info: DatasetInfo) -> Dict[str, float]:
    """Weighted kNN top-1 of each stream's query encoder, run on rank 0 (the others wait)."""
    scores: Dict[str, float] = {}
    if process.main:
        for name, stream in model.streams:
            train, train_y = extract_features(stream.encoder_q, train_set, process.device)
            test, test_y = extract_features(stream.encoder_q, test_set, process.device)
            votes = knn_predict(train, train_y, test, config.pretrain.knn_k, _num_classes(info, train_y, test_y),
                                config.knn.temperature)
            scores[name] = topk_accuracy(votes, test_y, (1,))[1]
    process.barrier()
    return scores


# ------------------------------------------------------------------------------------------------ kNN


def knn_eval(config: ExperimentConfig, device: torch.device, checkpoint: Optional[Path] = None,
             random_init: bool = False) -> Dict[str, Dict[str, float]]:
    """{stream: {"k=1": top-1, "k=20": top-1, ...}} on the test split."""
    train_set, test_set, info = load_splits(config.data)
    model = load_pretrained(config, device, checkpoint, random_init, info)
    out = {}
    for name, stream in model.streams:
        train, train_y = extract_features(stream.encoder_q, train_set, device)
        test, test_y = extract_features(stream.encoder_q, test_set, device)
        n = _num_classes(info, train_y, test_y)
        out[name] = {f"k={k}": topk_accuracy(knn_predict(train, train_y, test, k, n, config.knn.temperature),
                                             test_y, (1,))[1] for k in config.knn.k}
    return out


# --------------------------------------------------------------------------------------------- linear


def _train_classifier(make_batches, test_scores, epochs: int, optim: OptimConfig, params) -> Dict[str, Any]:
    """The epoch loop shared by the linear and the finetuning protocols: ``make_batches(epoch)`` yields
    (logits, labels), ``test_scores()`` returns (scores, labels) of the test split."""
    optimizer = sgd(params, optim)
    history, best = [], None
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(optim, epochs, epoch)
        for logits, labels in make_batches(epoch):
            loss = F.cross_entropy(logits, labels.to(logits.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scores, labels = test_scores()
        acc = topk_accuracy(scores, labels)
        history.append(acc)
        if best is None or acc[1] > best[1][1]:
            best = (epoch, acc, scores)
    last_scores, labels = scores, labels
    return {"top1_last": history[-1][1], "top5_last": history[-1][5], "top1_best": best[1][1],
            "top5_best": best[1][5], "best_epoch": best[0] + 1, "scores": last_scores.softmax(dim=1),
            "labels": labels}


def linear_eval(config: ExperimentConfig, device: torch.device, checkpoint: Optional[Path] = None,
                random_init: bool = False, streams: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, Any]]:
    """{stream: {top1_best, top5_best, best_epoch, top1_last, top5_last, scores (softmax of the last epoch on
    the test split), labels, test_features, encoder, classifier}} (the last two as trained: a
    :class:`~mgclr.train.recognizer.Recognizer` is made from them)."""
    lin = config.linear
    train_set, test_set, info = load_splits(config.data)
    model = load_pretrained(config, device, checkpoint, random_init, info)
    train_pipe = build_pipeline("linear.augment", lin.augment, info, two_views=False) if lin.augment else None
    test_pipe = build_pipeline("linear.test_augment", lin.test_augment, info, two_views=False) \
        if lin.test_augment else None
    for pipe in (train_pipe, test_pipe):
        if pipe is not None:
            pipe.to(device)
    results = {}
    for name, stream in model.streams:
        if streams is not None and name not in streams:
            continue
        encoder = stream.encoder_q.eval()
        for p in encoder.parameters():
            p.requires_grad_(False)
        test_x, test_y = extract_features(encoder, test_set, device, pipeline=test_pipe, seed=config.seed + 1)
        n_classes = _num_classes(info, torch.as_tensor(np.asarray(train_set.labels)), test_y)
        torch.manual_seed(config.seed)
        classifier = nn.Linear(encoder.out_dim, n_classes)
        if lin.batchnorm:
            classifier = nn.Sequential(nn.BatchNorm1d(encoder.out_dim, affine=False), classifier)
        # Features are computed once when the training augmentation cannot change them (none, or a
        # deterministic one such as an evaluation centre crop), else every epoch.
        if train_pipe is None or train_pipe.deterministic:
            cached = extract_features(encoder, train_set, device, pipeline=train_pipe)
        else:
            cached = None

        def batches(epoch, classifier=classifier, encoder=encoder, cached=cached):
            classifier.train()
            if cached is not None:
                g = torch.Generator().manual_seed(config.seed * 1009 + epoch)
                order = torch.randperm(cached[0].shape[0], generator=g)
                for i in range(0, len(order), lin.batch_size):
                    idx = order[i:i + lin.batch_size]
                    yield classifier(cached[0][idx]), cached[1][idx]
                return
            feats, labels = extract_features(encoder, train_set, device, pipeline=train_pipe,
                                             seed=config.seed * 1009 + epoch)
            g = torch.Generator().manual_seed(config.seed * 1013 + epoch)
            order = torch.randperm(feats.shape[0], generator=g)
            for i in range(0, len(order), lin.batch_size):
                idx = order[i:i + lin.batch_size]
                yield classifier(feats[idx]), labels[idx]

        def test_scores(classifier=classifier, test_x=test_x, test_y=test_y):
            classifier.eval()
            with torch.no_grad():
                return classifier(test_x), test_y

        result = _train_classifier(batches, test_scores, lin.epochs, lin.optim, classifier.parameters())
        result["test_features"] = test_x
        result["encoder"], result["classifier"] = encoder, classifier.eval()  # for Recognizer.from_results
        results[name] = result
    return results


# ------------------------------------------------------------------------------------------- finetune


def _label_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of ``fraction`` of each class (at least one sample per class), seeded."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        keep.append(rng.choice(members, size=max(1, int(math.floor(fraction * len(members)))), replace=False))
    return np.sort(np.concatenate(keep))


def finetune_eval(config: ExperimentConfig, device: torch.device, checkpoint: Optional[Path] = None,
                  streams: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, Any]]:
    """End-to-end training of each stream's encoder with a linear classifier on ``label_fraction`` of the
    training labels; ``finetune.from_scratch`` starts from random weights (the supervised reference)."""
    ft = config.finetune
    train_set, test_set, info = load_splits(config.data)
    subset = _label_subset(np.asarray(train_set.labels), ft.label_fraction, config.seed)
    train_sub = Subset(train_set, subset.tolist())
    model = load_pretrained(config, device, checkpoint, random_init=ft.from_scratch, info=info)
    pipe = build_pipeline("finetune.augment", ft.augment, info, two_views=False).to(device) if ft.augment else None
    test_pipe = build_pipeline("finetune.test_augment", ft.test_augment, info, two_views=False).to(device) \
        if ft.test_augment else None
    results = {}
    for name, stream in model.streams:
        if streams is not None and name not in streams:
            continue
        encoder = stream.encoder_q
        for p in encoder.parameters():
            p.requires_grad_(True)
        labels_all = torch.as_tensor(np.asarray(train_set.labels))
        n_classes = _num_classes(info, labels_all, torch.as_tensor(np.asarray(test_set.labels)))
        torch.manual_seed(config.seed)
        classifier = nn.Linear(encoder.out_dim, n_classes).to(device)

        def batches(epoch, encoder=encoder, classifier=classifier):
            encoder.train()
            for i, (x, lengths, y) in enumerate(_loader(train_sub, config.data.batch_size, True, config.seed + epoch)):
                x, lengths = x.to(device), lengths.to(device)
                if pipe is not None:
                    x, params = pipe(x, lengths, seed=config.seed * 104_729 + epoch * 1000 + i, return_params=True)
                    lengths = params.lengths[0]
                yield classifier(encoder(x, lengths)).float(), y

        def test_scores(encoder=encoder, classifier=classifier):
            feats, y = extract_features(encoder, test_set, device, pipeline=test_pipe, seed=config.seed + 1)
            with torch.no_grad():
                return classifier(feats.to(device)).float().cpu(), y

        params = list(encoder.parameters()) + list(classifier.parameters())
        results[name] = _train_classifier(batches, test_scores, ft.epochs, ft.optim, params)
        results[name]["labelled_samples"] = int(len(subset))
        results[name]["encoder"], results[name]["classifier"] = encoder.eval(), classifier.eval()
    return results


# ----------------------------------------------------------------------------------------------- fuse


def fuse_scores(results: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """Spatial, temporal and fused (sum of the softmax scores) top-1/top-5 from linear results."""
    table = {}
    labels = None
    for name, r in results.items():
        labels = r["labels"]
        acc = topk_accuracy(r["scores"], labels)
        table[name] = {"top1": acc[1], "top5": acc[5]}
    if len(results) == 2:
        fused = sum(r["scores"] for r in results.values())
        acc = topk_accuracy(fused, labels)
        table["fused"] = {"top1": acc[1], "top5": acc[5]}
    return table


def fuse_eval(config: ExperimentConfig, device: torch.device, checkpoint: Optional[Path] = None,
              random_init: bool = False, out_dir: Optional[Path] = None, class_names: Optional[Sequence[str]] = None,
              tag: str = "fuse") -> Dict[str, Any]:
    """Linear evaluation of both streams and their fusion; writes ``{tag}.json`` and the plots to
    ``out_dir`` (default ``config.output``). Returns {"table": {stream: {top1, top5}}, "linear": ...}."""
    results = linear_eval(config, device, checkpoint, random_init)
    table = fuse_scores(results)
    out_dir = Path(out_dir or config.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    if class_names is None:
        class_names = load_splits(config.data)[2].class_names
    report = {"table": table, "linear": {name: {k: v for k, v in r.items() if isinstance(v, (int, float))}
                                        for name, r in results.items()}}
    write_json_atomic(out_dir / f"{tag}.json", report)
    plots = {}
    if config.fuse.confusion or config.fuse.tsne:
        from . import plots as plotting  # matplotlib / scikit-learn: the [train] extra

        fused = sum(r["scores"] for r in results.values())
        labels = next(iter(results.values()))["labels"]
        if config.fuse.confusion and plotting.available():
            plots["confusion"] = str(plotting.confusion_matrix(fused.argmax(1), labels, class_names,
                                                               out_dir / f"{tag}_confusion.png"))
        if config.fuse.tsne and plotting.available():
            for name, r in results.items():
                plots[f"tsne_{name}"] = str(plotting.tsne(r["test_features"], labels, class_names,
                                                          out_dir / f"{tag}_tsne_{name}.png",
                                                          config.fuse.tsne_samples, config.seed))
    report["plots"] = plots
    report["results"] = results
    return report
