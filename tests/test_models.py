"""Encoders, heads and MoCo: shapes, the paper's sizes, padding, the graph, the moving average, a step."""

from __future__ import annotations

import pytest
import torch
from conftest import skeleton_batch

from mgclr.models import (
    AGCN,
    ENCODERS,
    STGCN,
    BiGRU,
    InputModality,
    ISCBiGRU,
    MoCo,
    MultiStreamMoCo,
    ProjectionHead,
    bone_parents,
)
from mgclr.skeleton import adjacency


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def small_agcn(**kw):
    return AGCN("ntu25", widths=(8, 8, 16, 16), strides=(1, 2, 1, 2), **kw)


def test_paper_sizes():
    # The figures: AGCN joint stream 3.45 M parameters, BiGRU 3 x 1024 on 150-d input 45.0 M.
    assert n_params(AGCN("ntu25")) == 3_451_274
    assert n_params(BiGRU(num_joints=25, in_channels=3, num_persons=2, hidden=1024, layers=3)) == 44_998_656
    assert AGCN("ntu25").out_dim == 256 and BiGRU().out_dim == 2048
    assert STGCN("ntu25").out_dim == 256  # SkeletonCLR: hidden_channels 16, hidden_dim 256


@pytest.mark.parametrize("build,dim", [
    (lambda: small_agcn(), 16),
    (lambda: STGCN("ntu25", hidden_channels=4, hidden_dim=12), 12),
    (lambda: BiGRU(hidden=6, layers=2), 12),
    (lambda: BiGRU(hidden=6, layers=1, pooling="mean"), 12),
    (lambda: ISCBiGRU(hidden=6, layers=2), 12),
    (lambda: STGCN("ntu25", hidden_channels=4, hidden_dim=12, graph="true_hop"), 12),
])
def test_encoder_shapes_with_and_without_lengths(build, dim):
    x, lengths = skeleton_batch(3, 3, 20, 25, 2)
    enc = build()
    assert enc(x).shape == (3, dim) and enc(x, lengths).shape == (3, dim)
    full = torch.full((3,), 20)
    torch.testing.assert_close(enc.eval()(x, full), enc(x))  # lengths = T is no lengths


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_bigru_ignores_padding(pooling):
    gru = BiGRU(num_joints=7, hidden=5, layers=2, pooling=pooling).eval()
    x, lengths = skeleton_batch(4, 3, 16, 7, 2, seed=3)
    lengths = torch.tensor([16, 9, 3, 12])
    out = gru(x, lengths)
    noisy = x.clone()
    for i, L in enumerate(lengths.tolist()):
        noisy[i, :, L:] = torch.randn_like(noisy[i, :, L:]) * 100
    torch.testing.assert_close(gru(noisy, lengths), out)
    # and each sample alone, cut to its valid frames, gives the same features: truly per-sequence
    for i, L in enumerate(lengths.tolist()):
        torch.testing.assert_close(gru(x[i:i + 1, :, :L]), out[i:i + 1], rtol=1e-5, atol=1e-6)


def test_bigru_backward_direction_reads_reversed_time():
    gru = BiGRU(num_joints=7, hidden=4, layers=1).eval()
    x, _ = skeleton_batch(2, 3, 10, 7, 2, seed=4, short=False)
    out = gru(x)
    reversed_out = gru(torch.flip(x, dims=[2]))
    # Reversing time swaps what each direction reads: the halves differ (a frame-by-frame loop would not)
    assert not torch.allclose(out[:, 4:], reversed_out[:, 4:])


