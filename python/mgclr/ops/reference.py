"""Pure-torch references of mgclr's kernels: the oracles of the tests, the baselines of the benchmarks and
the fallback when the extension is not built. Each section belongs to one op family.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

# ======================================= queue InfoNCE ==============================================


def queue_infonce_reference(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
                            temperature: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eager MoCo InfoNCE: ``q·k``, ``q·queueᵀ``, ``cat``, ``cross_entropy`` (the ISC/MoCo formulation).

    q, k: ``(N, D)``; queue: ``(K, D)``; all one floating dtype on one device, no validation (see
    :func:`mgclr.ops.queue_infonce`). Returns ``(per_sample_loss (N,), rank (N,) int64)`` where ``rank`` is
    the number of negatives whose logit is strictly above the positive's (top-k correct iff rank < k).
    Gradient flows to ``q`` only. The queue is cloned: ``mm`` saves its second operand for backward, and
    the clone is what makes a later in-place enqueue safe (snapshot semantics, like the fused kernels).
    """
    k = k.detach()
    queue = queue.detach().clone()
    pos = (q * k).sum(dim=1, keepdim=True)
    neg = q @ queue.t()
    logits = torch.cat([pos, neg], dim=1) / temperature
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    with torch.no_grad():
        rank = (logits[:, 1:] > logits[:, :1]).sum(dim=1)
    return per_sample, rank


# ===================================== end queue InfoNCE ============================================
