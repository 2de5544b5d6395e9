"""ISC's temporal stream as released: the ``BIGRU`` of fmthoker/skeleton-contrast (``moco/GRU.py``), the
encoder the paper's "3 layers of Bi-GRU, 1024 units" is built on.

ISC's ``EncoderRNN`` feeds a bidirectional ``nn.GRU`` **one frame at a time**, carrying the hidden state, so
its "reverse" direction also runs forward in time and never sees reversed time: each layer is two independent
forward GRUs reading the same input, and each layer's input is the concatenation ``[dir0, dir1]`` of the
layer below. The feature is the top layer's ``[dir0, dir1]`` at the last frame, ``(N, 2 * hidden)`` (what
``BIGRU`` passes to its ``fc``). :class:`ISCBiGRU` computes exactly that, but runs each direction of a layer
as one ``nn.GRU`` call over the whole sequence (cuDNN on a GPU) instead of a Python loop over frames; the
parity fixture ``bigru_isc.npz`` (released code) is matched within 1e-6.

Each frame is one input vector: the frame's (V, C, M) values flattened with persons fastest, V * C * M numbers
(ISC's feeder, ``(C, T, V, M).transpose(1, 2, 0, 3).reshape(T, -1)``; the same as :class:`~mgclr.models.BiGRU`).

Initialisation as ISC's ``weights_init_gru`` (``moco/builder_inter.py``): ``xavier_uniform_`` (gain 1) on every
2-D parameter, i.e. each GRU ``weight_ih`` / ``weight_hh`` (both directions) as one ``(3H, in)`` matrix (bound
``sqrt(6 / (3H + in))``); the biases keep PyTorch's default U(±1/sqrt(H)). (ISC's ``fc.weight`` gets xavier too;
here the head is separate, :class:`~mgclr.models.ProjectionHead`.)

Where mgclr departs from the released code: ISC ignores valid lengths (its feeder resamples every clip to 64
frames, so it never sees padding) and reads through any padding to frame T-1. Here, with ``lengths`` given, the
feature is the output at frame ``lengths[n] - 1`` (ISC's ``EncoderRNN.forward(x, seq_len)`` code path: both
directions are causal, so padding never reaches it; identical to ISC whenever every frame is valid);
``ignore_lengths=True`` reads through the padding to frame T-1 exactly as ISC's ``BIGRU`` does.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .._validation import check_int
from .agcn import check_skeleton_input

__all__ = ["ISC_INITS", "ISCBiGRU"]

ISC_INITS = ("isc", "pytorch")


class ISCBiGRU(nn.Module):
    """ISC's ``BIGRU`` encoder: ``(N, C, T, V, M)`` (+ ``lengths`` (N,)) -> ``(N, 2 * hidden)`` features
    (module docstring).

    Args:
        num_joints, in_channels, num_persons: V, C, M of the input (the GRU reads V * C * M per frame).
        hidden: units per direction (ISC and the paper: 1024).
        layers: stacked layers (3).
        ignore_lengths: read through padding to frame T-1 as ISC does, even when ``lengths`` is given
            (default False: the output at frame ``lengths[n] - 1``).
        init: ``"isc"`` (ISC's ``weights_init_gru``: xavier_uniform_ on the weights) or ``"pytorch"``
            (``nn.GRU``'s default, U(±1/sqrt(H)) everywhere).

    Parameters: ``grus[l][d]`` is layer ``l``'s direction ``d`` (0: ISC's ``weight_*_l{l}``, 1:
    ``weight_*_l{l}_reverse``), a one-layer unidirectional ``nn.GRU`` (:func:`mgclr.models.load_published`
    maps a released state_dict onto them).
    """

    def __init__(self, num_joints: int = 25, in_channels: int = 3, num_persons: int = 2, hidden: int = 1024,
                 layers: int = 3, ignore_lengths: bool = False, init: str = "isc") -> None:
        super().__init__()
        self.num_joints = check_int("num_joints", num_joints, low=1)
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.num_persons = check_int("num_persons", num_persons, low=1)
        self.hidden = check_int("hidden", hidden, low=1)
        self.layers = check_int("layers", layers, low=1)
        if not isinstance(ignore_lengths, bool):
            raise TypeError(f"ignore_lengths: expected True or False, got {ignore_lengths!r}")
        if init not in ISC_INITS:
            raise ValueError(f"init: expected one of {ISC_INITS}, got {init!r}")
        self.ignore_lengths = ignore_lengths
        self.input_size = num_joints * in_channels * num_persons
        # Built in nn.GRU(bidirectional=True)'s parameter order (layer, then direction), so the default init
        # draws the same random numbers in the same order as ISC's one bidirectional GRU.
        self.grus = nn.ModuleList(
            nn.ModuleList(nn.GRU(self.input_size if layer == 0 else 2 * self.hidden, self.hidden, batch_first=True)
                          for _ in range(2))
            for layer in range(self.layers))
        self.out_dim = 2 * self.hidden
        if init == "isc":
            self.xavier_init_()

    @torch.no_grad()
    def xavier_init_(self) -> None:
        """ISC's ``weights_init_gru``: ``xavier_uniform_`` on every weight matrix, in ISC's order (layer,
        direction, ``weight_ih`` then ``weight_hh``); the biases are left as they are."""
        for layer in self.grus:
            for gru in layer:
                nn.init.xavier_uniform_(gru.weight_ih_l0)
                nn.init.xavier_uniform_(gru.weight_hh_l0)

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_skeleton_input("ISCBiGRU", x, self.in_channels, self.num_joints, self.num_persons)
        N, C, T, V, M = x.shape
        out = x.permute(0, 2, 3, 1, 4).reshape(N, T, V * C * M)
        for layer in self.grus:
            out = torch.cat([layer[0](out)[0], layer[1](out)[0]], dim=2)  # both directions forward in time
        if lengths is None or self.ignore_lengths:
            return out[:, -1]
        if not isinstance(lengths, torch.Tensor) or tuple(lengths.shape) != (N,):
            shape = tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__
            raise ValueError(f"ISCBiGRU: lengths: expected a ({N},) tensor of valid frames, got {shape}")
        last = lengths.to(device=x.device, dtype=torch.int64).clamp(1, T) - 1
        return out[torch.arange(N, device=x.device), last]
