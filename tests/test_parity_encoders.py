"""Parity with the published code (issue 26): the golden fixtures in ``../shared/parity/encoders/`` (or
``$MGCLR_PARITY_DIR``), made by running the released code of AimCLR (ST-GCN, EADM), yysijie's ST-GCN (its
graph), ISC (BIGRU) and 2s-AGCN unmodified, are reproduced through mgclr's public API: :func:`mgclr.load_published`
on the released state_dicts, the encoders, :mod:`mgclr.models.eadm` and :func:`mgclr.skeleton.adjacency`.
The fixture tests skip when the folder is absent; a fixture whose bytes differ from ``manifest.json`` fails.
Tolerances are the fixtures' README's. The load_published error cases need no fixture."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import skeleton_batch
from torch import nn

import mgclr
from mgclr.models import AGCN, STGCN, ISCBiGRU
from mgclr.models.eadm import energy_attention_drop, energy_attention_masks
from mgclr.skeleton import adjacency, get_layout, hop_distance


def parity_dir() -> Path:
    """../shared/parity/encoders next to the repository, or $MGCLR_PARITY_DIR."""
    env = os.environ.get("MGCLR_PARITY_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "parity" / "encoders"


PARITY = parity_dir()
requires_fixtures = pytest.mark.skipif(not (PARITY / "manifest.json").is_file(),
                                       reason=f"parity fixtures not found in {PARITY} (../shared/parity/encoders)")

# Every fixture the manifest lists -> the tests that read it. _fixture() refuses a read by a test not listed
# here, and test_every_manifest_file_is_read() checks that this covers the manifest exactly.
READ_BY = {
    "stgcn_aimclr.npz": {"test_stgcn_features_feature_map_and_drop", "test_stgcn_state_dict_graph",
                         "test_stgcn_dropout_sites"},
    "stgcn_graph_facts.json": {"test_stgcn_graph_facts"},
    "eadm_aimclr.npz": {"test_eadm_masks_and_output"},
    "bigru_isc.npz": {"test_isc_bigru_features", "test_isc_bigru_init", "test_isc_bigru_lengths"},
    "agcn_2s.npz": {"test_agcn_2s_features"},
}
ATOL = RTOL = 1e-5  # ST-GCN, EADM, Bi-GRU outputs (README: suggested test tolerances)


@cache
def _manifest() -> dict:
    return json.loads((PARITY / "manifest.json").read_text())


@cache
def _verified(name: str) -> Path:
    entry = _manifest()["files"].get(name)
    assert entry is not None, f"{name}: not listed in {PARITY / 'manifest.json'}"
    data = (PARITY / name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != entry["bytes"] or digest != entry["sha256"]:
        pytest.fail(f"{PARITY / name}: {len(data)} bytes, sha256 {digest}; manifest.json says {entry['bytes']} "
                    f"bytes, sha256 {entry['sha256']}: the fixture is damaged or was replaced")
    return PARITY / name


def _fixture(name: str):
    """The fixture ``name`` (checked against the manifest): an npz as a dict of arrays, a json as its object."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0].split("[")[0]
    assert test in READ_BY.get(name, ()), f"{test} reads {name}: add it to READ_BY"
    path = _verified(name)
    if name.endswith(".json"):
        return json.loads(path.read_text())
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _state_dict(z: dict, prefix: str = "sd.") -> dict:
    """The released state_dict in a fixture (README: the keys after ``sd.`` are the reference's own)."""
    return {k[len(prefix):]: v for k, v in z.items() if k.startswith(prefix)}


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a))


def _head(sd: dict, feat: torch.Tensor) -> torch.Tensor:
    """The released ``fc`` (not part of an mgclr encoder) applied to features."""
    return feat @ _t(sd["fc.weight"]).float().T + _t(sd["fc.bias"]).float()


def _close(actual: torch.Tensor, expected: np.ndarray, atol=ATOL, rtol=RTOL) -> float:
    expected = _t(expected)
    torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol)
    return float((actual - expected).abs().max())


# ---------------------------------------------------------------------------------------------- manifest


@requires_fixtures
def test_manifest_lists_every_fixture_and_each_is_intact():
    listed = set(_manifest()["files"])
    present = {p.name for p in PARITY.iterdir() if p.is_file()} - {"manifest.json", "README.md"}
    assert present == listed, f"files in {PARITY} and manifest.json differ: {sorted(present ^ listed)}"
    for name in sorted(listed):
        _verified(name)


