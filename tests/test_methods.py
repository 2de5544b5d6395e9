"""The compared methods as small classes (mgclr.models.methods): AimCLR and CrosSCLR beside MoCo.

Each method's loss against an eager transcription of its published code's formulas (the logits built in full,
``queue.clone()``, ``log_softmax`` with masks) on a fixed batch, in loss and gradient; the registry and the
method options of configs; the views a method asks for; the tiny config of each method through ``mgclr
pretrain`` with its schedule switched on mid-run, resumed exactly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import skeleton_batch

from mgclr.models import (
    METHODS,
    STGCN,
    AimCLR,
    BiGRU,
    CrosSCLR,
    InputModality,
    MoCo,
    MultiStreamMoCo,
    ProjectionHead,
    StreamEncoder,
    View,
    bone_parents,
)
from mgclr.skeleton import get_layout
from mgclr.train import ConfigError, load_config, parse_config, pretrain

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
sys.path.insert(0, str(CONFIGS.parent / "benchmarks"))
import aimclr_style  # noqa: E402  (the benchmark's AimCLR-style loss: an eager transcription of AimCLR's code)

TOL = dict(rtol=1e-5, atol=1e-6)


def stgcn_stream(cls, seed, modality="joint", queue=40, **options):
    torch.manual_seed(seed)
    layout = get_layout("ntu25")
    encoder = StreamEncoder(InputModality(modality, bone_parents(25, layout.bones), 3),
                            STGCN("ntu25", hidden_channels=4, hidden_dim=12, eadm_threshold=0.75))
    stream = cls(encoder, ProjectionHead(12, 8, 12), queue_size=queue, temperature=0.2, infonce_impl="chunked",
                 generator=torch.Generator().manual_seed(seed), **options)
    with torch.no_grad():  # a key encoder apart from the query encoder, as after some steps
        for p in stream.key_parameters():
            p.add_(0.05 * torch.randn_like(p))
    return stream


def batch(seed):
    x, lengths = skeleton_batch(6, 3, 20, 25, 2, seed=seed)
    return x, lengths


def query_grads(loss, stream):
    params = [p for p in stream.query_parameters() if p.requires_grad]
    return torch.autograd.grad(loss, params, allow_unused=True)


def assert_grads_close(a, b):
    for got, want in zip(a, b):
        if want is None:
            assert got is None or not got.abs().any()
        else:
            torch.testing.assert_close(got, want, **TOL)


# ------------------------------------------------------------------------------------------- AimCLR ----


def aimclr_eager(stream, xq, lq, xk, lk, xe, le, nnm, topk):
    """AimCLR's forward as its code writes it (net/aimclr.py), then its loss as the benchmark's AimCLR-style step
    computes it (benchmarks/aimclr_style.py, a transcription of processor/pretrain_aimclr.py): this test checks
    both mgclr's AimCLR and the baseline it is benchmarked against."""
    q = F.normalize(stream.head_q(stream.encoder_q(xq, lq)), dim=1)
    fe, fed = stream.encoder_q(xe, le, drop=True)
    q_e, q_ed = F.normalize(stream.head_q(fe), dim=1), F.normalize(stream.head_q(fed), dim=1)
    with torch.no_grad():
        k = F.normalize(stream.head_k(stream.encoder_k(xk, lk)), dim=1)
    queue = stream.queue.queue.t()  # (dim, K), as theirs
    return aimclr_style.aimclr_loss(q, q_e, q_ed, k, queue, stream.temperature, topk, nnm)


@pytest.mark.parametrize("epoch,topk", [(0, 1), (3, 1), (3, 3)])
def test_aimclr_step_matches_an_eager_transcription_of_its_code(epoch, topk):
    stream = stgcn_stream(AimCLR, 1, nnm_epoch=3, topk=topk)
    (xq, lq), (xk, lk), (xe, le) = batch(2), batch(3), batch(4)
    expected, expected_infonce = aimclr_eager(stream, xq, lq, xk, lk, xe, le, nnm=epoch >= 3, topk=topk)
    expected_grads = query_grads(expected, stream)
    out = stream(xq, xk, lq, lk, extreme=(xe, le), epoch=epoch)
    torch.testing.assert_close(out.loss, expected, **TOL)
    torch.testing.assert_close(out.terms["infonce"], expected_infonce.detach(), **TOL)
    assert float(out.terms["nnm"]) == float(epoch >= 3)
    assert_grads_close(query_grads(out.loss, stream), expected_grads)
    assert all(p.grad is None for p in stream.key_parameters())


