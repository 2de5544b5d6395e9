"""mgclr.train: configs, schedules, checkpoints, exact resume, DDP with gloo, evaluation protocols."""

from __future__ import annotations

import json
import os
import textwrap
import warnings
import zlib
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from conftest import free_port

from mgclr._seeding import SEED_DERIVATIONS, derive_seed
from mgclr.data.arrays import class_fraction as _label_subset
from mgclr.train import ConfigError, fuse_eval, knn_eval, linear_eval, load_config, parse_config, pretrain
from mgclr.train.build import SHARED_AUGMENT, learning_rate, pipeline_seed
from mgclr.train.checkpoint import load_checkpoint, save_checkpoint
from mgclr.train.config import OptimConfig
from mgclr.train.distributed import EpochSampler, local_seed
from mgclr.train.evaluate import knn_predict, topk_accuracy

TINY = textwrap.dedent("""
    name: tiny
    data: {train_samples: 96, test_samples: 48, frames: 32, batch_size: 16}
    augment: {preset: paper_best, out_frames: 32}
    model:
      streams:
        joint: {encoder: {kind: agcn, args: {widths: [8, 8, 16, 16], strides: [1, 2, 1, 2]}}, head_dim: 16,
                queue_size: 64}
        sequence: {encoder: {kind: bigru, args: {hidden: 16, layers: 1}}, head_dim: 16, queue_size: 64}
    pretrain: {epochs: 2, knn_every: 0, log_every: 2, tensorboard: false, optim: {lr: 0.05}}
    linear: {epochs: 3}
    finetune: {epochs: 1, label_fraction: 0.25}
    fuse: {tsne: false, confusion: false}
""")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)

    def make(*overrides, out="run"):
        return load_config(path, [f"output={tmp_path / out}", "device=cpu", *overrides])

    return make


# ------------------------------------------------------------------------------------------------ configs


@pytest.mark.parametrize("data,match", [
    ({"pretrain": {"epochz": 3}},
     r"pretrain.epochz: unknown key; did you mean pretrain.epochs\? pretrain takes epochs, steps, optim"),
    ({"pretrain": {"epochs": "many"}}, r"pretrain.epochs: expected an integer, got 'many'"),
    ({"pretrain": {"epochs": 0}}, r"pretrain.epochs: expected a value > 0"),
    ({"model": {"streams": {"joint": {"encoder": {"kind": "gcn"}}}}},
     r"model.streams.joint.encoder.kind: expected one of"),
    ({"model": {"streams": {"joint": {"momentum": 1.5}}}},
     r"model.streams.joint.momentum: expected a value in \[0, 1\]"),
    ({"pretrain": {"optim": {"milestones": [80, 50]}}}, r"pretrain.optim.milestones: expected increasing"),
    ({"data": {"source": "ftp"}}, r"data.source: expected one of \('synthetic', 'synthetic_realistic', 'mgclr'"),
    ({"finetune": {"label_fraction": 0}}, r"finetune.label_fraction: expected a value in \(0, 1\]"),
    ({"model": {"streams": {"joint": None, "sequence": None}}}, r"model.streams: expected at least one stream"),
    ({"pretrain": {"amp": "yes"}}, r"pretrain.amp: expected true or false"),
    ({"linear": []}, r"linear: expected a mapping"),
    ({"knn": {"k": [0]}}, r"knn.k\[0\]: expected a value >= 1"),
    ({"knn": {"k": []}}, r"knn.k: expected a non-empty list of integers >= 1"),
])
def test_config_errors_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(data)


def test_overrides_and_yaml_errors(tmp_path, tiny):
    config = tiny("pretrain.epochs=5", "model.streams.sequence=null", "pretrain.optim.nesterov=false")
    assert config.pretrain.epochs == 5 and list(config.model.streams) == ["joint"]
    assert not config.pretrain.optim.nesterov
    with pytest.raises(ConfigError, match="--set 'pretrain': expected key=value"):
        tiny("pretrain")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="model.streams.joint.encoder.args.wdiths: unknown argument of AGCN .agcn.; "
                                          "did you mean widths"):
        tiny("model.streams.joint.encoder.args.wdiths=[4]")


