"""Evaluation protocols on the pretrained query encoders (projection heads removed).

* :func:`knn_eval`: cosine kNN on frozen features, k = 1 (nearest neighbour) and weighted k = 20 (votes
  ``exp(cos / 0.1)``, as InstDisc); also the pretraining's monitor (:func:`knn_monitor`).
* :func:`linear_eval`: a linear classifier on frozen features (encoder in eval mode); features are
  computed once when the linear stage has no augmentation; top-1/top-5 of the best and the last epoch.
* :func:`finetune_eval`: encoder and classifier trained end to end on a (per-class, seeded) fraction of
  the labels; from a random initialisation it is the supervised reference.
* :func:`fuse_eval`: score fusion, weighted sums of the streams' softmax scores (``fuse.combinations``,
  ``fuse.weights``), of one run's streams or of streams from several runs (``fuse.runs``) on one shared test
  split: every stream and every combination, top-1/top-5 (the paper's Tables 2 and 3), a confusion matrix of
  each row and a t-SNE of each stream's features (PNG).

Every protocol runs over the streams of the model, each through its ``encode`` (input modality, then
encoder); ``log`` (a :class:`~mgclr.train.metrics.MetricsLog`) receives each classifier epoch's top-1/top-5.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .._files import write_json_atomic
from .._seeding import derive_seed
from ..data.arrays import class_fraction
from ..data.info import DatasetInfo
from ..models import MultiStreamMoCo
from ..viz.plots import confusion_counts
from .build import build_model, build_pipeline, learning_rate, sgd
from .checkpoint import first_non_finite, latest_checkpoint, load_checkpoint, load_weights
from .config import ConfigError, ExperimentConfig, OptimConfig, fusion_combinations, load_config
from .experiment import Experiment, resolve
from .metrics import progress
from .results import ProbeResult, metrics_of
from .run import check_same_data, config_for_checkpoint

__all__ = ["check_knn_k", "evaluation_config", "evaluation_experiment", "extract_features", "finetune_eval",
           "fuse_eval", "fusion_accuracy", "fusion_sources", "knn_eval", "knn_monitor", "knn_predict", "linear_eval",
           "load_pretrained", "resampled_joints", "ridge_floor", "split_fingerprint", "topk_accuracy"]


# ------------------------------------------------------------------------------------------------- basics


def _checkpoint_state(config: ExperimentConfig, checkpoint: Optional[Path], mmap: bool = False
                      ) -> Tuple[Path, Dict[str, Any]]:
    path = checkpoint or latest_checkpoint(config.output)
    if path is None:
        raise FileNotFoundError(f"checkpoint: none in {config.output}; pretrain first (mgclr pretrain) or "
                                "pass --checkpoint")
    return Path(path), load_checkpoint(path, map_location="cpu", require=("model",), mmap=mmap)


def evaluation_experiment(config: Union[ExperimentConfig, Experiment], checkpoint: Optional[Path] = None,
                          random_init: bool = False) -> Experiment:
    """The :class:`~mgclr.train.experiment.Experiment` of ``config`` with the model shapes of the checkpoint to
    evaluate (``random_init``: ``config``'s own), so that everything built for the evaluation -- the model, the
    recognizer written after it -- matches the weights (:func:`mgclr.train.run.config_for_checkpoint`). The
    protocols below take it and read no data again."""
    experiment = resolve(config)
    if random_init:
        return experiment
    path, state = _checkpoint_state(experiment.config, checkpoint, mmap=True)  # only the config is read here
    return experiment.with_checkpoint_config(config_for_checkpoint(experiment.config, state, path), str(path))


def evaluation_config(config: ExperimentConfig, checkpoint: Optional[Path] = None, random_init: bool = False
                      ) -> ExperimentConfig:
    """The config of :func:`evaluation_experiment`."""
    return evaluation_experiment(config, checkpoint, random_init).config


def _splits(config: Union[ExperimentConfig, Experiment]):
    """(config with its recipe resolved for the data, train, test, description)."""
    experiment = resolve(config)
    return experiment.config, experiment.train_set, experiment.test_set, experiment.info


def load_pretrained(config: Union[ExperimentConfig, Experiment], device: torch.device,
                    checkpoint: Optional[Path] = None, random_init: bool = False,
                    info: Optional[DatasetInfo] = None) -> MultiStreamMoCo:
    """The model of ``config`` with the weights of ``checkpoint`` (default: the run's latest; its shapes rule,
    see :func:`evaluation_config`), or freshly initialised with ``random_init`` (the baseline every table
    reports beside the pretrained numbers). ``info``: the data's description (default: read the data)."""
    if isinstance(config, Experiment):
        config, info = config.config, info or config.info
    elif info is None:
        config, _, _, info = _splits(config)
    if random_init:
        return build_model(config, info).to(device).eval()
    path, state = _checkpoint_state(config, checkpoint)
    config = config_for_checkpoint(config, state, path)
    check_same_data(state, info, path)
    bad = first_non_finite(state["model"])
    if bad is not None:
        raise ValueError(f"checkpoint: {path} holds non-finite weights ({bad} has NaN or inf): nothing to evaluate")
    model = build_model(config, info)
    load_weights(model, state["model"], path)
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
            x, params = pipeline(x, lengths, seed=derive_seed(seed, "feature_batch", i), return_params=True)
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
    each of the k nearest by exp(cos / temperature). ``k`` at most the number of training samples (more is
    an error, not a silent k = N)."""
    check_knn_k("k", k, train.shape[0], "train (the training features)")
    train = F.normalize(train, dim=1)
    test = F.normalize(test, dim=1)
    scores = []
    for start in range(0, test.shape[0], chunk):
        sim = test[start:start + chunk] @ train.t()
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = torch.ones_like(top_sim) if k == 1 else (top_sim / temperature).exp()
        votes = torch.zeros(sim.shape[0], num_classes)
        votes.scatter_add_(1, train_labels[top_idx], weights)
        scores.append(votes)
    return torch.cat(scores)


def check_knn_k(key: str, k, samples: int, where: str = "the training split") -> None:
    """``k`` neighbours must exist: an int from 1 to the ``samples`` of ``where``; else a ConfigError naming
    ``key`` and both numbers (a larger k would silently be k = ``samples``, and reported as k)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"{key}: expected an int >= 1, got {k!r}")
    if k > samples:
        raise ConfigError(f"{key}: {k} neighbours, but {where} has {samples} samples; give k <= {samples}")