def test_aimclr_eadm_drops_something_here():
    # The transcription test means something only if the dropped branch differs from the plain one.
    stream = stgcn_stream(AimCLR, 1)
    x, lengths = batch(4)
    features, dropped = stream.encoder_q(x, lengths, drop=True)
    assert not torch.allclose(features, dropped)


def test_aimclr_without_drop_is_infonce_plus_one_d3m():
    stream = stgcn_stream(AimCLR, 5, drop=False)
    (xq, lq), (xk, lk), (xe, le) = batch(2), batch(3), batch(4)
    out = stream(xq, xk, lq, lk, extreme=(xe, le))
    assert set(out.terms) == {"infonce", "d3m", "nnm"}
    torch.testing.assert_close(out.loss, out.terms["infonce"] + out.terms["d3m"])
    gru = AimCLR(BiGRU(num_joints=25, hidden=4, layers=1), ProjectionHead(8, 8), queue_size=16, drop=False)
    assert gru(xq, xk, lq, lk, extreme=xe).loss.isfinite()
    with pytest.raises(ValueError, match=r"drop: AimCLR's EADM branch needs an encoder whose forward takes drop= "
                                         r"\(AGCN, STGCN\), got BiGRU; set drop: false"):
        AimCLR(BiGRU(num_joints=25, hidden=4, layers=1), ProjectionHead(8, 8), queue_size=16)


def test_aimclr_asks_for_its_extreme_view():
    stream = stgcn_stream(AimCLR, 1)
    x, lengths = batch(2)
    assert stream.views == ("query", "key", "extreme")
    with pytest.raises(ValueError, match=r"views: AimCLR \(aimclr\) needs the views query, key, extreme; got none "
                                         r"for extreme"):
        stream(x, x, lengths, lengths)
    with pytest.raises(ValueError, match=r"topk: expected at most queue_size = 40 entries, got 41"):
        stgcn_stream(AimCLR, 1, topk=41)


# ----------------------------------------------------------------------------------------- CrosSCLR ----


def crossclr_eager(streams, views, context, topk):
    """CrosSCLR's 3-view cross training as its code writes it (net/crossclr_3views.py cross_training and
    processor/pretrain_crossclr_3views.py): each stream's loss the mean over its two partners."""
    (xq, lq), (xk, lk) = views
    qs, ks, negs = {}, {}, {}
    for name, s in streams.items():
        qs[name] = F.normalize(s.head_q(s.encoder_q(xq, lq)), dim=1)
        with torch.no_grad():
            ks[name] = F.normalize(s.head_k(s.encoder_k(xk, lk)), dim=1)
        negs[name] = torch.einsum("nc,ck->nk", qs[name], s.queue.queue.clone().detach().t())
    losses = {}
    for a, s in streams.items():
        terms = []
        for b in streams:
            if b == a:
                continue
            l_pos = torch.einsum("nc,nc->n", qs[a], ks[a]).unsqueeze(-1)
            onehot = torch.zeros_like(negs[a]).scatter_(1, torch.topk(negs[b], topk, dim=1).indices, 1)
            ones = torch.ones(onehot.shape[0], 1)
            if context:
                logits = torch.cat([l_pos, negs[a], negs[a] * negs[b]], dim=1) / s.temperature
                mask = torch.cat([ones, onehot, onehot], dim=1)
            else:
                logits = torch.cat([l_pos, negs[a]], dim=1) / s.temperature
                mask = torch.cat([ones, onehot], dim=1)
            terms.append(-(F.log_softmax(logits, dim=1) * mask).sum(1) / mask.sum(1))
        losses[a] = (sum(terms) / len(terms)).mean()
    return losses


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("topk", [1, 2])
def test_crossclr_step_matches_an_eager_transcription_of_its_code(context, topk):
    streams = {name: stgcn_stream(CrosSCLR, seed, modality, cross_epoch=2, topk=topk, context=context)
               for seed, (name, modality) in enumerate([("joint", "joint"), ("motion", "motion"), ("bone", "bone")])}
    model = MultiStreamMoCo(streams)
    assert streams["joint"].partners == ["motion", "bone"]
    views = (batch(2), batch(3))
    pair = {name: {"query": views[0], "key": views[1]} for name in streams}
    expected = crossclr_eager(streams, views, context, topk)
    out = model(pair, epoch=2)
    for name in streams:
        torch.testing.assert_close(out.streams[name].loss, expected[name], **TOL)
        assert float(out.streams[name].terms["cross"]) == 1.0
    total = sum(expected.values())
    params = [p for s in streams.values() for p in s.query_parameters()]
    assert_grads_close(torch.autograd.grad(out.loss, params, allow_unused=True),
                       torch.autograd.grad(total, params, allow_unused=True))
    # before cross_epoch: every stream is plain MoCo
    before = model(pair, epoch=1)
    for name, s in streams.items():
        plain = MoCo.loss(s, s.embed({"query": View(*views[0]), "key": View(*views[1])}))
        torch.testing.assert_close(before.streams[name].loss, plain.loss, **TOL)