def test_learning_rate_schedules():
    step = OptimConfig(lr=0.1, milestones=[50, 80], gamma=0.1)
    assert [round(learning_rate(step, 100, e), 6) for e in (0, 49.9, 50, 80)] == [0.1, 0.1, 0.01, 0.001]
    cosine = OptimConfig(lr=1.0, schedule="cosine", warmup_epochs=2)
    assert learning_rate(cosine, 10, 1.0) == pytest.approx(0.5)
    assert learning_rate(cosine, 10, 2.0) == pytest.approx(1.0) and learning_rate(cosine, 10, 10) < 1e-9


def test_epoch_sampler_shards_and_resumes():
    a = EpochSampler(100, 8, seed=3, rank=0, world_size=2)
    b = EpochSampler(100, 8, seed=3, rank=1, world_size=2)
    assert a.batches_per_epoch == 6 and len(list(a)) == 48
    assert not set(a) & set(b)  # ranks see disjoint samples
    full = list(a)
    a.set_epoch(0, start_batch=2)
    assert list(a) == full[16:]
    a.set_epoch(1)
    assert list(a) != full
    with pytest.raises(ValueError, match="data.batch_size"):
        EpochSampler(10, 8, world_size=2)


def test_derived_seeds_are_the_formulas_runs_were_made_with():
    """Every derived seed keeps the formula it had before it was named (runs reproduce bit for bit)."""
    m = 2**63 - 1
    formulas = {  # purpose: (today's formula, the index tuples to try)
        "epoch_order": (lambda s, e: s * 100_003 + e, [(0,), (1,), (17,)]),
        "rank_step": (lambda s, r, t=None: ((s * 1_000_003 + r) * 1_000_000_007 + (0 if t is None else t + 1)) % m,
                      [(0,), (3,), (0, 0), (1, 5), (3, 10**6)]),
        "pipeline": (lambda s, k: (s * 0x9E3779B1 + zlib.crc32(k.encode())) % m, [("joint",), ("motion/extra",)]),
        "synthetic_test": (lambda s: s + 1, [()]),
        "test_features": (lambda s: s + 1, [()]),
        "feature_batch": (lambda s, i: s * 7919 + i, [(0,), (4,)]),
        "linear_epoch": (lambda s, e: s * 1009 + e, [(0,), (9,)]),
        "linear_epoch_order": (lambda s, e: s * 1013 + e, [(0,), (9,)]),
        "finetune_epoch_order": (lambda s, e: s + e, [(0,), (9,)]),
        "finetune_batch": (lambda s, e, i: s * 104_729 + e * 1000 + i, [(0, 0), (2, 7)]),
    }
    assert sorted(formulas) == sorted(SEED_DERIVATIONS)
    for purpose, (formula, index_tuples) in formulas.items():
        for seed in (0, 1, 42, 2**40, 2**62):
            for indices in index_tuples:
                assert derive_seed(seed, purpose, *indices) == formula(seed, *indices), (purpose, seed, indices)
    # pinned values, and the named helpers built on them
    assert derive_seed(3, "rank_step", 1, 5) == local_seed(3, 1, 5) == 3000010021000076
    assert derive_seed(2**40, "rank_step", 3) == local_seed(2**40, 3) == 120986964104797381
    assert derive_seed(3, "pipeline", "joint") == pipeline_seed(3, "joint") == 10613418266
    assert pipeline_seed(3, SHARED_AUGMENT) == 3
    sampler = EpochSampler(20, 4, seed=3)
    sampler.set_epoch(2)
    assert list(sampler) == torch.randperm(20, generator=torch.Generator().manual_seed(3 * 100_003 + 2)).tolist()
    with pytest.raises(ValueError, match="unknown purpose 'batch'"):
        derive_seed(0, "batch", 1)
    with pytest.raises(TypeError, match=r"derive_seed\('feature_batch'\): expected the indices \(batch\)"):
        derive_seed(0, "feature_batch")


# ---------------------------------------------------------------------------------------- checkpoints