def _num_classes(info: DatasetInfo, *label_sets: torch.Tensor) -> int:
    """The dataset's number of classes; a label outside it is an error naming the value."""
    n = info.num_classes
    for labels in label_sets:
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n):
            raise ConfigError(f"data: labels {int(labels.min())}..{int(labels.max())} outside the {n} classes of "
                              f"{info.source}")
    return n


@torch.no_grad()
def knn_monitor(model: MultiStreamMoCo, train_set: Dataset, test_set: Dataset, config: ExperimentConfig,
                process, info: DatasetInfo) -> Dict[str, float]:
    """Weighted kNN top-1 of each stream's query encoder, run on rank 0 (the others wait)."""
    scores: Dict[str, float] = {}
    if process.main:
        for name, stream in model.streams.items():
            train, train_y = extract_features(stream.encoder_q, train_set, process.device)
            test, test_y = extract_features(stream.encoder_q, test_set, process.device)
            votes = knn_predict(train, train_y, test, config.pretrain.knn_k, _num_classes(info, train_y, test_y),
                                config.knn.temperature)
            scores[name] = topk_accuracy(votes, test_y, (1,))[1]
    process.barrier()
    return scores


# ------------------------------------------------------------------------------------------- the floor


def resampled_joints(dataset: Dataset, frames: int = 16) -> Tuple[np.ndarray, np.ndarray]:
    """(features (N, C * frames * V * M) float32, labels (N,)): each sample's valid frames linearly resampled to
    ``frames`` and flattened -- the input itself, no encoder."""
    feats, labels = [], []
    for x, length, y in _loader(dataset, 256):
        for i in range(x.shape[0]):
            n = max(int(length[i]), 1)
            clip = x[i, :, :n].permute(0, 2, 3, 1).reshape(1, -1, n)  # (1, C V M, T)
            feats.append(F.interpolate(clip, size=frames, mode="linear", align_corners=True).reshape(-1))
        labels.append(y)
    return torch.stack(feats).numpy(), torch.cat(labels).numpy()