@requires_fixtures
def test_every_manifest_file_is_read():
    assert set(READ_BY) == set(_manifest()["files"]), "a fixture no test reads, or a test reading an unlisted one"
    for names in READ_BY.values():
        for name in names:
            assert callable(globals().get(name)), f"READ_BY names {name}, which is not a test of this file"


# ------------------------------------------------------------------------------------------------ ST-GCN


@requires_fixtures
def test_stgcn_features_feature_map_and_drop():
    z = _fixture("stgcn_aimclr.npz")
    sd = _state_dict(z)
    encoder = mgclr.load_published(sd, "stgcn").eval()
    assert isinstance(encoder, STGCN) and encoder.graph == "published" and encoder.layout.name == "ntu25"
    assert encoder.out_dim == 256 and encoder.eadm_threshold == json.loads(str(z["meta_json"]))["eadm"]["keep_prob"]
    taps = {}
    encoder.blocks[-1].register_forward_hook(lambda module, args, out: taps.__setitem__("map", out))
    with torch.no_grad():
        feat, feat_drop = encoder(_t(z["x"]), drop=True)
    _close(taps["map"], z["feature_map"])
    _close(feat, z["feat"])
    _close(feat_drop, z["feat_drop"])
    _close(_head(sd, feat), z["logits"])
    _close(_head(sd, feat_drop), z["logits_drop"])
    with torch.no_grad():
        torch.testing.assert_close(encoder(_t(z["x"])), feat, atol=0, rtol=0)  # drop=False: the plain tap


@requires_fixtures
def test_stgcn_state_dict_graph():
    z = _fixture("stgcn_aimclr.npz")
    assert torch.equal(adjacency("ntu25", "stgcn", dtype=torch.float64), _t(z["A"]))  # bit for bit
    assert torch.equal(adjacency("ntu25", "stgcn"), _t(z["sd.A"]))
    # The true-hop graph is refused for these weights, by name.
    with pytest.raises(ValueError, match=r"^A: the state_dict's graph \(non-zeros per subset 25/40/8\) differs from "
                                         r"the encoder's \(layout 'ntu25', graph='true_hop': 25/24/24\)"):
        mgclr.load_published(_state_dict(z), "stgcn", encoder=STGCN("ntu25", graph="true_hop"))


@requires_fixtures
def test_stgcn_dropout_sites():
    z = _fixture("stgcn_aimclr.npz")
    released = dict(zip(z["dropout_paths"].tolist(), z["dropout_p"].tolist()))
    expected = {path.replace("st_gcn_networks.", "blocks."): p for path, p in released.items()}
    encoder = mgclr.load_published(_state_dict(z), "stgcn", encoder=STGCN("ntu25", dropout=0.5))
    found = {name: m.p for name, m in encoder.named_modules() if isinstance(m, nn.Dropout)}
    assert found == expected and expected["blocks.0.tcn.4"] == 0.0 and expected["blocks.9.tcn.4"] == 0.5
    # Active in training: the released weights with dropout on drop about half of a block's outputs.
    outputs = {}
    encoder.blocks[5].tcn[4].register_forward_hook(lambda module, args, out: outputs.__setitem__("y", out))
    encoder.blocks[5].tcn[3].register_forward_hook(lambda module, args, out: outputs.__setitem__("bn", out.clone()))
    torch.manual_seed(0)
    with torch.no_grad():
        encoder.train()(_t(z["x"]))
    dropped = (outputs["y"] == 0) & (outputs["bn"] != 0)
    assert 0.45 < dropped.float().mean() < 0.55
    torch.testing.assert_close(outputs["y"][~dropped], 2 * outputs["bn"][~dropped])  # kept values scaled 1/(1-p)