def test_checkpoints_are_atomic_and_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", {"model": {"w": torch.ones(2)}, "step": 3})
    assert load_checkpoint(path)["step"] == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    (tmp_path / "broken.pt").write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"broken.pt: not an mgclr checkpoint \(the file ends early"):
        load_checkpoint(tmp_path / "broken.pt")
    torch.save({"format": 1, "evil": object()}, tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match=r"pickled.pt: not an mgclr checkpoint \(it holds (builtins\.)?object: "):
        load_checkpoint(tmp_path / "pickled.pt")  # weights_only refuses arbitrary objects
    with pytest.raises(FileNotFoundError, match="missing.pt does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_resume_mid_epoch_ends_with_the_same_weights(tiny):
    full = pretrain(tiny(out="full"), show_progress=False)
    killed = tiny(out="killed")
    first = pretrain(killed, max_steps=7, show_progress=False)  # 6 steps per epoch: stopped inside epoch 2
    assert first.steps == 7
    resumed = pretrain(killed, resume=True, show_progress=False)
    assert resumed.steps == full.steps == 12
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]
    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint"):
        pretrain(tiny(out="nothing"), resume=True, show_progress=False)


def test_views_made_in_the_workers_train_the_same_weights(tiny):
    """data.augment_in_workers (on by default on CPU with workers): the views come from the workers, seeded
    by each batch's step; the weights are those of the in-process augmentation, and so after a resume."""
    in_process = pretrain(tiny(out="in_process"), show_progress=False)
    workers = tiny("data.num_workers=2", out="workers")
    first = pretrain(workers, max_steps=7, show_progress=False)
    assert first.steps == 7
    resumed = pretrain(workers, resume=True, show_progress=False)
    a, b = in_process.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]


def test_augment_in_workers_is_refused_where_it_cannot_be(tiny):
    from mgclr.train.loader import augment_in_workers

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert augment_in_workers(tiny("data.num_workers=2"), cpu)
    assert not augment_in_workers(tiny("data.num_workers=2"), cuda) and not augment_in_workers(tiny(), cpu)
    assert not augment_in_workers(tiny("data.num_workers=2", "data.augment_in_workers=false"), cpu)
    with pytest.raises(ConfigError, match="data.augment_in_workers: true needs DataLoader workers, but "
                                          "data.num_workers is 0"):
        augment_in_workers(tiny("data.augment_in_workers=true"), cpu)
    with pytest.raises(ConfigError, match="the training device is cuda:0: the views are made on the device"):
        augment_in_workers(tiny("data.num_workers=1", "data.augment_in_workers=true"), cuda)


def test_pretraining_writes_config_metrics_and_knn(tiny, tmp_path):
    result = pretrain(tiny("pretrain.knn_every=1", "pretrain.epochs=1"), show_progress=False)
    out = tmp_path / "run"
    assert (out / "config.yaml").is_file() and (out / "checkpoint.pt").is_file()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert any('"kind": "knn"' in line for line in lines) and any('"loss"' in line for line in lines)
    assert set(result.knn[1]) == {"joint", "sequence"}
    assert load_config(out / "config.yaml").model.streams["joint"].queue_size == 64  # the saved config reads back


# ------------------------------------------------------------------------------------------------ DDP


