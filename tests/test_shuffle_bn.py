"""MoCo's shuffle-BN under DDP: the keys each rank gets back from ``MoCo.encode_key`` are its own samples' keys.

Guards the gather -> permute -> encode -> gather -> unshuffle path of :meth:`mgclr.models.MoCo.encode_key`
(world size > 1, ``training``, ``shuffle_bn``). Two gloo processes build the same MoCo whose key encoder
holds a BatchNorm in eval mode with random running statistics, so each key depends on its own sample
(and its length) only, not on which sub-batch it was encoded in. Each rank's keys from the shuffled path
must then equal the keys of its own slice encoded without shuffling, and the rows of one global batch
encoded in a single process. A wrong unshuffle (e.g. applying the permutation instead of its inverse,
``all_keys[order]`` for ``unshuffled[order] = all_keys``), a permutation that differs between ranks, or
lengths that are not permuted with their samples hand a rank someone else's keys and fail here. The
test also checks that the key encoder really saw other ranks' samples, so it cannot pass by the shuffle
path silently not running.
"""

from __future__ import annotations

import pytest
import torch
import torch.multiprocessing as mp
from conftest import file_rendezvous
from torch import nn

from mgclr.models import MoCo, ProjectionHead

WORLD, PER_RANK = 2, 8
C, T, V, M = 2, PER_RANK * WORLD, 3, 1  # T >= the global batch: every sample gets its own length
FEAT, DIM = 12, 6
CALLS = 3  # each call draws a fresh permutation


class _MaskedBNEncoder(nn.Module):
    """``(N, C, T, V, M)`` + lengths -> ``(N, FEAT)``: frames past each length zeroed, flatten, Linear, BN, ReLU.

    Records the lengths of every batch it encodes (to check which samples the key encoder saw)."""

    out_dim = FEAT

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(C * T * V * M, FEAT), nn.BatchNorm1d(FEAT), nn.ReLU())
        self.seen: list = []

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        self.seen.append(lengths.tolist())
        mask = torch.arange(x.shape[2], device=x.device)[None, :] < lengths[:, None]
        x = x * mask[:, None, :, None, None].to(x.dtype)
        return self.net(x.flatten(1))


def _build() -> MoCo:
    """The same MoCo in every process: train mode (the shuffle path runs), BatchNorm in eval mode with
    random running statistics (each key depends on its own sample only)."""
    torch.manual_seed(0)
    encoder = _MaskedBNEncoder()
    with torch.no_grad():
        for bn in (m for m in encoder.modules() if isinstance(m, nn.BatchNorm1d)):
            bn.running_mean.copy_(torch.randn(FEAT))
            bn.running_var.copy_(torch.rand(FEAT) * 2.0 + 0.5)
            bn.weight.copy_(torch.randn(FEAT))
            bn.bias.copy_(torch.randn(FEAT))
    moco = MoCo(encoder, ProjectionHead(FEAT, DIM, hidden_dim=10), queue_size=32,
                generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # key weights != query weights: encode_key must use the key encoder
        for p in moco.key_parameters():
            p.add_(0.1 * torch.randn_like(p))
    moco.train()
    for m in moco.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.eval()
    return moco


def _global_batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(WORLD * PER_RANK, C, T, V, M, generator=g)
    lengths = torch.randperm(T, generator=g)[: WORLD * PER_RANK] + 1  # distinct, in 1..T
    return x, lengths


def _worker(rank: int, world: int, rendezvous: str, out) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=rendezvous, rank=rank, world_size=world)
    try:
        moco = _build()
        x, lengths = _global_batch()
        mine = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
        x, lengths = x[mine], lengths[mine]
        assert moco.training and moco.shuffle_bn
        shuffled, seen = [], []
        for _ in range(CALLS):
            moco.encoder_k.seen.clear()
            shuffled.append(moco.encode_key(x, lengths).tolist())
            seen.append(list(moco.encoder_k.seen))
        moco.shuffle_bn = False  # the reference: the same module on this rank's own slice, no shuffle
        moco.encoder_k.seen.clear()
        reference = moco.encode_key(x, lengths).tolist()
        # Plain lists: tensors would travel as shared-memory handles that die with this process.
        out.put((rank, shuffled, seen, reference))
        # Every rank has put its result before any tears down.
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_shuffle_bn_returns_each_ranks_own_keys(monkeypatch, tmp_path):
    if not torch.distributed.is_available():
        pytest.skip("torch.distributed is not available in this torch build")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    mp.start_processes(_worker, args=(WORLD, file_rendezvous(tmp_path), out), nprocs=WORLD, join=True,
                       start_method="spawn")
    results = sorted([out.get() for _ in range(WORLD)], key=lambda r: r[0])
    assert [r[0] for r in results] == list(range(WORLD))

    # Single-process keys of the whole global batch (no process group here: the plain path).
    moco = _build()
    x, lengths = _global_batch()
    expected = moco.encode_key(x, lengths)
    assert lengths.unique().numel() == lengths.numel()

    for rank, shuffled, seen, reference in results:
        own = expected[rank * PER_RANK:(rank + 1) * PER_RANK]
        reference = torch.tensor(reference)
        torch.testing.assert_close(reference, own)
        for call in range(CALLS):
            torch.testing.assert_close(torch.tensor(shuffled[call]), reference,
                                       msg=lambda m, rank=rank, call=call:
                                       f"rank {rank}, call {call}: shuffled keys != own keys\n{m}")
            # The key encoder ran once, on PER_RANK samples, not all of them this rank's own.
            assert len(seen[call]) == 1 and len(seen[call][0]) == PER_RANK
    # The shuffle really ran: across calls a rank's key encoder saw other ranks' samples, and in each call
    # the ranks together encoded the global batch exactly once.
    for call in range(CALLS):
        together = sorted(length for _, _, seen, _ in results for length in seen[call][0])
        assert together == sorted(lengths.tolist())
    foreign = sum(len(set(seen[call][0]) - set(lengths[r * PER_RANK:(r + 1) * PER_RANK].tolist()))
                  for r, _, seen, _ in results for call in range(CALLS))
    assert foreign > 0, "the key encoder only ever saw its own rank's samples: the shuffle path did not run"
    # Distinct samples give distinct keys, so a rank handed another rank's rows cannot match by accident.
    assert torch.cdist(expected, expected).add(torch.eye(len(expected)) * 10).min() > 1e-3