@requires_fixtures
def test_stgcn_graph_facts():
    facts = _fixture("stgcn_graph_facts.json")
    layout = get_layout("ntu25")
    assert facts["center"] == layout.center == 20 and facts["max_hop"] == 1 and facts["num_node"] == 25
    assert {frozenset(e) for e in facts["neighbor_link_0based"]} == {frozenset(b) for b in layout.bones}
    assert hop_distance(layout).tolist() == facts["hop_dis_to_centre_true_bfs"]
    A = adjacency(layout, "stgcn", dtype=torch.float64)
    for k, entries in facts["partitions_nonzero_(i,j,value)"].items():
        expected = torch.zeros(25, 25, dtype=torch.float64)
        for i, j, value in entries:
            expected[i, j] = value
        assert torch.equal(A[int(k)], expected), f"subset {k}"
    assert [int((a != 0).sum()) for a in A] == facts["nonzero_counts"] == [25, 40, 8]
    true_hop = adjacency(layout, "stgcn_true_hop", dtype=torch.float64)
    assert [int((a != 0).sum()) for a in true_hop] == facts["true_hop_partition_nonzero_counts"] == [25, 24, 24]
    differ = facts["entries_that_differ_from_a_true_hop_partition"]
    assert len(differ) == facts["number_of_differing_entries"] == 16
    for e in differ:
        i, j = e["row"], e["col"]
        assert A[e["reference_subset"], i, j] == e["value"] and true_hop[e["true_hop_subset"], i, j] == e["value"]
    moved = {(i, j) for i, j in ((A != true_hop).any(dim=0)).nonzero().tolist()}
    assert moved == {(e["row"], e["col"]) for e in differ}
    assert facts["sum_over_subsets_equal"] and torch.equal(A.sum(dim=0), true_hop.sum(dim=0))


# --------------------------------------------------------------------------------------------------- EADM


@requires_fixtures
def test_eadm_masks_and_output():
    z = _fixture("eadm_aimclr.npz")
    x = _t(z["x"])
    threshold, e_lambda = float(z["keep_prob"]), float(z["e_lambda"])
    assert threshold == 0.7 and e_lambda == 1e-4
    masks = energy_attention_masks(x, threshold=threshold, e_lambda=e_lambda)
    _close(masks.att, z["att"])
    _close(masks.att_joint, z["att_joint"])
    assert torch.equal(masks.keep_joint, _t(z["keep_joint"]).bool())
    assert torch.equal(masks.keep_elem, _t(z["keep_elem"]).bool())
    assert sorted(map(tuple, (~masks.keep_joint).nonzero().tolist())) == [(0, 7), (0, 11), (1, 3)]
    assert abs(float(masks.scale_joint) - float(z["scale_joint"])) < 1e-6
    assert abs(float(masks.scale_elem) - float(z["scale_elem"])) < 1e-6
    x_before = x.clone()
    _close(energy_attention_drop(x), z["out"])  # the default threshold is AimCLR's 0.7
    assert torch.equal(x, x_before)  # the input is not modified, as released


# ------------------------------------------------------------------------------------------------ ISC BIGRU


@requires_fixtures
def test_isc_bigru_features():
    z = _fixture("bigru_isc.npz")
    sd = _state_dict(z)
    encoder = mgclr.load_published(sd, "isc_bigru").eval()
    assert isinstance(encoder, ISCBiGRU) and (encoder.hidden, encoder.layers, encoder.input_size) == (64, 3, 150)
    inputs = {}
    encoder.grus[0][0].register_forward_pre_hook(lambda module, args: inputs.__setitem__("seq", args[0]))
    with torch.no_grad():
        feat = encoder(_t(z["x"]))
    assert torch.equal(inputs["seq"], _t(z["x_seq"]))  # ISC's feeder flattening: (V, C, M), persons fastest
    _close(feat, z["feat"])
    _close(_head(sd, feat), z["logits"])