def ridge_floor(train_set: Dataset, test_set: Dataset, frames: int = 16) -> Dict[str, float]:
    """Top-1 / top-5 of a ridge classifier on :func:`resampled_joints` (standardised; the ridge penalty chosen
    by leave-one-out on the training split): what a linear read-out of the raw skeletons gets, the floor below
    which an encoder adds nothing. Needs scikit-learn (the ``[train]`` extra)."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler

    train_x, train_y = resampled_joints(train_set, frames)
    test_x, test_y = resampled_joints(test_set, frames)
    scaler = StandardScaler().fit(train_x)
    model = RidgeClassifierCV(alphas=np.logspace(-1, 4, 11)).fit(scaler.transform(train_x), train_y)
    scores = np.asarray(model.decision_function(scaler.transform(test_x)))
    if scores.ndim == 1:  # two classes: one decision value
        scores = np.stack([-scores, scores], axis=1)
    columns = torch.as_tensor(model.classes_)
    predicted = columns[torch.as_tensor(scores).topk(min(5, scores.shape[1]), dim=1).indices]
    hits = predicted == torch.as_tensor(test_y).unsqueeze(1)
    return {"top1": float(hits[:, :1].any(1).float().mean()), "top5": float(hits.any(1).float().mean()),
            "alpha": float(model.alpha_), "frames": frames}


# ------------------------------------------------------------------------------------------------ kNN


def knn_eval(config: Union[ExperimentConfig, Experiment], device: torch.device, checkpoint: Optional[Path] = None,
             random_init: bool = False, log=None, show_progress: bool = False) -> Dict[str, Dict[str, float]]:
    """{stream: {"k=1": top-1, "k=20": top-1, ...}} on the test split."""
    config, train_set, test_set, info = _splits(config)
    for i, k in enumerate(config.knn.k):  # before any encoder runs
        check_knn_k(f"knn.k[{i}]", k, len(train_set), f"the training split of {info.source}")
    model = load_pretrained(config, device, checkpoint, random_init, info)
    out = {}
    bar = progress(len(model.streams), "knn", show_progress, unit="stream")
    for name, stream in model.streams.items():
        train, train_y = extract_features(stream.encoder_q, train_set, device)
        test, test_y = extract_features(stream.encoder_q, test_set, device)
        n = _num_classes(info, train_y, test_y)
        out[name] = {f"k={k}": topk_accuracy(knn_predict(train, train_y, test, k, n, config.knn.temperature),
                                             test_y, (1,))[1] for k in config.knn.k}
        if log is not None:
            log.write(0, out[name], kind=f"knn/{name}")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


# --------------------------------------------------------------------------------------------- linear


def _train_classifier(make_batches, test_scores, epochs: int, optim: OptimConfig, params, *, log=None,
                      kind: str = "", show_progress: bool = False) -> ProbeResult:
    """The epoch loop shared by the linear and the finetuning protocols: ``make_batches(epoch)`` yields
    (logits, labels), ``test_scores()`` returns (scores, labels) of the test split. Each epoch's test
    top-1/top-5 goes to ``log`` under ``kind`` (e.g. ``linear/joint``)."""
    optimizer = sgd(params, optim)
    history, best = [], None
    bar = progress(epochs, kind or "classifier", show_progress, unit="epoch")
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
        if log is not None:
            log.write(epoch + 1, {"top1": acc[1], "top5": acc[5]}, kind=kind)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(top1=f"{100 * acc[1]:.1f}")
    if bar is not None:
        bar.close()
    last_scores, labels = scores, labels
    return ProbeResult(top1_best=best[1][1], top5_best=best[1][5], best_epoch=best[0] + 1,
                       top1_last=history[-1][1], top5_last=history[-1][5], scores=last_scores.softmax(dim=1),
                       labels=labels)


def linear_eval(config: Union[ExperimentConfig, Experiment], device: torch.device, checkpoint: Optional[Path] = None,
                random_init: bool = False, streams: Optional[Sequence[str]] = None, *, log=None,
                show_progress: bool = False) -> Dict[str, ProbeResult]:
    """``{stream: ProbeResult}`` (:class:`~mgclr.train.results.ProbeResult`: the accuracies, the test scores,
    the test features, and the encoder and classifier as trained with the config they were built from: a
    :class:`~mgclr.train.recognizer.Recognizer` is made from them). ``streams``: only these (default: every
    stream)."""
    config, train_set, test_set, info = _splits(config)
    lin = config.linear
    model = load_pretrained(config, device, checkpoint, random_init, info)
    train_pipe = build_pipeline("linear.augment", lin.augment, info, two_views=False) if lin.augment else None
    test_pipe = build_pipeline("linear.test_augment", lin.test_augment, info, two_views=False) \
        if lin.test_augment else None
    for pipe in (train_pipe, test_pipe):
        if pipe is not None:
            pipe.to(device)
    _check_streams("streams", streams, model)
    results = {}
    for name, stream in model.streams.items():
        if streams is not None and name not in streams:
            continue
        encoder = stream.encoder_q.eval()
        for p in encoder.parameters():
            p.requires_grad_(False)
        test_x, test_y = extract_features(encoder, test_set, device, pipeline=test_pipe,
                                          seed=derive_seed(config.seed, "test_features"))
        n_classes = _num_classes(info, torch.tensor(np.asarray(train_set.labels)), test_y)
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
                g = torch.Generator().manual_seed(derive_seed(config.seed, "linear_epoch", epoch))
                order = torch.randperm(cached[0].shape[0], generator=g)
                for i in range(0, len(order), lin.batch_size):
                    idx = order[i:i + lin.batch_size]
                    yield classifier(cached[0][idx]), cached[1][idx]
                return
            feats, labels = extract_features(encoder, train_set, device, pipeline=train_pipe,
                                             seed=derive_seed(config.seed, "linear_epoch", epoch))
            g = torch.Generator().manual_seed(derive_seed(config.seed, "linear_epoch_order", epoch))
            order = torch.randperm(feats.shape[0], generator=g)
            for i in range(0, len(order), lin.batch_size):
                idx = order[i:i + lin.batch_size]
                yield classifier(feats[idx]), labels[idx]

        def test_scores(classifier=classifier, test_x=test_x, test_y=test_y):
            classifier.eval()
            with torch.no_grad():
                return classifier(test_x), test_y

        result = _train_classifier(batches, test_scores, lin.epochs, lin.optim, classifier.parameters(), log=log,
                                   kind=f"linear/{name}", show_progress=show_progress)
        results[name] = result.with_fields(test_features=test_x, encoder=encoder, classifier=classifier.eval(),
                                           config=config, stream=name)  # what Recognizer.from_results reads
    return results


def _check_streams(key: str, streams: Optional[Sequence[str]], model: MultiStreamMoCo) -> None:
    for name in streams or ():
        if name not in model.streams:
            raise ConfigError(f"{key}: no stream {name!r} in the model ({', '.join(model.streams)})")


# ------------------------------------------------------------------------------------------- finetune


def finetune_eval(config: Union[ExperimentConfig, Experiment], device: torch.device, checkpoint: Optional[Path] = None,
                  streams: Optional[Sequence[str]] = None, *, log=None, show_progress: bool = False
                  ) -> Dict[str, ProbeResult]:
    """End-to-end training of each stream's encoder with a linear classifier on ``label_fraction`` of the
    training labels; ``finetune.from_scratch`` starts from random weights (the supervised reference)."""
    config, train_set, test_set, info = _splits(config)
    ft = config.finetune
    subset = class_fraction(np.asarray(train_set.labels), ft.label_fraction, config.seed)
    train_sub = Subset(train_set, subset.tolist())
    model = load_pretrained(config, device, checkpoint, random_init=ft.from_scratch, info=info)
    pipe = build_pipeline("finetune.augment", ft.augment, info, two_views=False).to(device) if ft.augment else None
    test_pipe = build_pipeline("finetune.test_augment", ft.test_augment, info, two_views=False).to(device) \
        if ft.test_augment else None
    _check_streams("streams", streams, model)
    results = {}
    for name, stream in model.streams.items():
        if streams is not None and name not in streams:
            continue
        encoder = stream.encoder_q
        for p in encoder.parameters():
            p.requires_grad_(True)
        labels_all = torch.tensor(np.asarray(train_set.labels))
        n_classes = _num_classes(info, labels_all, torch.tensor(np.asarray(test_set.labels)))
        torch.manual_seed(config.seed)
        classifier = nn.Linear(encoder.out_dim, n_classes).to(device)

        def batches(epoch, encoder=encoder, classifier=classifier):
            encoder.train()
            shuffle_seed = derive_seed(config.seed, "finetune_epoch_order", epoch)
            for i, (x, lengths, y) in enumerate(_loader(train_sub, config.data.batch_size, True, shuffle_seed)):
                x, lengths = x.to(device), lengths.to(device)
                if pipe is not None:
                    seed = derive_seed(config.seed, "finetune_batch", epoch, i)
                    x, params = pipe(x, lengths, seed=seed, return_params=True)
                    lengths = params.lengths[0]
                yield classifier(encoder(x, lengths)).float(), y

        def test_scores(encoder=encoder, classifier=classifier):
            feats, y = extract_features(encoder, test_set, device, pipeline=test_pipe,
                                        seed=derive_seed(config.seed, "test_features"))
            with torch.no_grad():
                return classifier(feats.to(device)).float().cpu(), y

        params = list(encoder.parameters()) + list(classifier.parameters())
        results[name] = _train_classifier(batches, test_scores, ft.epochs, ft.optim, params, log=log,
                                          kind=f"finetune/{name}", show_progress=show_progress)
        results[name] = results[name].with_fields(labelled_samples=int(len(subset)), encoder=encoder.eval(),
                                                  classifier=classifier.eval(), config=config, stream=name)
    return results


# ----------------------------------------------------------------------------------------------- fuse


def fusion_accuracy(results: Mapping[str, Mapping[str, Any]], combinations: Mapping[str, Mapping[str, float]]
                    ) -> Dict[str, Dict[str, float]]:
    """Top-1/top-5 of every stream of ``results`` (each with ``scores``, softmax probabilities, and
    ``labels``), then of every combination ``{name: {stream: weight}}``: the weighted sum of the streams'
    scores."""
    table = {}
    for name, r in results.items():
        acc = topk_accuracy(r["scores"], r["labels"])
        table[name] = {"top1": acc[1], "top5": acc[5]}
    for name, members in combinations.items():
        acc = topk_accuracy(fused_scores(results, members), next(iter(results.values()))["labels"])
        table[name] = {"top1": acc[1], "top5": acc[5]}
    return table


def fused_scores(results: Mapping[str, Mapping[str, Any]], weights: Mapping[str, float]) -> torch.Tensor:
    """``sum_s weights[s] * scores_s`` over the streams named in ``weights``."""
    missing = [s for s in weights if s not in results]
    if missing:
        raise ConfigError(f"fuse: no stream {missing[0]!r} among the evaluated ones ({', '.join(results)})")
    return sum(float(w) * results[s]["scores"] for s, w in weights.items())


def split_fingerprint(dataset: Dataset, samples: int = 64) -> Dict[str, Any]:
    """What identifies a test split: its size, a hash of its labels and of its lengths, and a hash of up to
    ``samples`` evenly spaced samples' data (all of it would mean reading a whole NTU test split)."""
    labels = np.ascontiguousarray(np.asarray(dataset.labels, dtype=np.int64))
    n = len(dataset)
    lengths = np.asarray([int(dataset[i][1]) for i in range(n)]) if not hasattr(dataset, "lengths") else \
        np.asarray(dataset.lengths)
    data = hashlib.sha256()
    for i in np.unique(np.linspace(0, n - 1, num=min(samples, n)).astype(np.int64)) if n else ():
        data.update(np.ascontiguousarray(np.asarray(dataset[int(i)][0], dtype=np.float32)).tobytes())
    return {"samples": n, "labels": hashlib.sha256(labels.tobytes()).hexdigest()[:16],
            "lengths": hashlib.sha256(np.ascontiguousarray(lengths, dtype=np.int64).tobytes()).hexdigest()[:16],
            "data": data.hexdigest()[:16]}