def isc_bigru_frame_by_frame(enc: ISCBiGRU, x: torch.Tensor) -> torch.Tensor:
    """ISC's EncoderRNN as released: one bidirectional nn.GRU called one frame at a time, carrying the hidden
    state, top layer's output at the last frame (written here from ISC's moco/GRU.py, with enc's weights)."""
    N, C, T, V, M = x.shape
    gru = torch.nn.GRU(V * C * M, enc.hidden, enc.layers, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for layer in range(enc.layers):
            for d, suffix in enumerate(("", "_reverse")):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(gru, f"{name}_l{layer}{suffix}").copy_(getattr(enc.grus[layer][d], f"{name}_l0"))
    seq = x.permute(0, 2, 3, 1, 4).reshape(N, T, V * C * M)
    hidden = torch.zeros(2 * enc.layers, N, enc.hidden)
    for t in range(T):
        out, hidden = gru(seq[:, t:t + 1], hidden)
    return out[:, 0]


def test_isc_bigru_is_isc_frame_by_frame_loop():
    torch.manual_seed(0)
    enc = ISCBiGRU(num_joints=7, hidden=5, layers=3).eval()
    x, _ = skeleton_batch(3, 3, 11, 7, 2, seed=5, short=False)
    with torch.no_grad():
        torch.testing.assert_close(enc(x), isc_bigru_frame_by_frame(enc, x), rtol=1e-5, atol=1e-6)
    assert enc.out_dim == 10 and ENCODERS["isc_bigru"] is ISCBiGRU


def test_isc_bigru_lengths():
    torch.manual_seed(1)
    enc = ISCBiGRU(num_joints=7, hidden=4, layers=2).eval()
    x, _ = skeleton_batch(4, 3, 16, 7, 2, seed=3, short=False)
    lengths = torch.tensor([16, 9, 3, 12])
    valid = (torch.arange(16).view(1, 16) < lengths.view(4, 1)).view(4, 1, 16, 1, 1)
    padded = x * valid
    out = enc(padded, lengths)
    noisy = padded + ~valid * 100 * torch.randn_like(x)
    torch.testing.assert_close(enc(noisy, lengths), out)  # the output at frame L-1 never sees the padding
    for i, L in enumerate(lengths.tolist()):  # each sample cut to its valid frames
        torch.testing.assert_close(enc(padded[i:i + 1, :, :L]), out[i:i + 1], rtol=1e-5, atol=1e-6)
    # ignore_lengths reads through the padding to frame T-1, as ISC does.
    isc = ISCBiGRU(num_joints=7, hidden=4, layers=2, ignore_lengths=True).eval()
    isc.load_state_dict(enc.state_dict())
    torch.testing.assert_close(isc(padded, lengths), enc(padded))
    assert not torch.allclose(isc(padded, lengths)[1:], out[1:])
    torch.testing.assert_close(enc(padded, torch.full((4,), 16)), enc(padded))
    with pytest.raises(ValueError, match=r"ISCBiGRU: lengths: expected a \(4,\) tensor"):
        enc(padded, torch.tensor([3, 4]))


def test_isc_bigru_init_is_xavier_on_weights():
    torch.manual_seed(2)
    enc = ISCBiGRU(num_joints=25, hidden=64, layers=3)
    for name, p in enc.named_parameters():
        fan_out, fan_in = (p.shape[0], p.shape[1]) if p.dim() == 2 else (None, None)
        bound = (6 / (fan_in + fan_out)) ** 0.5 if p.dim() == 2 else 1 / 64 ** 0.5
        assert p.abs().max() <= bound and p.abs().max() > 0.97 * bound, name
    assert enc.grus[0][0].weight_ih_l0.abs().max() > 0.125  # wider than PyTorch's default U(±1/sqrt(H))
    torch.manual_seed(2)
    default = ISCBiGRU(num_joints=25, hidden=64, layers=3, init="pytorch")
    assert default.grus[0][0].weight_ih_l0.abs().max() <= 0.125
    with pytest.raises(ValueError, match="init: expected one of"):
        ISCBiGRU(init="kaiming")
    with pytest.raises(TypeError, match="ignore_lengths: expected True or False"):
        ISCBiGRU(ignore_lengths="yes")


def test_stgcn_dropout_and_graph():
    enc = STGCN("ntu25", hidden_channels=4, hidden_dim=8, dropout=0.5)
    drops = {name: m.p for name, m in enc.named_modules() if isinstance(m, torch.nn.Dropout)}
    assert drops == {f"blocks.{i}.tcn.4": (0.0 if i == 0 else 0.5) for i in range(10)}  # as released
    assert STGCN("ntu25", hidden_channels=4, hidden_dim=8).blocks[3].tcn[4].p == 0.0  # mgclr's default
    x, _ = skeleton_batch(2, 3, 12, 25, 2, short=False)
    torch.manual_seed(0)
    a = enc.train()(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, enc(x))  # train mode drops
    torch.testing.assert_close(enc.eval()(x), enc(x))  # eval mode does not
    assert torch.equal(enc.A, adjacency("ntu25", "stgcn"))
    assert torch.equal(STGCN("ntu25", graph="true_hop").A, adjacency("ntu25", "stgcn_true_hop"))
    with pytest.raises(ValueError, match=r"graph: expected one of \('published', 'true_hop'\), got 'bfs'"):
        STGCN(graph="bfs")
    with pytest.raises(ValueError, match="dropout: expected a value < 1"):
        STGCN(dropout=1.0)


def test_agcn_uses_its_graph():
    enc = small_agcn().eval()
    for u in enc.units:  # a new unit starts near its residual path (output BN at 1e-6): open the graph branch
        torch.nn.init.ones_(u.gcn.bn.weight)
    unit = enc.units[0].gcn
    assert torch.equal(unit.A, adjacency("ntu25", "agcn"))
    x, _ = skeleton_batch(2, 3, 12, 25, 2)
    out = enc(x)
    with torch.no_grad():
        unit.A.zero_()
    assert not torch.allclose(enc(x), out)  # the fixed adjacency enters the output
    enc(x).sum().backward()
    assert unit.B.grad is not None and unit.B.grad.abs().sum() > 0  # the learned graph B trains
    assert unit.theta.weight.grad.abs().sum() > 0  # and the data-dependent graph C


def test_agcn_pools_valid_frames_only():
    enc = small_agcn().eval()
    x, _ = skeleton_batch(2, 3, 24, 25, 2, short=False)
    lengths = torch.tensor([24, 8])
    assert not torch.allclose(enc(x, lengths)[1], enc(x)[1])
    torch.testing.assert_close(enc(x, lengths)[0], enc(x)[0])


def test_encoder_input_errors():
    with pytest.raises(ValueError, match=r"AGCN: x: expected C=3, V=25, M=2"):
        small_agcn()(torch.zeros(2, 3, 10, 20, 2))
    with pytest.raises(ValueError, match=r"BiGRU: x: expected a \(N, C, T, V, M\) tensor"):
        BiGRU()(torch.zeros(2, 3, 10))
    with pytest.raises(ValueError, match="pooling: expected one of"):
        BiGRU(pooling="max")
    with pytest.raises(ValueError, match="widths, strides"):
        AGCN(widths=(4, 4), strides=(1,))


def test_projection_head():
    assert ProjectionHead(16, 8)(torch.zeros(3, 16)).shape == (3, 8)
    mlp = ProjectionHead(16, 8, hidden_dim=32)
    assert mlp(torch.zeros(3, 16)).shape == (3, 8) and n_params(mlp) == 16 * 32 + 32 + 32 * 8 + 8


# ---------------------------------------------------------------------------------------------------- MoCo


def small_moco(encoder=None, queue=64, seed=0, **kw):
    torch.manual_seed(seed)
    encoder = encoder or small_agcn()
    return MoCo(encoder, ProjectionHead(encoder.out_dim, 8, 16), queue_size=queue, temperature=0.2, **kw)


def test_momentum_update_is_the_moving_average():
    moco = small_moco(momentum=0.9)
    with torch.no_grad():
        for p in moco.query_parameters():
            p.add_(torch.randn_like(p))
    q = [p.clone() for p in moco.query_parameters()]
    k = [p.clone() for p in moco.key_parameters()]
    moco.momentum_update()
    for new, old, query in zip(moco.key_parameters(), k, q):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * query)
    assert all(not p.requires_grad for p in moco.key_parameters())