def test_crossclr_partners_are_checked():
    a, b = stgcn_stream(CrosSCLR, 1, cross_epoch=0), stgcn_stream(CrosSCLR, 2, queue=48)
    with pytest.raises(ValueError, match=r"streams.a.partners: 'b' has a queue of 48, 'a' one of 40; cross-view "
                                         r"mining needs one size"):
        MultiStreamMoCo({"a": a, "b": b})
    with pytest.raises(ValueError, match=r"streams.a.partners: no stream 'c'"):
        MultiStreamMoCo({"a": stgcn_stream(CrosSCLR, 1, partners=["c"])})
    with pytest.raises(ValueError, match=r"streams.a.partners: stream 'a' mines across streams from cross_epoch 0 on, "
                                         r"but the model has no other stream"):
        MultiStreamMoCo({"a": stgcn_stream(CrosSCLR, 1, cross_epoch=0), "m": stgcn_stream(MoCo, 2)})
    lonely = stgcn_stream(CrosSCLR, 1, cross_epoch=0, partners=["b"])
    x, lengths = batch(2)
    with pytest.raises(ValueError, match=r"peers: cross-view mining \(epoch 0 >= cross_epoch 0\) needs the embeddings "
                                         r"of the partner streams b"):
        lonely(x, x, lengths, lengths)


# ---------------------------------------------------------------------------------- registry, config ----


def test_registry_names_each_method_once_with_its_options():
    assert METHODS == {"moco": MoCo, "aimclr": AimCLR, "crossclr": CrosSCLR}
    assert MoCo.options() == ()
    assert AimCLR.options() == ("nnm_epoch", "topk", "drop")
    assert CrosSCLR.options() == ("partners", "cross_epoch", "topk", "context")
    assert dict(AimCLR.extra_views) == {"extreme": {"preset": "aimclr_extreme"}}


def _config(**stream):
    base = {"input": "joint", "encoder": {"kind": "stgcn", "args": {"hidden_channels": 4, "hidden_dim": 16}},
            "head_dim": 16, "queue_size": 32}
    return {"device": "cpu", "data": {"source": "synthetic", "train_samples": 48, "test_samples": 24, "frames": 24,
                                      "batch_size": 16},
            "augment": {"preset": "skeletonclr"}, "model": {"streams": {"joint": {**base, **stream}}},
            "pretrain": {"epochs": 2}}