def fusion_sources(config: ExperimentConfig) -> Dict[str, Tuple[ExperimentConfig, str]]:
    """``{row: (config of the run, its stream)}`` of the fusion: the streams of ``fuse.runs`` (each from its
    run folder's ``config.yaml``, output set to that folder), else this config's own streams."""
    if not config.fuse.runs:
        return {name: (config, name) for name in config.model.streams}
    sources, configs = {}, {}
    for name, spec in config.fuse.runs.items():
        key = f"fuse.runs.{name}"
        folder, stream = (spec["run"], spec.get("stream", name)) if isinstance(spec, Mapping) else (spec, name)
        folder = Path(folder)
        if str(folder) not in configs:
            file = folder / "config.yaml"
            if not file.is_file():
                raise ConfigError(f"{key}: {folder} holds no mgclr run (no config.yaml); give the folder of a run "
                                  f"(mgclr pretrain's output)")
            try:
                run = load_config(file, stored=True)
            except ConfigError as exc:
                raise ConfigError(f"{key}: {file}: {exc}") from None
            configs[str(folder)] = dataclasses.replace(run, output=str(folder), device=config.device)
        run = configs[str(folder)]
        if stream not in run.model.streams:
            raise ConfigError(f"{key}: the run in {folder} has no stream {stream!r} (it has "
                              f"{', '.join(run.model.streams)})")
        sources[name] = (run, stream)
    return sources