def test_keys_carry_no_gradient_and_are_normalised():
    moco = small_moco()
    x, lengths = skeleton_batch(4, 3, 12, 25, 2)
    out = moco(x, x, lengths, lengths)
    assert out.keys.requires_grad is False and out.queries.requires_grad
    torch.testing.assert_close(out.keys.norm(dim=1), torch.ones(4))
    out.loss.backward()
    assert all(p.grad is None for p in moco.key_parameters())


def test_one_step_lowers_the_loss_on_a_fixed_batch():
    moco = small_moco(queue=32)
    x, lengths = skeleton_batch(8, 3, 16, 25, 2, seed=9)
    view_q, view_k = x, torch.flip(x, dims=[3])  # two different views of the same samples
    opt = torch.optim.SGD([p for p in moco.parameters() if p.requires_grad], lr=0.01)
    before = moco(view_q, view_k, lengths, lengths)
    opt.zero_grad()
    before.loss.backward()
    opt.step()
    after = moco(view_q, view_k, lengths, lengths)  # same keys (key encoder not updated), same negatives
    assert torch.equal(after.keys, before.keys)
    assert float(after.loss.detach()) < float(before.loss.detach())


def test_enqueue_writes_the_keys():
    moco = small_moco(queue=10)
    x, lengths = skeleton_batch(4, 3, 12, 25, 2)
    out = moco(x, x, lengths, lengths)
    moco.enqueue(out.keys)
    assert torch.equal(moco.queue.queue[:4], out.keys) and int(moco.queue.ptr) == 4