@requires_fixtures
def test_isc_bigru_init():
    z = _fixture("bigru_isc.npz")
    sd_init = _state_dict(z, "sd_init.")
    # ISC: torch.manual_seed(4000); BIGRU(...) (the bidirectional GRU, then fc); weights_init_gru (xavier on
    # every 2-D parameter). The same random stream through ISCBiGRU gives the same numbers exactly.
    torch.manual_seed(4000)
    encoder = ISCBiGRU(num_joints=25, hidden=64, layers=3, init="pytorch")
    fc = nn.Linear(128, 128)
    encoder.xavier_init_()
    nn.init.xavier_uniform_(fc.weight)
    reference = mgclr.load_published(sd_init, "isc_bigru")
    for (name, mine), (_, theirs) in zip(encoder.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(mine, theirs), name
    assert torch.equal(fc.weight, _t(sd_init["fc.weight"])) and torch.equal(fc.bias, _t(sd_init["fc.bias"]))
    # The default init="isc" draws the same biases (construction order as ISC's GRU) and xavier weights.
    torch.manual_seed(4000)
    default = ISCBiGRU(num_joints=25, hidden=64, layers=3)
    for (name, mine), (_, theirs) in zip(default.state_dict().items(), reference.state_dict().items()):
        if "bias" in name:
            assert torch.equal(mine, theirs), name
        else:
            bound = (6 / (mine.shape[0] + mine.shape[1])) ** 0.5  # xavier_uniform_ of a (3H, in) matrix
            for w in (mine, theirs):
                assert 0.99 * bound < float(w.abs().max()) <= bound, name
                assert abs(float(w.std()) - bound / 3 ** 0.5) < 0.03 * bound, name
    with torch.no_grad():
        _close(reference.eval()(_t(z["x"])), z["feat_init"])


@requires_fixtures
def test_isc_bigru_lengths():
    z = _fixture("bigru_isc.npz")
    encoder = mgclr.load_published(_state_dict(z), "isc_bigru").eval()
    lengths = _t(z["lengths"])
    assert lengths.tolist() == [64, 50, 33, 17]
    x_padded = _t(z["x_padded"])
    t = torch.arange(64).view(1, 1, 64, 1, 1)
    assert torch.equal(x_padded, _t(z["x"]) * (t < lengths.view(4, 1, 1, 1, 1)))
    with torch.no_grad():
        out = encoder(x_padded, lengths)  # mgclr's default: the output at frame lengths[n] - 1
        _close(out, z["feat_padded_seqlen"])
        _close(out, z["feat_truncated"])
        encoder.ignore_lengths = True  # ISC: through the padding to frame T-1
        _close(encoder(x_padded, lengths), z["feat_padded"])
        _close(encoder(x_padded), z["feat_padded"])


# ------------------------------------------------------------------------------------------------ 2s-AGCN


@requires_fixtures
def test_agcn_2s_features():
    z = _fixture("agcn_2s.npz")
    sd = _state_dict(z)
    assert sd["l1.gcn1.PA"].dtype == np.float16
    encoder = mgclr.load_published(sd, "agcn_2s").eval()
    assert isinstance(encoder, AGCN) and encoder.out_dim == 256 and encoder.units[0].gcn.B.dtype == torch.float32
    for unit in encoder.units:  # A is not in 2s-AGCN's state_dict: mgclr's graph is the released one
        assert torch.equal(unit.gcn.A, _t(z["A"]))
    with torch.no_grad():
        feat = encoder(_t(z["x"]))
    _close(feat, z["feat"], atol=1e-4, rtol=0)
    _close(_head(sd, feat), z["logits"], atol=2e-4, rtol=0)


# ---------------------------------------------------------------------------- load_published: error cases


def released_stgcn(encoder: STGCN) -> dict:
    """encoder's weights under the released ST-GCN names (README, "State_dict naming"), plus an MLP head."""
    sd = {}
    for key, value in encoder.state_dict().items():
        key = key.replace("blocks.", "st_gcn_networks.", 1)
        if ".gcn." in key:
            key = key.replace(".gcn.", ".gcn.conv.")
        sd[key] = value.clone()
    sd["fc.0.weight"], sd["fc.0.bias"] = torch.randn(8, 8), torch.randn(8)
    sd["fc.2.weight"], sd["fc.2.bias"] = torch.randn(4, 8), torch.randn(4)
    return sd


def released_isc(encoder: ISCBiGRU) -> dict:
    sd = {}
    for key, value in encoder.state_dict().items():
        _, layer, direction, name = key.split(".")
        sd[f"encoder.gru.{name[:-3]}_l{layer}{'_reverse' if direction == '1' else ''}"] = value.clone()
    sd["fc.weight"], sd["fc.bias"] = torch.randn(4, 2 * encoder.hidden), torch.randn(4)
    return sd


@pytest.fixture
def small_stgcn():
    torch.manual_seed(0)
    encoder = STGCN("ntu25", hidden_channels=4, hidden_dim=8)
    with torch.no_grad():
        for p in encoder.edge_importance:
            p.uniform_(0.5, 1.5)
        for m in encoder.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return encoder.eval()


def _same_function(a: nn.Module, b: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(x), b.eval()(x), atol=0, rtol=0)


def test_load_published_round_trip_and_wrappers(small_stgcn, tmp_path):
    x, _ = skeleton_batch(2, 3, 12, 25, 2)
    sd = released_stgcn(small_stgcn)
    loaded = mgclr.load_published(sd, "stgcn")
    assert loaded.out_dim == 8 and loaded.blocks[0].gcn.out_channels == 12  # inferred h = 4, hidden_dim = 8
    _same_function(loaded, small_stgcn, x)
    # MoCo (AimCLR / CrosSCLR): encoder_q taken, encoder_k / queue / the head ignored; DataParallel's module.
    moco = {f"encoder_q.{k}": v for k, v in sd.items()}
    moco.update({f"encoder_k.{k}": torch.zeros_like(v) for k, v in sd.items()})
    moco.update(queue=torch.randn(8, 16), queue_ptr=torch.zeros(1, dtype=torch.long))
    _same_function(mgclr.load_published(moco, "stgcn"), small_stgcn, x)
    _same_function(mgclr.load_published({f"module.{k}": v for k, v in moco.items()}, "stgcn"), small_stgcn, x)
    _same_function(mgclr.load_published({f"module.{k}": v for k, v in sd.items()}, "stgcn"), small_stgcn, x)
    three_view = {f"encoder_q_motion.{k}": v for k, v in sd.items()}
    _same_function(mgclr.load_published(three_view, "stgcn", prefix="encoder_q_motion"), small_stgcn, x)
    with pytest.raises(ValueError, match=r"^prefix: no key of the state_dict starts with 'encoder_r\.' \(its keys "
                                         r"start with encoder_q_motion\.\)$"):
        mgclr.load_published(three_view, "stgcn", prefix="encoder_r.")
    # numpy arrays, and no num_batches_tracked (older torch)
    plain = {k: v.numpy() for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    _same_function(mgclr.load_published(plain, "stgcn"), small_stgcn, x)
    # into a given encoder, in place
    target = STGCN("ntu25", hidden_channels=4, hidden_dim=8, dropout=0.5)
    assert mgclr.load_published(sd, "stgcn", encoder=target) is target
    _same_function(target, small_stgcn, x)
    # a path: torch.save round trip, and a training checkpoint {"state_dict": ...}
    path = tmp_path / "aimclr.pt"
    torch.save(moco, path)
    _same_function(mgclr.load_published(path, "stgcn"), small_stgcn, x)
    torch.save({"epoch": 3, "state_dict": moco, "optimizer": {}}, tmp_path / "ckpt.pth.tar")
    _same_function(mgclr.load_published(str(tmp_path / "ckpt.pth.tar"), "stgcn"), small_stgcn, x)


def test_load_published_names_what_does_not_match(small_stgcn):
    sd = released_stgcn(small_stgcn)
    missing = dict(sd)
    del missing["st_gcn_networks.3.tcn.2.weight"]
    with pytest.raises(ValueError) as info:
        mgclr.load_published(missing, "stgcn")
    assert str(info.value) == ("load_published(arch='stgcn'): the state_dict does not match STGCN: missing keys: "
                               "st_gcn_networks.3.tcn.2.weight")
    extra = dict(sd, **{"st_gcn_networks.3.tcn.5.weight": torch.ones(4), "edge_importance.10": torch.ones(1)})
    with pytest.raises(ValueError, match=r"^load_published\(arch='stgcn'\): the state_dict does not match STGCN: "
                                         r"unexpected keys: st_gcn_networks\.3\.tcn\.5\.weight, edge_importance\.10$"):
        mgclr.load_published(extra, "stgcn")
    both = dict(missing, **{"st_gcn_networks.3.tcn.2.kernel": torch.ones(1)})
    with pytest.raises(ValueError, match=r"missing keys: st_gcn_networks\.3\.tcn\.2\.weight; unexpected keys: "
                                         r"st_gcn_networks\.3\.tcn\.2\.kernel$"):
        mgclr.load_published(both, "stgcn")
    wrong = dict(sd, **{"st_gcn_networks.3.tcn.2.weight": torch.ones(4, 4, 7, 1)})
    with pytest.raises(ValueError, match=r"^st_gcn_networks\.3\.tcn\.2\.weight: shape \(4, 4, 7, 1\) in the "
                                         r"state_dict, \(4, 4, 9, 1\) in STGCN$"):
        mgclr.load_published(wrong, "stgcn", encoder=STGCN("ntu25", hidden_channels=4, hidden_dim=8))
    with pytest.raises(ValueError, match=r"^load_published\(arch='stgcn'\): missing keys: A \(needed to infer"):
        mgclr.load_published({k: v for k, v in sd.items() if k != "A"}, "stgcn")
    with pytest.raises(ValueError, match=r"^load_published\(arch='stgcn'\): .*missing keys: A$"):
        mgclr.load_published({k: v for k, v in sd.items() if k != "A"}, "stgcn",
                             encoder=STGCN("ntu25", hidden_channels=4, hidden_dim=8))
    with pytest.raises(ValueError, match=r"^arch: expected one of \('agcn_2s', 'stgcn', 'isc_bigru'\), got 'gcn'$"):
        mgclr.load_published(sd, "gcn")
    with pytest.raises(TypeError, match=r"^encoder: arch 'stgcn' loads into a STGCN, got AGCN$"):
        mgclr.load_published(sd, "stgcn", encoder=AGCN("ntu25", widths=(4,), strides=(1,)))
    with pytest.raises(ValueError, match=r"^state_dict: fc\.x: expected a tensor, got str$"):
        mgclr.load_published(dict(sd, **{"fc.x": "head"}), "stgcn")


def test_load_published_checks_the_graph(small_stgcn):
    sd = released_stgcn(small_stgcn)
    true_hop = dict(sd, A=adjacency("ntu25", "stgcn_true_hop"))
    assert mgclr.load_published(true_hop, "stgcn").graph == "true_hop"  # built with the graph the weights hold
    with pytest.raises(ValueError, match=r"^A: the state_dict's graph \(non-zeros per subset 25/24/24\) differs"):
        mgclr.load_published(true_hop, "stgcn", encoder=STGCN("ntu25", hidden_channels=4, hidden_dim=8))
    with pytest.raises(ValueError, match=r"^A: the state_dict's graph \(3, 25, 25\) is none that mgclr builds"):
        mgclr.load_published(dict(sd, A=torch.ones(3, 25, 25)), "stgcn")


class _Payload:
    """Pickles as a call of os.system (a hostile checkpoint)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_load_published_files(small_stgcn, tmp_path):
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=r"corrupt\.pt'?: not a state_dict file \(not written by torch\.save\)$"
                       ) as info:
        mgclr.load_published(bad, "stgcn")
    assert "\n" not in str(info.value)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.pt'?: not a state_dict file \(empty file\)$"):
        mgclr.load_published(tmp_path / "empty.pt", "stgcn")
    torch.save({"state_dict": {"A": _Payload(tmp_path / "ran")}}, tmp_path / "payload.pt")
    with pytest.raises(ValueError, match=r"payload\.pt'?: not a state_dict file \(it holds \w+\.system: only tensors "
                                         r"and plain data are read\)$") as info:
        mgclr.load_published(tmp_path / "payload.pt", "stgcn")
    assert "weights_only" not in str(info.value) and not (tmp_path / "ran").exists()
    with pytest.raises(FileNotFoundError, match=r"state_dict_or_path: no such file .*absent\.pt"):
        mgclr.load_published(tmp_path / "absent.pt", "stgcn")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list\.pt'?: expected a state_dict \(a mapping of names to tensors\), got "
                                         r"list"):
        mgclr.load_published(tmp_path / "list.pt", "stgcn")
    with pytest.raises(TypeError, match="state_dict_or_path: expected a state_dict"):
        mgclr.load_published(42, "stgcn")


def test_load_published_isc_bigru_round_trip():
    torch.manual_seed(3)
    encoder = ISCBiGRU(num_joints=7, hidden=5, layers=2).eval()
    x, _ = skeleton_batch(2, 3, 9, 7, 2)
    sd = released_isc(encoder)
    loaded = mgclr.load_published({f"encoder_q.{k}": v for k, v in sd.items()}, "isc_bigru")
    assert (loaded.num_joints, loaded.hidden, loaded.layers) == (7, 5, 2)
    _same_function(loaded, encoder, x)
    del sd["encoder.gru.bias_hh_l1_reverse"]
    with pytest.raises(ValueError, match=r"missing keys: encoder\.gru\.bias_hh_l1_reverse$"):
        mgclr.load_published(sd, "isc_bigru")


def test_public_entry_points():
    from mgclr.models import ENCODERS, load_published

    assert mgclr.load_published is load_published and ENCODERS["isc_bigru"] is ISCBiGRU
