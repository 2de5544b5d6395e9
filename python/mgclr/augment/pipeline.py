"""``Pipeline``: a list of skeleton transforms executed as one fused pass per view.

The ops run in the canonical order of DESIGN.md: temporal ops (composed into a per-sample source-frame
map), spatial ops, pointwise ops, then a temporal filter; within a stage the given order is kept (the order
is stable, see :attr:`Pipeline.execution_order`). ``two_views=True`` writes both MoCo views from one read of
``x`` in one call. ``return_params=True`` returns an :class:`~mgclr.ops.augment.AugmentParams`; passing it
back as ``params=`` replays exactly the same augmentation.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..ops.augment import AugmentParams, AugmentProgram, ProgramEntry, run_program
from ..ops.transforms import SkeletonTransform


class OneOf(nn.Module):
    """Apply exactly one of ``transforms`` per sample, chosen uniformly (then with that op's own ``p``).
    All members must belong to the same stage (e.g. ``OneOf([Shear(), JointShake()])`` as in ISC)."""

    def __init__(self, transforms: Sequence[SkeletonTransform]) -> None:
        super().__init__()
        if len(transforms) < 1:
            raise ValueError("OneOf: transforms: expected at least one transform, got none")
        for i, t in enumerate(transforms):
            if not isinstance(t, SkeletonTransform):
                raise TypeError(f"OneOf: transforms[{i}]: expected a SkeletonTransform, got {type(t).__name__}")
        stages = {t.stage for t in transforms}
        if len(stages) != 1:
            raise ValueError("OneOf: transforms: expected ops of one stage, got "
                             + ", ".join(f"{t.op_name} ({t.stage_name})" for t in transforms))
        self.transforms = nn.ModuleList(transforms)
        self.stage = stages.pop()

    @property
    def deterministic(self) -> bool:
        """True when the choice cannot matter: every member is the identity (``p`` = 0)."""
        return all(t.p == 0.0 for t in self.transforms)


class Pipeline(nn.Module):
    """Fused skeleton augmentation.

    Args:
        transforms: transforms (and :class:`OneOf` groups), in any order; they run in canonical order.
        coord_channels: 2 or 3 leading channels of ``x`` are coordinates; the rest are carried along.
        two_views: return two independently augmented views ``(q, k)`` from one read of ``x``.

    Call: ``pipeline(x, lengths=None, *, generator=None, seed=None, return_params=False, params=None,
    check_finite=False, check_lengths=True, out=None)`` with ``x`` (N, C, T, V, M) float
    (float16/bfloat16/float64 are computed in float32 and cast back), ``lengths`` (N,) integer valid frames
    in [1, T]. Returns the output(s) (frames past each sample's valid length are zero), plus an
    :class:`~mgclr.ops.augment.AugmentParams` with ``return_params=True``. ``seed`` (an int) or
    ``generator`` (a CPU ``torch.Generator``, one draw per call) key the Philox draws; with neither, the
    seed is drawn from torch's default CPU generator. ``check_lengths`` validates the lengths (for CUDA
    tensors that is a device synchronisation; pass False in a hot loop whose lengths are known good: the
    kernels then clamp them into [1, T]). ``check_finite`` rejects NaN/inf in ``x``. ``out`` (float32 input
    only) is a buffer to write into — (N, C, t_out, V, M), or (2, N, C, t_out, V, M) with two views — so
    that a loop can reuse it; large new outputs otherwise cost page faults every call.
    """

    def __init__(self, transforms: Sequence[Union[SkeletonTransform, OneOf]], coord_channels: int = 3,
                 two_views: bool = False) -> None:
        super().__init__()
        if isinstance(transforms, (SkeletonTransform, OneOf)):
            transforms = [transforms]
        ordered: List[Tuple[int, int, ProgramEntry]] = []  # (stage, position, entry)
        group_id = 0
        for pos, item in enumerate(transforms):
            if isinstance(item, OneOf):
                for member, t in enumerate(item.transforms):
                    ordered.append((t.stage, pos, ProgramEntry(t, group_id, len(item.transforms), member)))
                group_id += 1
            elif isinstance(item, SkeletonTransform):
                ordered.append((item.stage, pos, ProgramEntry(item)))
            else:
                raise TypeError(f"Pipeline: transforms[{pos}]: expected a SkeletonTransform or OneOf, "
                                f"got {type(item).__name__}")
        ordered.sort(key=lambda e: (e[0], e[1]))  # stable: canonical stage order, given order within a stage
        self._program = AugmentProgram([e[2] for e in ordered], coord_channels)
        self.ops = nn.ModuleList(self._program.transforms)
        self.coord_channels = self._program.coord_channels
        if not isinstance(two_views, bool):
            raise TypeError(f"two_views: expected a bool, got {type(two_views).__name__}")
        self.two_views = two_views

    @property
    def deterministic(self) -> bool:
        """True when the output does not depend on the seed (e.g. an evaluation centre crop alone), so an
        evaluation may augment once and cache the features."""
        return all(e.transform.deterministic and (e.group < 0 or e.group_size == 1 or e.transform.p == 0.0)
                   for e in self._program.entries)

    @property
    def execution_order(self) -> Tuple[str, ...]:
        return self._program.execution_order

    def extra_repr(self) -> str:
        return f"coord_channels={self.coord_channels}, two_views={self.two_views}"

    def output_frames(self, frames: int) -> int:
        return self._program.output_frames(frames)

    def program(self, num_joints: int, frames: int) -> Tuple[List[int], List[float]]:
        """The (integer, float) program of ``csrc/core/augment_program.h`` for V joints and T frames."""
        return self._program.encode(num_joints, frames)

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None, *,
                generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                return_params: bool = False, params: Optional[AugmentParams] = None, check_finite: bool = False,
                check_lengths: bool = True, out: Optional[torch.Tensor] = None):
        return run_program(self._program, x, lengths, two_views=self.two_views, generator=generator, seed=seed,
                           return_params=return_params, params=params, check_finite=check_finite,
                           check_lengths=check_lengths, out=out)
