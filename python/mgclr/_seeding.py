"""Seeds for the counter-based kernels.

Every random op draws from Philox4x32-10 keyed by ``(seed, offset)``. A call takes an explicit ``seed``
(offset 0), or draws one 64-bit seed from a ``torch.Generator`` (or torch's default CPU generator) on the
host: one draw per call, no device synchronisation, and ``torch.manual_seed`` makes runs reproducible.
"""

from __future__ import annotations

from typing import Optional, Tuple

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