def test_multi_stream_sums_the_streams_and_the_cross_terms():
    spatial = small_moco(seed=1)
    temporal = small_moco(BiGRU(hidden=6, layers=1), seed=2)
    third = small_moco(seed=3)
    x, lengths = skeleton_batch(4, 3, 12, 25, 2)
    views = {name: (x, x, lengths, lengths) for name in ("joint", "sequence", "other")}
    multi = MultiStreamMoCo({"joint": spatial, "sequence": temporal, "other": third})
    torch.manual_seed(0)
    out = multi(views)
    assert list(out.streams) == ["joint", "sequence", "other"] and out.cross == {}
    torch.testing.assert_close(out.loss, sum(o.loss for o in out.streams.values()))
    crossed = MultiStreamMoCo({"joint": spatial, "sequence": temporal}, [("joint", "sequence", 0.5)])(views)
    s, t = crossed.streams["joint"], crossed.streams["sequence"]
    torch.testing.assert_close(crossed.loss, s.loss + t.loss + 0.5 * crossed.cross["joint/sequence"])
    from mgclr.ops import queue_infonce
    expected = (queue_infonce(s.queries, t.keys, temporal.queue.queue, spatial.temperature)
                + queue_infonce(t.queries, s.keys, spatial.queue.queue, temporal.temperature))
    torch.testing.assert_close(crossed.cross["joint/sequence"], expected)
    multi.enqueue(out)
    assert int(spatial.queue.ptr) == 4 and int(temporal.queue.ptr) == 4 and int(third.queue.ptr) == 4
    with pytest.raises(ValueError, match=r"cross_stream\[0\]: the cross-stream term needs heads of one size"):
        MultiStreamMoCo({"a": spatial, "b": MoCo(BiGRU(hidden=3, layers=1), ProjectionHead(6, 5), queue_size=8)},
                        [("a", "b", 1.0)])
    with pytest.raises(ValueError, match=r"cross_stream\[0\]: no stream 'c'"):
        MultiStreamMoCo({"a": spatial}, [("a", "c", 1.0)])
    with pytest.raises(ValueError, match="views: expected the views of every stream, got none for other"):
        multi({"joint": views["joint"], "sequence": views["sequence"]})