def fuse_eval(config: Union[ExperimentConfig, Experiment], device: torch.device, checkpoint: Optional[Path] = None,
              random_init: bool = False, out_dir: Optional[Path] = None, class_names: Optional[Sequence[str]] = None,
              tag: str = "fuse", *, log=None, show_progress: bool = False) -> Dict[str, Any]:
    """Linear evaluation of every stream (of this run, or of the runs of ``fuse.runs``) and of every fused
    combination (``fuse.combinations``, ``fuse.weights``); writes ``{tag}.json`` and the plots to ``out_dir``
    (default ``config.output``). Returns {"table": {row: {top1, top5}}, "combinations": {name: {stream:
    weight}}, "linear": ..., "plots": ..., "results": ...}."""
    given = config  # an Experiment's data is not read again for this run's own streams
    config = config.config if isinstance(config, Experiment) else config
    sources = fusion_sources(config)
    if config.fuse.runs and checkpoint is not None:
        raise ConfigError("--checkpoint: fuse.runs evaluates each run with its own checkpoint; leave it out")
    groups: Dict[int, Tuple[ExperimentConfig, List[Tuple[str, str]]]] = {}
    for row, (run, stream) in sources.items():
        groups.setdefault(id(run), (run, []))[1].append((row, stream))
    results: Dict[str, Dict[str, Any]] = {}
    first: Optional[Tuple[str, Dict[str, Any], Tuple[str, ...]]] = None
    for run, rows in groups.values():
        experiment = evaluation_experiment(given if run is config else run,
                                           checkpoint if not config.fuse.runs else None, random_init)
        class_names = experiment.info.class_names if class_names is None else class_names
        if config.fuse.runs:
            mark = (run.output, split_fingerprint(experiment.test_set), tuple(experiment.info.class_names))
            if first is None:
                first = mark
            elif mark[1:] != first[1:]:
                what = "classes" if mark[2] != first[2] else next(k for k in mark[1] if mark[1][k] != first[1][k])
                raise ConfigError(f"fuse.runs: the runs in {first[0]} and {run.output} are tested on different test "
                                  f"splits ({what} differ: {_show(first, what)} vs {_show(mark, what)}); fused scores "
                                  f"must come from one test split")
        evaluated = linear_eval(experiment, device, checkpoint if not config.fuse.runs else None, random_init,
                                streams=[stream for _, stream in rows], log=log, show_progress=show_progress)
        for row, stream in rows:
            results[row] = evaluated[stream].with_fields(stream=stream)
    combinations = fusion_combinations(config.fuse, list(results))
    table = fusion_accuracy(results, combinations)
    out_dir = Path(out_dir or config.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"table": table, "combinations": combinations,
              "runs": {row: {"run": run.output, "stream": stream} for row, (run, stream) in sources.items()},
              "linear": metrics_of(results)}
    write_json_atomic(out_dir / f"{tag}.json", report)
    # Every row's confusion counts (row: true class, column: predicted), with or without matplotlib.
    labels = next(iter(results.values()))["labels"]
    row_scores = {name: r["scores"] for name, r in results.items()}
    row_scores.update({name: fused_scores(results, members) for name, members in combinations.items()})
    report["confusion"] = {"classes": list(class_names), "rows": "true class", "columns": "predicted class",
                           "counts": {name: confusion_counts(scores.argmax(1), labels, len(class_names)).tolist()
                                      for name, scores in row_scores.items()}}
    plots = {}
    if config.fuse.confusion or config.fuse.tsne:
        from ..viz import plots as plotting  # matplotlib / scikit-learn: the [train] extra

        if config.fuse.confusion and plotting.available():
            for name, scores in row_scores.items():
                plots[f"confusion_{name}"] = str(plotting.confusion_matrix(
                    scores.argmax(1), labels, class_names, out_dir / f"{tag}_confusion_{name}.png",
                    title=f"{name}: confusion on the test split"))
        if config.fuse.tsne and plotting.available():
            for name, r in results.items():
                plots[f"tsne_{name}"] = str(plotting.tsne(
                    r["test_features"], labels, class_names, out_dir / f"{tag}_tsne_{name}.png",
                    config.fuse.tsne_samples, config.seed,
                    title=f"{name}: t-SNE of {min(len(labels), config.fuse.tsne_samples)} test features "
                          f"({len(class_names)} classes)"))
    report["plots"] = plots
    write_json_atomic(out_dir / f"{tag}.json", report)
    report["results"] = results
    return report


def _show(mark, what: str) -> str:
    return f"{len(mark[2])} classes" if what == "classes" else f"{what} {mark[1][what]}"