@pytest.mark.parametrize("method,match", [
    ({"kind": "aimclr", "args": {"nnm_epok": 3}},
     r"model.streams.joint.method.args.nnm_epok: unknown option of AimCLR \(aimclr\); did you mean nnm_epoch\? it "
     r"takes nnm_epoch, topk, drop"),
    ({"kind": "moco", "args": {"topk": 1}}, r"method.args.topk: unknown option of MoCo \(moco\); it takes no options"),
    ({"kind": "aimclr", "views": {"strong": {"preset": "isc"}}},
     r"model.streams.joint.method.views.strong: AimCLR \(aimclr\) has no extra view 'strong' \(its extra views: "
     r"extreme\)"),
    ({"kind": "aimclr", "views": {"extreme": "aimclr_extreme"}}, r"method.views.extreme: expected an augmentation"),
    ({"kind": "simclr"}, r"model.streams.joint.method.kind: expected one of \('moco', 'aimclr', 'crossclr'\)"),
    ({"kind": "crossclr", "args": {"partners": ["joint"]}},
     r"model.streams.joint.method.args.partners: a stream cannot be its own partner"),
    ({"kind": "crossclr", "args": {"partners": ["bone"]}},
     r"model.streams.joint.method.args.partners: no stream 'bone' in model.streams \(joint\)"),
])
def test_method_config_errors_name_the_key(method, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_config(method=method))


def test_method_shorthand_and_build_errors(tmp_path):
    from mgclr.train.build import build_model, build_pretrain_pipelines, load_splits

    config = parse_config(_config(method="aimclr"))
    assert config.model.streams["joint"].method.kind == "aimclr"
    _, _, info = load_splits(config.data)
    gru = parse_config({**_config(method="aimclr"), "model": {"streams": {"joint": {
        "encoder": {"kind": "bigru", "args": {"hidden": 4, "layers": 1}}, "queue_size": 16, "method": "aimclr"}}}})
    with pytest.raises(ConfigError, match=r"model.streams.joint.method.args: drop: AimCLR's EADM branch needs an "
                                          r"encoder whose forward takes drop="):
        build_model(gru, info)
    two = parse_config(_config(method={"kind": "aimclr", "views": {"extreme": {"preset": "aimclr_extreme",
                                                                               "two_views": True}}}))
    with pytest.raises(ConfigError, match=r"model.streams.joint.method.views.extreme.two_views: this augmentation "
                                          r"makes one view \(a method's extra view\); leave two_views out, got True"):
        build_pretrain_pipelines(two, info)
    pair = parse_config({**_config(), "augment": {"preset": "skeletonclr", "two_views": False}})
    with pytest.raises(ConfigError, match=r"augment.two_views: this augmentation makes the pair of views"):
        build_pretrain_pipelines(pair, info)


def test_extra_views_are_shared_exactly_where_the_pair_is():
    from mgclr.train.build import build_pretrain_pipelines, load_splits, make_views, stream_feeds

    base = _config(method="aimclr")["model"]["streams"]["joint"]
    config = parse_config({**_config(), "model": {"streams": {
        "joint": base, "bone": {**base, "input": "bone"},
        "motion": {**base, "input": "motion", "augment": {"preset": "skeletonclr"}}}}})
    _, _, info = load_splits(config.data)
    pipes = build_pretrain_pipelines(config, info)
    assert set(pipes) == {"augment", "model.streams.motion.augment", "model.streams.joint.method.views.extreme",
                          "model.streams.bone.method.views.extreme", "model.streams.motion.method.views.extreme"}
    # joint and bone share the pair, so they share the extreme view; motion has views of its own
    assert pipes["model.streams.joint.method.views.extreme"] is pipes["model.streams.bone.method.views.extreme"]
    assert pipes["model.streams.motion.method.views.extreme"] is not pipes["model.streams.joint.method.views.extreme"]
    from mgclr.train.build import build_model

    model = build_model(config, info)
    assert stream_feeds(model.streams, pipes)["motion"] == {"query": ("model.streams.motion.augment", 0),
                                                            "key": ("model.streams.motion.augment", 1),
                                                            "extreme": ("model.streams.motion.method.views.extreme", 0)}
    x, lengths = batch(7)
    x = x[:, :, :, :info.num_joints, :1].contiguous()
    views = make_views(pipes, model.streams, x, lengths, seed=5)
    assert views["joint"]["extreme"] is views["bone"]["extreme"]
    # The same ops under two keys draw different views: motion's own pair is not the shared pair, and its
    # extreme view is not the shared extreme view (each pipeline has a seed of its own).
    assert not torch.equal(views["motion"]["query"].x, views["joint"]["query"].x)
    assert not torch.equal(views["motion"]["extreme"].x, views["joint"]["extreme"].x)
    again = make_views(pipes, model.streams, x, lengths, seed=5)
    assert torch.equal(again["motion"]["extreme"].x, views["motion"]["extreme"].x)  # reproducible


