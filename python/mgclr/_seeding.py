"""Seeds for the counter-based kernels.

Every random op draws from Philox4x32-10 keyed by ``(seed, offset)``. A call takes an explicit ``seed``
(offset 0), or draws one 64-bit seed from a ``torch.Generator`` (or torch's default CPU generator) on the
host: one draw per call, no device synchronisation, and ``torch.manual_seed`` makes runs reproducible.

Every seed that mgclr derives from a run's seed (a shuffle per epoch, augmentation per batch, per rank and
step, per pipeline) is :func:`derive_seed` of a named purpose: each formula is written once, here.
"""

from __future__ import annotations

import inspect
import zlib
from typing import Callable, Dict, Optional, Tuple, Union

import torch

MAX_SEED = (1 << 63) - 1    # a seed is a 64-bit Philox key; < 2**63 so that it fits torch's int64
MAX_OFFSET = (1 << 32) - 1  # the offset is counter word 3, uint32


def resolve_seed(seed: Optional[int], generator: Optional[torch.Generator]) -> Tuple[int, int]:
    """(seed, offset) for one call. ``seed`` wins over ``generator``; both absent uses torch's default RNG."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        if seed < 0 or seed > MAX_SEED:
            raise ValueError(f"seed: expected 0 <= seed < 2**63, got {seed}")
        return seed, 0
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"generator: expected a CPU torch.Generator (seeds are drawn on the host), "
                         f"got one on {generator.device}")
    drawn = torch.randint(0, 2**62, (2,), generator=generator, dtype=torch.int64)
    return int(drawn[0]), int(drawn[1]) & 0xFFFFFFFF


# What each derived seed is for, and its formula (of the base seed, then the purpose's indices). The formulas are
# frozen: runs reproduce bit for bit, and recorded results, from them; a new need gets a new purpose.
SEED_DERIVATIONS: Dict[str, Callable[..., int]] = {
    # pretraining: EpochSampler's permutation of epoch `epoch`
    "epoch_order": lambda seed, epoch: seed * 100_003 + epoch,
    # pretraining: the augmentation of rank `rank` at step `step` (None: the rank's loader, before any step)
    "rank_step": lambda seed, rank, step=None:
        ((seed * 1_000_003 + rank) * 1_000_000_007 + (0 if step is None else step + 1)) % MAX_SEED,
    # pretraining: pipeline `key` of a step of seed `seed` (all but the shared one; build.pipeline_seed)
    "pipeline": lambda seed, key: (seed * 0x9E3779B1 + zlib.crc32(key.encode())) % MAX_SEED,
    # the synthetic test split, generated apart from the training split
    "synthetic_test": lambda seed: seed + 1,
    # evaluation: the augmentation of the test features (linear, finetune, embed)
    "test_features": lambda seed: seed + 1,
    # evaluation: the augmentation of batch `batch` of extracted features
    "feature_batch": lambda seed, batch: seed * 7919 + batch,
    # linear probe, epoch `epoch`: the shuffle of cached features, or the augmentation of recomputed ones
    "linear_epoch": lambda seed, epoch: seed * 1009 + epoch,
    # linear probe, epoch `epoch`: the shuffle of the features recomputed for it
    "linear_epoch_order": lambda seed, epoch: seed * 1013 + epoch,
    # fine-tuning: the loader's shuffle of epoch `epoch`
    "finetune_epoch_order": lambda seed, epoch: seed + epoch,
    # fine-tuning: the augmentation of batch `batch` of epoch `epoch`
    "finetune_batch": lambda seed, epoch, batch: seed * 104_729 + epoch * 1000 + batch,
}


def derive_seed(seed: int, purpose: str, *indices: Union[int, str, None]) -> int:
    """The seed for ``purpose`` (a key of :data:`SEED_DERIVATIONS`) derived from ``seed`` and the purpose's
    indices (an epoch, a batch, a rank and step, a pipeline's key), e.g. ``derive_seed(s, "feature_batch", i)``."""
    formula = SEED_DERIVATIONS.get(purpose)
    if formula is None:
        raise ValueError(f"derive_seed: unknown purpose {purpose!r}; expected one of {', '.join(SEED_DERIVATIONS)}")
    try:
        return formula(seed, *indices)
    except TypeError as err:
        expected = ", ".join(str(p) for p in list(inspect.signature(formula).parameters.values())[1:])
        raise TypeError(f"derive_seed({purpose!r}): expected the indices ({expected}), got {indices!r}") from err