def _ddp_worker(rank: int, world: int, port: int, config_path: str, out: str, result_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    config = load_config(config_path, [f"output={out}", "device=cpu", "data.batch_size=8"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pretrain(config, show_progress=False)
    torch.save({k: v.cpu() for k, v in result.model.state_dict().items()}, f"{result_dir}/rank{rank}.pt")
    Path(f"{result_dir}/rank{rank}.json").write_text(json.dumps(
        {"main": result.main, "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))


def test_ddp_two_processes_keep_queues_and_weights_identical(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    mp.spawn(_ddp_worker, args=(2, free_port(), str(config), str(tmp_path / "ddp"), str(tmp_path)), nprocs=2)
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    queues = [k for k in r0 if k.endswith("queue.queue") or k.endswith("queue.ptr")]
    assert len(queues) == 4
    for k in queues:
        assert torch.equal(r0[k], r1[k]), k
    weights = [k for k in r0 if "encoder_q" in k and "running" not in k and "num_batches" not in k]
    for k in weights:
        assert torch.allclose(r0[k], r1[k], atol=1e-6), k
    assert int(r0["streams.joint.queue.ptr"]) == (2 * 6 * 16) % 64  # 2 epochs x 6 steps x 2 ranks x 8 keys, wrapped
    assert load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")["step"] == 12
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["main"] for r in reports] == [True, False]  # rank 0 reports (the CLI prints nothing on rank 1)
    for report in reports:  # no deprecation from mgclr's own DDP call (broadcast_buffers in torch >= 2.13)
        assert not [w for w in report["warnings"] if "Deprecat" in w or "deprecated" in w], report["warnings"]


def test_only_rank_0_prints_the_summary(monkeypatch, capsys, tmp_path):
    import mgclr.train
    from mgclr import cli
    from mgclr.train.pretrain import PretrainResult

    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    for main in (False, True):
        monkeypatch.setattr(mgclr.train, "pretrain", lambda *a, main=main, **k: PretrainResult(
            tmp_path, 5, 1, knn={1: {}}, main=main))
        assert cli.main(["pretrain", str(config), "--no-progress"]) == 0
        printed = capsys.readouterr().out
        assert (printed == "") == (not main), printed


# --------------------------------------------------------------------------------------------- evaluation


def test_knn_predict_and_topk():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    labels = torch.tensor([0, 1, 0])
    scores = knn_predict(train, labels, torch.tensor([[1.0, 0.05], [0.1, 1.0]]), 1, 2)
    assert scores.argmax(1).tolist() == [0, 1]
    assert topk_accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]), (1, 2)) == {1: 0.5, 2: 1.0}


def test_knn_k_beyond_the_training_samples_is_refused_by_name(tiny, tmp_path, capsys):
    train = torch.randn(5, 4)
    with pytest.raises(ConfigError, match=r"^k: 6 neighbours, but train \(the training features\) has 5 samples; "
                                          r"give k <= 5$"):
        knn_predict(train, torch.arange(5) % 2, torch.randn(2, 4), 6, 2)
    assert knn_predict(train, torch.arange(5) % 2, torch.randn(2, 4), 5, 2).shape == (2, 2)  # k = N is fine
    config = tiny("knn.k=[1, 100000]")  # 96 training samples
    message = r"knn.k\[1\]: 100000 neighbours, but the training split of .* has 96 samples; give k <= 96"
    with pytest.raises(ConfigError, match=message):  # before: reported as k=100000, computed with 96
        knn_eval(config, torch.device("cpu"), random_init=True)
    from mgclr.cli import main

    yaml_path = tmp_path / "tiny.yaml"
    assert main(["knn", str(yaml_path), "--set", f"output={tmp_path / 'run'}", "--set", "knn.k=[100000]",
                 "--random-init", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "knn.k[0]: 100000 neighbours" in err and "give k <= 96" in err
    with pytest.raises(ConfigError, match=r"pretrain.knn_k: 97 neighbours, but .* has 96 samples"):
        pretrain(tiny("pretrain.knn_every=1", "pretrain.knn_k=97", out="fresh"), show_progress=False)
    assert not (tmp_path / "fresh" / "checkpoint.pt").exists()  # refused before any step
    # left out, knn.k is [1, 20] and the monitor's k 20, 20 cut to the split's size when smaller (the recipe says so)
    scores = knn_eval(tiny("data.train_samples=16", "data.batch_size=8"), torch.device("cpu"), random_init=True)
    assert set(scores["joint"]) == {"k=1", "k=16"}  # the k used, reported as such
    assert main(["knn", str(yaml_path), "--set", f"output={tmp_path / 'small_knn'}", "--set", "data.train_samples=16",
                 "--set", "data.batch_size=8", "--random-init", "--no-progress"]) == 0
    assert "k=16" in capsys.readouterr().out
    small = pretrain(tiny("data.train_samples=16", "data.batch_size=8", "pretrain.knn_every=1", out="small"),
                     show_progress=False, max_steps=1)
    assert "pretrain.knn_k = 16: 20, but the training split holds 16 sequences (the monitor's neighbours)" in \
        small.recipe and set(small.knn_random) == {"joint", "sequence"}
    assert not any("knn_k" in note for note in pretrain(tiny("pretrain.knn_every=1", out="big"), show_progress=False,
                                                           max_steps=1).recipe)


def test_label_subset_is_per_class_and_seeded():
    labels = torch.arange(40) % 4
    subset = _label_subset(labels.numpy(), 0.1, seed=0)
    assert len(subset) == 4 and sorted(labels[subset].tolist()) == [0, 1, 2, 3]
    assert (subset == _label_subset(labels.numpy(), 0.1, seed=0)).all()


def test_evaluation_protocols_run_and_report(tiny):
    config = tiny("pretrain.epochs=1")
    pretrain(config, show_progress=False)
    device = torch.device("cpu")
    knn = knn_eval(config, device)
    assert set(knn) == {"joint", "sequence"} and set(knn["joint"]) == {"k=1", "k=20"}
    lin = linear_eval(config, device)
    assert 0.0 <= lin["joint"]["top1_best"] <= 1.0 and lin["joint"]["scores"].shape == (48, 12)
    report = fuse_eval(config, device)
    assert set(report["table"]) == {"joint", "sequence", "joint+sequence"}
    from mgclr.train import finetune_eval

    ft = finetune_eval(config, device)
    assert ft["joint"]["labelled_samples"] == 24


def test_amp_grad_clip_profile_and_tensorboard(tiny, tmp_path):
    result = pretrain(tiny("pretrain.amp=true", "pretrain.grad_clip=1.0", "pretrain.tensorboard=true",
                           "pretrain.epochs=1"), profile_steps=2, show_progress=False)
    out = tmp_path / "run"
    assert (out / "trace.json").stat().st_size > 1000  # a Chrome/Perfetto trace of the first steps
    assert any((out / "tensorboard").iterdir())
    assert result.losses and all(loss == loss for loss in result.losses)  # bf16 autocast: finite, not NaN


@pytest.mark.filterwarnings("ignore:pretraining is not helping")
def test_the_profile_trace_shows_every_stage_and_a_range_per_step(tiny, tmp_path):
    """--profile N: the Chrome trace holds one ``mgclr/step i`` range per step and, inside each, every stage by
    name; the profiler starts after the kNN monitor's random-init baseline (no monitor in the trace)."""
    import json

    pretrain(tiny("pretrain.epochs=1", "pretrain.knn_every=1"), profile_steps=3, show_progress=False)
    events = json.loads((tmp_path / "run" / "trace.json").read_text())["traceEvents"]
    names = [e.get("name", "") for e in events if e.get("ph") == "X"]
    steps = sorted(n for n in names if n.startswith("mgclr/step "))
    assert steps == ["mgclr/step 1", "mgclr/step 2", "mgclr/step 3"], steps
    stages = {"mgclr/data", "mgclr/augment", "mgclr/forward", "mgclr/loss", "mgclr/backward", "mgclr/optimizer",
              "mgclr/ema", "mgclr/enqueue"}
    assert stages <= set(names), stages - set(names)
    assert names.count("mgclr/optimizer") == 3 and "mgclr/knn_monitor" not in names
    first = next(e for e in events if e.get("name") == "mgclr/step 1")
    inside = {e["name"] for e in events if e.get("ph") == "X" and e.get("name") in stages
              and first["ts"] <= e["ts"] <= first["ts"] + first["dur"]}
    assert inside == stages  # each stage sits inside its step's range


def test_single_stream_and_per_stream_pipelines(tiny):
    single = pretrain(tiny("model.streams.sequence=null", "pretrain.epochs=1", "pretrain.log_every=1"),
                      show_progress=False)
    assert list(single.model.streams) == ["joint"]
    own = pretrain(tiny("pretrain.epochs=1", "model.streams.sequence.augment={preset: skeletonclr}", out="own"),
                   show_progress=False)
    assert own.steps == 6


@pytest.mark.slow
def test_torch_compile_switch(tiny):
    result = pretrain(tiny("pretrain.compile=true", "pretrain.log_every=1"), max_steps=3, show_progress=False)
    assert result.steps == 3 and all(loss == loss for loss in result.losses)


def test_amp_where_bf16_is_emulated_is_said_by_key(monkeypatch):
    import warnings
    from types import SimpleNamespace

    from mgclr import _ext
    from mgclr.train.pretrain import warn_emulated_bf16

    cpu = torch.device("cpu")
    for support, amp, warned in (("none", True, True), ("amx", True, False), ("avx512_bf16", True, False),
                                 ("none", False, False)):
        monkeypatch.setattr(_ext, "cpu_bf16", lambda support=support: support)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_emulated_bf16(SimpleNamespace(pretrain=SimpleNamespace(amp=amp)), cpu)
        messages = [str(w.message) for w in caught]
        assert bool(messages) == warned, (support, amp, messages)
        if warned:
            assert messages[0].startswith("pretrain.amp: true, but this CPU has no bf16 instructions")