def test_a_schedule_past_the_last_epoch_warns(tmp_path):
    config = parse_config({**_config(method={"kind": "aimclr", "args": {"nnm_epoch": 2}}), "output": str(tmp_path)})
    with pytest.warns(UserWarning, match=r"model.streams.joint.method.args.nnm_epoch: 2, but the run has 2 epochs "
                                         r"\(0-based, the last is 1\): its nearest-neighbour mining never switches on"):
        pretrain(config, max_steps=1, show_progress=False)


# ----------------------------------------------------------------------- tiny configs, exact resume ----


@pytest.mark.parametrize("name,switch", [("tiny_aimclr", "joint_nnm"), ("tiny_crossclr", "joint_cross")])
def test_tiny_method_config_switches_mid_run_and_resumes_exactly(tmp_path, name, switch):
    path = CONFIGS / "cpu" / f"{name}.yaml"
    full = pretrain(load_config(path, [f"output={tmp_path / 'full'}", "pretrain.tensorboard=false"]),
                    show_progress=False)
    assert full.steps == 6 and full.epochs_done == 2
    lines = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    switched = {line["step"]: line[switch] for line in lines if line.get("kind") == "train"}
    assert switched == {1: 0.0, 2: 0.0, 3: 0.0, 4: 1.0, 5: 1.0, 6: 1.0}  # on from the second epoch (steps 4-6)
    killed = load_config(path, [f"output={tmp_path / 'killed'}", "pretrain.tensorboard=false"])
    assert pretrain(killed, max_steps=4, show_progress=False).steps == 4  # stopped after the switch
    resumed = pretrain(killed, resume=True, show_progress=False)
    assert resumed.steps == 6
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]


def test_tiny_method_configs_through_the_cli(tmp_path, capsys):
    from mgclr.cli import main

    out = tmp_path / "crossclr"
    common = ["--set", f"output={out}", "--set", "pretrain.tensorboard=false", "--no-progress"]
    assert main(["pretrain", str(CONFIGS / "cpu" / "tiny_crossclr.yaml"), *common]) == 0
    assert main(["fuse", str(CONFIGS / "cpu" / "tiny_crossclr.yaml"), "--set", f"output={out}",
                 "--set", "fuse.tsne=false", "--set", "fuse.confusion=false"]) == 0
    assert "3s" in capsys.readouterr().out
    assert set(json.loads((out / "fuse.json").read_text())["table"]) == {"joint", "motion", "bone", "3s"}


def test_queue_losses_stay_fp32_under_bf16_autocast():
    # pretrain.amp autocasts the encoders; the losses' products (logits, mined neighbours, ranks) must not be.
    streams = {"joint": stgcn_stream(AimCLR, 0, nnm_epoch=0), "bone": stgcn_stream(MoCo, 1, "bone")}
    streams["joint"].infonce_impl = "auto"  # AimCLR's single pass on the CPU at this size
    model = MultiStreamMoCo(streams, cross_stream=[("joint", "bone", 0.5)])
    seen = []
    for stream in streams.values():
        loss = stream.loss
        stream.loss = lambda *a, _loss=loss, **k: (seen.append(torch.is_autocast_enabled("cpu")), _loss(*a, **k))[1]
    views = {name: {"query": batch(2), "key": batch(3), "extreme": batch(4)} if name == "joint" else
             {"query": batch(2), "key": batch(3)} for name in streams}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(views)
    assert seen == [False, False] and out.loss.dtype == torch.float32
    assert all(t.dtype == torch.float32 for t in out.cross.values())
