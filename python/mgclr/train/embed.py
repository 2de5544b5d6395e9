"""Features out: from a run folder to a stream's encoder, and from a dataset to its features.

    encoder = mgclr.load_encoder("runs/ntu60_xsub", "joint")      # input modality + encoder, eval mode
    features = encoder(x, lengths)                                 # (N, C, T, V, M) -> (N, F)

or ``mgclr embed RUN DATA --out features.npy`` for a whole dataset (:func:`embed_dataset`). The run folder alone
is enough: the checkpoint carries the config and the description of the data it was trained on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .._seeding import derive_seed
from ..data.info import DatasetInfo
from ..models import MultiStreamMoCo, StreamEncoder
from .build import build_model, build_pipeline, load_splits
from .checkpoint import first_non_finite, latest_checkpoint, load_checkpoint, load_weights
from .config import ConfigError, ExperimentConfig, load_config
from .metrics import progress
from .run import check_same_data, config_for_checkpoint

__all__ = ["embed_dataset", "load_encoder", "load_run"]


def load_run(run: Union[str, Path], checkpoint: Optional[Union[str, Path]] = None,
             device: Union[str, torch.device] = "cpu") -> Tuple[ExperimentConfig, DatasetInfo, MultiStreamMoCo]:
    """(config, data description, model with the checkpoint's weights, eval mode) of the run folder ``run``
    (its ``config.yaml`` and latest checkpoint, or ``checkpoint``)."""
    run = Path(run)
    file = run / "config.yaml"
    if not file.is_file():
        raise FileNotFoundError(f"run: {run} holds no mgclr run (no config.yaml); give mgclr pretrain's output folder")
    config = load_config(file, stored=True)
    config = dataclasses.replace(config, output=str(run))
    path = Path(checkpoint) if checkpoint is not None else latest_checkpoint(run)
    if path is None:
        raise FileNotFoundError(f"run: no checkpoint in {run} (expected {run / 'checkpoint.pt'})")
    state = load_checkpoint(path, map_location="cpu", require=("model",))
    config = config_for_checkpoint(config, state, path)
    info = DatasetInfo.from_dict(state["data"], f"{path}: data") if "data" in state else load_splits(config.data)[2]
    bad = first_non_finite(state["model"])
    if bad is not None:
        raise ValueError(f"checkpoint: {path} holds non-finite weights ({bad} has NaN or inf)")
    model = build_model(config, info)
    load_weights(model, state["model"], path)
    return config, info, model.to(device).eval()


def _pick_stream(model: MultiStreamMoCo, stream: Optional[str], where: str) -> str:
    if stream is None:
        if len(model.streams) != 1:
            raise ValueError(f"stream: the run in {where} has the streams {', '.join(model.streams)}; name one")
        return next(iter(model.streams))
    if stream not in model.streams:
        raise ValueError(f"stream: the run in {where} has no stream {stream!r} (it has {', '.join(model.streams)})")
    return stream


def load_encoder(run: Union[str, Path], stream: Optional[str] = None, *, checkpoint: Optional[Union[str, Path]] = None,
                 device: Union[str, torch.device] = "cpu") -> StreamEncoder:
    """The pretrained query encoder of ``stream`` (default: the run's only stream) with its input modality, in
    eval mode: ``encoder(x (N, C, T, V, M), lengths (N,))`` -> ``(N, F)``. ``x`` is in the coordinates of the
    training data (``encoder.info`` describes them)."""
    _, info, model = load_run(run, checkpoint, device)
    encoder = model.streams[_pick_stream(model, stream, str(run))].encoder_q
    for p in encoder.parameters():
        p.requires_grad_(False)
    encoder.info = info
    return encoder.eval()


class _Tensors(Dataset):
    def __init__(self, x: np.ndarray, lengths: np.ndarray) -> None:
        self.x, self.lengths = x, lengths
        self.labels = np.full(len(x), -1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return torch.from_numpy(np.array(self.x[i], dtype=np.float32)), int(self.lengths[i]), -1


def open_data(data: Union[str, Path], split: Optional[str], lengths: Optional[Union[str, Path]], info: DatasetInfo
              ) -> Tuple[Dataset, str]:
    """A dataset to embed and its description: an mgclr dataset folder (``split``: ``benchmark/part``, or a part
    of a dataset with one benchmark; default ``test``) or an ``.npy`` ``(N, C, T, V, M)`` array (with
    ``lengths``, an ``.npy`` of N frame counts; default every frame valid). It must match the run's data
    (C, V, M, layout, coordinate channels)."""
    from ..data.format import DatasetError, SkeletonDataset

    data = Path(data)
    if data.is_dir():
        try:
            dataset = SkeletonDataset(data, split or "test")
        except (DatasetError, ValueError) as exc:
            raise ValueError(f"data: {exc}") from None
        check_same_data({"data": info.to_dict()}, dataset.info, "the run's checkpoint")
        return dataset, f"{data} ({split or 'test'}, {len(dataset)} samples)"
    if split is not None:
        raise ValueError(f"--split: {data} is an array file, not a dataset folder with splits")
    try:
        x = np.load(data, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"data: cannot read {data}: {exc}") from None
    if x.ndim != 5 or (x.shape[1], x.shape[3], x.shape[4]) != (info.channels, info.num_joints, info.persons):
        raise ValueError(f"data: {data} has shape {tuple(x.shape)}; the run was trained on (N, C, T, V, M) with "
                         f"C={info.channels}, V={info.num_joints} ({info.layout.name}), M={info.persons}")
    if lengths is None:
        frames = np.full(x.shape[0], x.shape[2], dtype=np.int64)
    else:
        frames = np.asarray(np.load(lengths, allow_pickle=False)).astype(np.int64)
        if frames.shape != (x.shape[0],) or frames.min(initial=1) < 1 or frames.max(initial=1) > x.shape[2]:
            raise ValueError(f"--lengths: expected {x.shape[0]} frame counts in 1..{x.shape[2]}, got shape "
                             f"{frames.shape}, values {frames.min(initial=0)}..{frames.max(initial=0)}")
    return _Tensors(x, frames), f"{data} ({x.shape[0]} samples)"


@torch.no_grad()
def embed_dataset(run: Union[str, Path], data: Union[str, Path], *, streams: Optional[list] = None,
                  split: Optional[str] = None, lengths: Optional[Union[str, Path]] = None,
                  checkpoint: Optional[Union[str, Path]] = None, device: Union[str, torch.device] = "cpu",
                  batch_size: int = 256, show_progress: bool = False) -> Dict[str, np.ndarray]:
    """``{stream: (N, F) float32 features, "labels": (N,)}`` of ``data`` (:func:`open_data`) through the run's
    pretrained encoders (default every stream), behind the run's evaluation preprocessing
    (``linear.test_augment``, as ``mgclr linear`` computes the test features)."""
    config, info, model = load_run(run, checkpoint, device)
    names = [_pick_stream(model, s, str(run)) for s in streams] if streams else list(model.streams)
    dataset, _ = open_data(data, split, lengths, info)
    spec = config.linear.test_augment
    pipe = build_pipeline("linear.test_augment", spec, info, two_views=False).to(device) if spec else None
    out: Dict[str, list] = {name: [] for name in names}
    labels = []
    loader = DataLoader(dataset, batch_size=batch_size)
    bar = progress(len(loader), "embed", show_progress, unit="batch")
    for i, (x, n, y) in enumerate(loader):
        x, n = x.to(device), torch.as_tensor(n).to(device)
        if pipe is not None:
            seed = derive_seed(derive_seed(config.seed, "test_features"), "feature_batch", i)  # as extract_features
            x, params = pipe(x, n, seed=seed, return_params=True)
            n = params.lengths[0]
        for name in names:
            out[name].append(model.streams[name].encode(x, n).float().cpu())
        labels.append(torch.as_tensor(y))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if not labels:
        raise ConfigError(f"data: {data} holds no samples")
    result = {name: torch.cat(parts).numpy() for name, parts in out.items()}
    result["labels"] = torch.cat(labels).numpy().astype(np.int64)
    return result