def test_bone_of_a_two_joint_chain_and_motion_of_a_ramp():
    # Two joints, joint 1's parent is joint 0 (the root): bone = (0, x1 - x0); the root's own vector is 0.
    parents = bone_parents(2, [(1, 0)])
    assert parents.tolist() == [0, 0]
    x = torch.zeros(1, 3, 4, 2, 1)
    x[0, :, :3, 0, 0] = torch.tensor([1.0, 2.0, 3.0]).view(3, 1)       # root at (1, 2, 3)
    x[0, :, :3, 1, 0] = torch.tensor([4.0, 6.0, 8.0]).view(3, 1)       # child at (4, 6, 8); frame 3 is padding
    bone = InputModality("bone", parents, 3)(x, torch.tensor([3]))
    assert torch.equal(bone[0, :, :3, 0, 0], torch.zeros(3, 3))
    assert torch.equal(bone[0, :, :3, 1, 0], torch.tensor([3.0, 4.0, 5.0]).view(3, 1).expand(3, 3))
    assert torch.equal(bone[0, :, 3], torch.zeros(3, 2, 1))  # padding stays zero
    # A ramp x[t] = 2 t + 1 over 4 valid frames of 6: motion 2, 2, 2, then 0 at the last valid frame and after.
    ramp = torch.zeros(1, 3, 6, 2, 1)
    ramp[0, :, :4] = (2 * torch.arange(4.0) + 1).view(1, 4, 1, 1)
    motion = InputModality("motion", None, 3)(ramp, torch.tensor([4]))
    assert motion[0, 0, :, 0, 0].tolist() == [2.0, 2.0, 2.0, 0.0, 0.0, 0.0]
    assert torch.equal(motion[0, 1], motion[0, 0]) and torch.equal(motion[0, :, :, 1], motion[0, :, :, 0])
    # bone_motion: the motion of the bones; the ramp's two joints move alike, so their bone does not move.
    ramp[0, :, :4, 1] += 5.0
    bm = InputModality("bone_motion", parents, 3)(ramp, torch.tensor([4]))
    assert torch.equal(bm, torch.zeros_like(bm))
    # Only coordinate channels change: a confidence channel (the third of 2-D data) passes through.
    xc = torch.rand(2, 3, 5, 2, 1)
    for kind in ("bone", "motion", "bone_motion"):
        out = InputModality(kind, parents, coord_channels=2)(xc, torch.tensor([5, 3]))
        assert torch.equal(out[:, 2], xc[:, 2]), kind
    with pytest.raises(ValueError, match="input: expected one of"):
        InputModality("velocity")
    with pytest.raises(ValueError, match="needs the layout's bones"):
        InputModality("bone")


def test_bone_parents_of_the_ntu_layout_follow_its_bones():
    from mgclr.skeleton import get_layout

    layout = get_layout("ntu25")
    parents = bone_parents(layout.num_joints, layout.bones)
    assert sum(int(parents[v]) == v for v in range(25)) == 1  # one root
    for child, parent in layout.bones:
        assert parents[child] == parent


def test_configs_name_the_new_encoder_arguments():
    from mgclr.train.build import build_model, load_splits
    from mgclr.train.config import parse_config

    streams = {"joint": {"input": "joint", "encoder": {"kind": "stgcn", "args": {
                   "hidden_channels": 4, "hidden_dim": 8, "dropout": 0.5, "graph": "published"}},
                   "head_dim": 8, "queue_size": 16, "method": "aimclr"},
               "sequence": {"input": "joint", "encoder": {"kind": "isc_bigru", "args": {
                   "hidden": 4, "layers": 2, "ignore_lengths": False}}, "head_dim": 8, "queue_size": 16}}
    config = parse_config({"device": "cpu", "data": {"source": "synthetic", "train_samples": 16, "test_samples": 8,
                                                     "frames": 12, "batch_size": 8},
                           "augment": {"preset": "skeletonclr"}, "model": {"streams": streams}})
    _, _, info = load_splits(config.data)
    model = build_model(config, info)
    stgcn = model.streams["joint"].encoder_q.encoder
    gru = model.streams["sequence"].encoder_q.encoder
    assert isinstance(stgcn, STGCN) and stgcn.dropout == 0.5 and stgcn.graph == "published"
    assert stgcn.eadm_threshold == 0.7
    assert isinstance(gru, ISCBiGRU) and gru.num_joints == info.num_joints and gru.out_dim == 8
