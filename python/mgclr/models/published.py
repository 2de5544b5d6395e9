"""Weights of the published code, loaded into mgclr's encoders: :func:`load_published`.

A released checkpoint's state_dict uses the released code's own key names; this module maps them onto the
mgclr encoder that computes the same function (checked against the released code's outputs by the parity
fixtures in ``shared/parity/encoders``, ``tests/test_parity_encoders.py``):

``"stgcn"`` -> :class:`~mgclr.models.STGCN`: AimCLR / CrosSCLR / SkeletonCLR / yysijie's ST-GCN ``net/st_gcn.py``
    ``Model``. ``st_gcn_networks.{i}.gcn.conv.*`` -> ``blocks.{i}.gcn.*``, ``st_gcn_networks.{i}.{tcn,residual}.*``
    -> ``blocks.{i}.{tcn,residual}.*`` (same indices, ``tcn.4`` is the dropout); ``A``, ``data_bn.*`` and
    ``edge_importance.{i}`` keep their names. The state_dict's ``A`` must equal the graph mgclr builds.
``"agcn_2s"`` -> :class:`~mgclr.models.AGCN`: 2s-AGCN's ``model/agcn.py`` ``Model`` (also ISC's ``moco/AGCN.py``).
    ``l{n}`` -> ``units.{n-1}``, ``gcn1`` -> ``gcn``, ``tcn1`` -> ``tcn``; ``PA`` -> ``B``; the three
    ``conv_a.{k}`` / ``conv_b.{k}`` -> one ``theta`` / ``phi`` (stacked on output channels, subset-major); the
    three ``conv_d.{k}`` -> one ``project`` (stacked on input channels; the three biases summed, as the released
    forward sums the three outputs). ``A`` is not in 2s-AGCN's state_dict (a plain attribute): mgclr's is kept.
``"isc_bigru"`` -> :class:`~mgclr.models.ISCBiGRU`: ISC's ``moco/GRU.py`` ``BIGRU``.
    ``encoder.gru.{weight_ih,weight_hh,bias_ih,bias_hh}_l{l}`` -> ``grus.{l}.0.*_l0`` and ``..._l{l}_reverse``
    -> ``grus.{l}.1.*_l0``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from .._files import NotATorchFile, read_torch_file
from ..skeleton import adjacency, available_layouts, get_layout
from .agcn import AGCN, AGCN_STRIDES
from .isc_bigru import ISCBiGRU
from .stgcn import STGCN, STGCN_GRAPHS

__all__ = ["PUBLISHED_ARCHS", "load_published"]

PUBLISHED_ARCHS = ("agcn_2s", "stgcn", "isc_bigru")
_ENCODER_CLASSES = {"agcn_2s": AGCN, "stgcn": STGCN, "isc_bigru": ISCBiGRU}
# The layout a state_dict with V joints gets when no encoder is given (ST-GCN: the one whose graph is its A).
_DEFAULT_LAYOUTS = {25: "ntu25"}
_LISTED = 12  # keys named in an error, per list


@dataclass
class _Rule:
    """mgclr key ``target`` <- the released keys ``sources`` (their shapes ``shapes``), combined by ``combine``."""

    target: str
    sources: List[str]
    shapes: List[Tuple[int, ...]]
    combine: Callable[[List[torch.Tensor]], torch.Tensor]


def _same(tensors: List[torch.Tensor]) -> torch.Tensor:
    return tensors[0]


def _cat0(tensors: List[torch.Tensor]) -> torch.Tensor:
    return torch.cat(tensors, dim=0)


def _cat1(tensors: List[torch.Tensor]) -> torch.Tensor:
    return torch.cat(tensors, dim=1)


def _sum(tensors: List[torch.Tensor]) -> torch.Tensor:
    out = tensors[0].clone()
    for t in tensors[1:]:
        out += t
    return out


def _split(shape: torch.Size, dim: int, parts: int) -> Tuple[int, ...]:
    shape = list(shape)
    shape[dim] //= parts
    return tuple(shape)


# ---------------------------------------------------------------------------------------------- reading


def _read(source: Union[str, os.PathLike]) -> Mapping:
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"state_dict_or_path: no such file {str(path)!r}")
    try:
        loaded = read_torch_file(path, map_location="cpu")
    except NotATorchFile as exc:  # any unreadable file gets one clear line
        raise ValueError(f"{str(path)!r}: not a state_dict file ({exc.reason})") from None
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]  # a training checkpoint {'epoch', 'state_dict', 'optimizer', ...} (ISC)
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{str(path)!r}: expected a state_dict (a mapping of names to tensors), got "
                         f"{type(loaded).__name__}")
    return loaded


def _as_tensors(state: Mapping) -> Dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise ValueError(f"state_dict: expected string keys, got {key!r}")
        if isinstance(value, np.ndarray):
            value = torch.tensor(value)  # a copy: numpy's arrays may be read-only or strided
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"state_dict: {key}: expected a tensor, got {type(value).__name__}")
        out[key] = value
    return out


def _unwrap(state: Dict[str, torch.Tensor], prefix: Optional[str]) -> Dict[str, torch.Tensor]:
    """Strip DataParallel's ``module.``; keep the keys under ``prefix`` (or MoCo's ``encoder_q.``), stripped."""
    def strip_module(s):
        while s and all(k.startswith("module.") for k in s):
            s = {k[len("module."):]: v for k, v in s.items()}
        return s

    state = strip_module(state)
    if prefix is None and any(k.startswith("encoder_q.") for k in state):
        prefix = "encoder_q."  # a MoCo checkpoint (AimCLR, CrosSCLR, ISC): the query encoder
    if prefix is not None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix: expected a non-empty string such as 'encoder_q.', got {prefix!r}")
        prefix = prefix if prefix.endswith(".") else prefix + "."
        kept = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not kept:
            heads = sorted({k.split(".")[0] + ("." if "." in k else "") for k in state})
            raise ValueError(f"prefix: no key of the state_dict starts with {prefix!r} (its keys start with "
                             f"{', '.join(heads[:_LISTED])})")
        state = strip_module(kept)
    return state


def _need(state: Dict[str, torch.Tensor], arch: str, *keys: str) -> List[torch.Tensor]:
    missing = [k for k in keys if k not in state]
    if missing:
        raise ValueError(f"load_published(arch={arch!r}): missing keys: {', '.join(missing)} (needed to infer the "
                         f"encoder's sizes; pass encoder= to give them, or prefix= if the weights sit under a "
                         f"prefix)")
    return [state[k] for k in keys]


def _default_layout(V: int, arch: str) -> str:
    if V in _DEFAULT_LAYOUTS:
        return _DEFAULT_LAYOUTS[V]
    matches = [name for name in available_layouts() if get_layout(name).num_joints == V]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"load_published(arch={arch!r}): the state_dict has V={V} joints, which names no single "
                     f"built-in layout ({', '.join(matches) or 'none has it'}); pass encoder= built with your layout")


# ------------------------------------------------------------------------------------------------ ST-GCN


def _stgcn_from(state: Dict[str, torch.Tensor]) -> STGCN:
    (A, w0) = _need(state, "stgcn", "A", "st_gcn_networks.0.gcn.conv.weight")
    K, V = A.shape[0], A.shape[-1]
    blocks = sorted({int(m.group(1)) for k in state if (m := re.match(r"st_gcn_networks\.(\d+)\.", k))})
    (w_last, tk) = _need(state, "stgcn", f"st_gcn_networks.{blocks[-1]}.gcn.conv.weight",
                         "st_gcn_networks.0.tcn.2.weight")
    # The layout and graph whose adjacency is the state_dict's A (V = 25: ntu25 first).
    names = [_DEFAULT_LAYOUTS[V]] if V in _DEFAULT_LAYOUTS else []
    names += [n for n in available_layouts() if get_layout(n).num_joints == V and n not in names]
    for name in names:
        for graph, kind in STGCN_GRAPHS.items():
            if torch.equal(adjacency(name, kind, dtype=A.dtype), A.cpu()):
                return STGCN(name, in_channels=w0.shape[1], hidden_channels=w0.shape[0] // K,
                             hidden_dim=w_last.shape[0] // K, edge_importance="edge_importance.0" in state,
                             temporal_kernel=tk.shape[2], graph=graph)
    raise ValueError(f"A: the state_dict's graph {tuple(A.shape)} is none that mgclr builds for V={V} "
                     f"(layouts {', '.join(names) or 'none'}, graphs {', '.join(STGCN_GRAPHS)}); pass encoder= "
                     f"built with your layout")


def _stgcn_rules(encoder: STGCN) -> List[_Rule]:
    rules = []
    for key, value in encoder.state_dict().items():
        released = re.sub(r"^blocks\.(\d+)\.gcn\.", r"st_gcn_networks.\1.gcn.conv.", key)
        released = re.sub(r"^blocks\.", "st_gcn_networks.", released)
        rules.append(_Rule(key, [released], [tuple(value.shape)], _same))
    return rules


def _check_stgcn_graph(state: Dict[str, torch.Tensor], encoder: STGCN) -> None:
    A = state.get("A")
    if A is None or tuple(A.shape) != tuple(encoder.A.shape):
        return  # reported by the key / shape check
    if not torch.equal(A.to(device=encoder.A.device, dtype=encoder.A.dtype), encoder.A):
        def counts(a: torch.Tensor) -> str:
            return "/".join(str(int((s != 0).sum())) for s in a)

        raise ValueError(f"A: the state_dict's graph (non-zeros per subset {counts(A)}) differs from the encoder's "
                         f"(layout {encoder.layout.name!r}, graph={encoder.graph!r}: {counts(encoder.A)}); build "
                         f"the encoder with the graph the weights were trained with")


# ------------------------------------------------------------------------------------------------ 2s-AGCN


def _agcn_from(state: Dict[str, torch.Tensor]) -> AGCN:
    (PA, d0, bn) = _need(state, "agcn_2s", "l1.gcn1.PA", "l1.gcn1.conv_d.0.weight", "data_bn.weight")
    units = sorted({int(m.group(1)) for k in state if (m := re.match(r"l(\d+)\.gcn1\.PA$", k))})
    if units != list(range(1, len(AGCN_STRIDES) + 1)):
        raise ValueError(f"load_published(arch='agcn_2s'): expected units l1..l{len(AGCN_STRIDES)} (2s-AGCN), found "
                         f"{', '.join(f'l{u}' for u in units)}; pass encoder= to give other widths and strides")
    widths = [_need(state, "agcn_2s", f"l{u}.gcn1.conv_d.0.weight")[0].shape[0] for u in units]
    (a0, tk) = _need(state, "agcn_2s", "l1.gcn1.conv_a.0.weight", "l1.tcn1.conv.weight")
    V, C = PA.shape[-1], d0.shape[1]
    if bn.shape[0] % (V * C):
        raise ValueError(f"data_bn.weight: expected M * V * C entries with V={V}, C={C}, got {bn.shape[0]}")
    return AGCN(_default_layout(V, "agcn_2s"), in_channels=C, num_persons=bn.shape[0] // (V * C), widths=widths,
                strides=AGCN_STRIDES, temporal_kernel=tk.shape[2], embed_ratio=max(1, widths[0] // a0.shape[0]))


def _agcn_rules(encoder: AGCN) -> List[_Rule]:
    rules = []
    for key, value in encoder.state_dict().items():
        m = re.match(r"units\.(\d+)\.(.*)$", key)
        if m is None:
            rules.append(_Rule(key, [key], [tuple(value.shape)], _same))  # data_bn.*
            continue
        unit, rest = f"l{int(m.group(1)) + 1}", m.group(2)
        K = encoder.units[int(m.group(1))].gcn.subsets
        if rest == "gcn.A":
            continue  # not in 2s-AGCN's state_dict: the encoder keeps its own
        if rest == "gcn.B":
            rules.append(_Rule(key, [f"{unit}.gcn1.PA"], [tuple(value.shape)], _same))
            continue
        m2 = re.match(r"gcn\.(theta|phi|project)\.(weight|bias)$", rest)
        if m2:
            conv = {"theta": "conv_a", "phi": "conv_b", "project": "conv_d"}[m2.group(1)]
            sources = [f"{unit}.gcn1.{conv}.{k}.{m2.group(2)}" for k in range(K)]
            if conv != "conv_d":  # subset k's embedding is output channels [k * inter, (k + 1) * inter)
                rules.append(_Rule(key, sources, [_split(value.shape, 0, K)] * K, _cat0))
            elif m2.group(2) == "weight":  # W_k reads input channels [k * C, (k + 1) * C)
                rules.append(_Rule(key, sources, [_split(value.shape, 1, K)] * K, _cat1))
            else:  # the released forward sums the three conv_d outputs, biases included
                rules.append(_Rule(key, sources, [tuple(value.shape)] * K, _sum))
            continue
        released = re.sub(r"^gcn\.", "gcn1.", rest)
        released = re.sub(r"^tcn\.", "tcn1.", released)
        rules.append(_Rule(key, [f"{unit}.{released}"], [tuple(value.shape)], _same))
    return rules


# --------------------------------------------------------------------------------------------- ISC BIGRU


def _isc_bigru_from(state: Dict[str, torch.Tensor]) -> ISCBiGRU:
    (w_ih, w_hh) = _need(state, "isc_bigru", "encoder.gru.weight_ih_l0", "encoder.gru.weight_hh_l0")
    layers = sorted({int(m.group(1)) for k in state if (m := re.match(r"encoder\.gru\.weight_ih_l(\d+)$", k))})
    inputs, C, M = w_ih.shape[1], 3, 2  # ISC: xyz, two persons
    if inputs % (C * M):
        raise ValueError(f"encoder.gru.weight_ih_l0: input size {inputs} is not V * 3 * 2 (ISC's xyz of two "
                         f"persons); pass encoder=ISCBiGRU(num_joints=..., in_channels=..., num_persons=...)")
    return ISCBiGRU(num_joints=inputs // (C * M), in_channels=C, num_persons=M, hidden=w_hh.shape[1],
                    layers=len(layers))


def _isc_bigru_rules(encoder: ISCBiGRU) -> List[_Rule]:
    rules = []
    for key, value in encoder.state_dict().items():
        m = re.match(r"grus\.(\d+)\.([01])\.(\w+)_l0$", key)
        released = f"encoder.gru.{m.group(3)}_l{m.group(1)}{'_reverse' if m.group(2) == '1' else ''}"
        rules.append(_Rule(key, [released], [tuple(value.shape)], _same))
    return rules


_BUILD = {"stgcn": _stgcn_from, "agcn_2s": _agcn_from, "isc_bigru": _isc_bigru_from}
_RULES = {"stgcn": _stgcn_rules, "agcn_2s": _agcn_rules, "isc_bigru": _isc_bigru_rules}


# ---------------------------------------------------------------------------------------------------- API


def _listed(keys: Sequence[str]) -> str:
    more = f" (and {len(keys) - _LISTED} more)" if len(keys) > _LISTED else ""
    return ", ".join(keys[:_LISTED]) + more


def load_published(state_dict_or_path, arch: str, *, encoder: Optional[nn.Module] = None,
                   prefix: Optional[str] = None) -> nn.Module:
    """The mgclr encoder holding the weights of a released checkpoint of the published code.

    Args:
        state_dict_or_path: a state_dict with the released code's own key names (tensors or numpy arrays), or
            the path of a file saved by ``torch.save`` (read with ``torch.load(weights_only=True,
            map_location="cpu")``; a training checkpoint ``{"state_dict": ..., ...}`` is unwrapped).
        arch: ``"stgcn"`` (AimCLR / CrosSCLR / SkeletonCLR / yysijie ST-GCN ``Model``), ``"agcn_2s"``
            (2s-AGCN ``Model``, ISC's AGCN) or ``"isc_bigru"`` (ISC's ``BIGRU``). The key maps are in the module
            docstring.
        encoder: the mgclr encoder to load into (:class:`~mgclr.models.STGCN`, :class:`~mgclr.models.AGCN`,
            :class:`~mgclr.models.ISCBiGRU`), changed in place and returned. None: one is built from the
            state_dict's shapes (widths, hidden sizes, layers, input size; layout ``ntu25`` for 25 joints, else
            the one built-in layout of that size; ST-GCN: the layout and ``graph`` whose adjacency is the
            state_dict's ``A``; ISC: 3 channels and 2 persons). Arguments the weights do not show keep mgclr's
            defaults (ST-GCN ``dropout`` 0.0, the released pretraining used 0.5: pass an encoder to train as
            they did).
        prefix: the keys' prefix to take the encoder from (e.g. ``"encoder_q_motion."`` of CrosSCLR's 3-view
            model), stripped. By default a DataParallel ``module.`` is stripped, and in a MoCo checkpoint
            (AimCLR, CrosSCLR, ISC: ``encoder_q.*``, ``encoder_k.*``, ``queue``, ...) the query encoder
            ``encoder_q.`` is taken and the rest ignored.

    The classifier / projection head (``fc.*``: ``fc.weight``, or ``fc.0.*`` / ``fc.2.*`` of an MLP head) is not
    part of an mgclr encoder and is ignored. ``num_batches_tracked`` entries may be absent (older torch). Every
    other key must map onto the encoder: missing and unexpected keys are named in one ``ValueError``, and a
    shape mismatch names the key and both shapes. Floating weights are cast to the encoder's dtype (2s-AGCN's
    float16 releases load as float32). The encoder is returned in the mode it was in (a new one: training mode;
    call ``.eval()`` for features).
    """
    if arch not in PUBLISHED_ARCHS:
        raise ValueError(f"arch: expected one of {PUBLISHED_ARCHS}, got {arch!r}")
    if isinstance(state_dict_or_path, (str, os.PathLike)):
        state = _read(state_dict_or_path)
    elif isinstance(state_dict_or_path, Mapping):
        state = state_dict_or_path
    else:
        raise TypeError(f"state_dict_or_path: expected a state_dict (mapping) or a file path, got "
                        f"{type(state_dict_or_path).__name__}")
    state = _unwrap(_as_tensors(state), prefix)
    state = {k: v for k, v in state.items() if not (k == "fc" or k.startswith("fc."))}  # the head

    cls = _ENCODER_CLASSES[arch]
    if encoder is None:
        encoder = _BUILD[arch](state)
    elif not isinstance(encoder, cls):
        raise TypeError(f"encoder: arch {arch!r} loads into a {cls.__name__}, got {type(encoder).__name__}")

    rules = _RULES[arch](encoder)
    expected = {src: shape for rule in rules for src, shape in zip(rule.sources, rule.shapes)}
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing keys: {_listed(missing)}"] if missing else []) + \
                ([f"unexpected keys: {_listed(unexpected)}"] if unexpected else [])
        raise ValueError(f"load_published(arch={arch!r}): the state_dict does not match {type(encoder).__name__}: "
                         f"{'; '.join(parts)}")
    for key, shape in expected.items():
        if key in state and tuple(state[key].shape) != shape:
            raise ValueError(f"{key}: shape {tuple(state[key].shape)} in the state_dict, {shape} in "
                             f"{type(encoder).__name__}")
    if arch == "stgcn":
        _check_stgcn_graph(state, encoder)

    own = encoder.state_dict()
    target = dict(own)
    for rule in rules:
        if not all(src in state for src in rule.sources):
            continue  # an absent num_batches_tracked: keep the encoder's
        like = own[rule.target]
        tensors = [state[src].to(dtype=like.dtype) if like.is_floating_point() else state[src]
                   for src in rule.sources]
        target[rule.target] = rule.combine(tensors)
    encoder.load_state_dict(target, strict=True)
    return encoder
