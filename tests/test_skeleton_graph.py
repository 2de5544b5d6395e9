"""mgclr.skeleton.adjacency: the 3-subset partition of ST-GCN / 2s-AGCN, checked on ntu25 by hand (the released
ST-GCN graph itself: tests/test_parity_encoders.py)."""

from __future__ import annotations

import pytest
import torch
from conftest import star_layout

from mgclr.skeleton import ADJACENCY_KINDS, Layout, adjacency, available_layouts, get_layout, hop_distance

# ntu25, 0-based: centre 20 (spine shoulder) has neighbours 1 (spine mid), 2 (neck), 4 (left shoulder) and
# 8 (right shoulder), all one hop out; spine mid leads to spine base (0), which has the two hips 12, 16.
# The left hand 7 has one neighbour farther out, the left thumb 22, which carries the hand tip 21.


def _row(matrix: torch.Tensor, i: int) -> dict:
    return {j: round(float(v), 6) for j, v in enumerate(matrix[i]) if v != 0}


def test_hop_distance_ntu25():
    hops = hop_distance("ntu25")
    assert hops[20] == 0
    assert [hops[j] for j in (1, 2, 4, 8)] == [1, 1, 1, 1]
    assert hops[0] == 2 and hops[12] == 3
    assert hops[21] == 6  # hand tip -> thumb -> hand -> wrist -> elbow -> shoulder -> spine shoulder


def test_agcn_ntu25_hand_computed_rows():
    A = adjacency("ntu25", "agcn")
    assert A.shape == (3, 25, 25) and A.dtype == torch.float32
    assert torch.equal(A[0], torch.eye(25))
    # A[1]: centripetal edges tail -> head stored at [head, tail]; every column but the centre's holds one 1.
    assert _row(A[1], 20) == {1: 1.0, 2: 1.0, 4: 1.0, 8: 1.0}
    assert _row(A[1], 1) == {0: 1.0}
    assert _row(A[1], 0) == {12: 1.0, 16: 1.0}
    assert _row(A[1], 7) == {22: 1.0}
    assert _row(A[1], 22) == {21: 1.0}
    # A[2]: centrifugal edges, columns normalised by the number of joints farther out.
    assert _row(A[2], 1) == {20: 0.25} and _row(A[2], 2) == {20: 0.25}
    assert _row(A[2], 0) == {1: 1.0}
    assert _row(A[2], 12) == {0: 0.5} and _row(A[2], 16) == {0: 0.5}
    assert _row(A[2], 20) == {}
    assert _row(A[2], 21) == {22: 1.0}


def test_stgcn_true_hop_ntu25_hand_computed_rows():
    A = adjacency("ntu25", "stgcn_true_hop")
    # Columns of (I + edges) normalised by degree + 1: the centre has 4 neighbours, spine mid 2.
    assert round(float(A[0][20, 20]), 6) == 0.2 and round(float(A[0][1, 1]), 6) == round(1 / 3, 6)
    # A[1] "close": [i, j] with i farther from the centre than j (features flow inwards).
    assert _row(A[1], 1) == {20: 0.2}
    assert _row(A[1], 0) == {1: round(1 / 3, 6)}
    assert _row(A[1], 20) == {}
    # A[2] "further": [i, j] with i closer than j; neck, spine mid and the shoulders each have 2 neighbours.
    assert _row(A[2], 20) == {1: round(1 / 3, 6), 2: round(1 / 3, 6), 4: round(1 / 3, 6), 8: round(1 / 3, 6)}
    assert _row(A[2], 7) == {22: round(1 / 3, 6)}  # the thumb has the hand and the hand tip
    assert [int((a != 0).sum()) for a in A] == [25, 24, 24]
    total = A.sum(dim=0).sum(dim=0)
    torch.testing.assert_close(total, torch.ones(25))  # every column of the full partition sums to 1


def test_stgcn_published_ntu25_hand_computed_rows():
    # ST-GCN's Graph (max_hop 1): hop distance to the centre is 0 at 20, 1 at 1, 2, 4, 8, infinity elsewhere.
    A = adjacency("ntu25", "stgcn")
    true_hop = adjacency("ntu25", "stgcn_true_hop")
    torch.testing.assert_close(A[0], true_hop[0])
    assert [int((a != 0).sum()) for a in A] == [25, 40, 8]
    # The bones touching the centre's neighbourhood are split as in the true-hop partition...
    assert _row(A[1], 1) == {20: 0.2}
    assert _row(A[2], 20) == {1: round(1 / 3, 6), 2: round(1 / 3, 6), 4: round(1 / 3, 6), 8: round(1 / 3, 6)}
    assert _row(A[2], 1) == {0: 0.25}  # spine mid (1 hop) -> spine base (inf): "further"
    # ...but a bone between two joints at infinity lands in A[1] both ways: spine base <-> hips, hand <-> thumb.
    assert _row(A[1], 0) == {1: round(1 / 3, 6), 12: round(1 / 3, 6), 16: round(1 / 3, 6)}
    assert _row(A[1], 12) == {0: 0.25, 13: round(1 / 3, 6)}
    assert _row(A[1], 7) == {6: round(1 / 3, 6), 22: round(1 / 3, 6)}
    assert _row(A[1], 22) == {7: round(1 / 3, 6), 21: 0.5}
    assert _row(A[2], 7) == {}
    torch.testing.assert_close(A.sum(dim=0), true_hop.sum(dim=0))  # the same entries, partitioned differently
    moved = ((A[1] != 0) & (true_hop[2] != 0)).nonzero().tolist()
    assert len(moved) == 16 and [0, 12] in moved and [24, 23] in moved
    assert not ((A[2] != 0) & (true_hop[1] != 0)).any()  # nothing moves the other way


def test_stgcn_published_rule_on_a_chain():
    # centre 0 - 1 - 2 - 3: hops 0, 1, inf, inf. Bone 2-3 is between two joints at infinity: A[1] both ways.
    layout = Layout.custom("chain4", ["c", "a", "b", "d"], [(1, 0), (2, 1), (3, 2)], 0)
    A = adjacency(layout, "stgcn")
    close = {tuple(ij) for ij in (A[1] != 0).nonzero().tolist()}
    further = {tuple(ij) for ij in (A[2] != 0).nonzero().tolist()}
    assert close == {(1, 0), (2, 1), (2, 3), (3, 2)} and further == {(0, 1), (1, 2)}
    true_hop = adjacency(layout, "stgcn_true_hop")
    assert {tuple(ij) for ij in (true_hop[2] != 0).nonzero().tolist()} == {(0, 1), (1, 2), (2, 3)}


@pytest.mark.parametrize("name", available_layouts())
@pytest.mark.parametrize("kind", ADJACENCY_KINDS)
def test_partition_properties_on_every_layout(name, kind):
    layout = get_layout(name)
    A = adjacency(layout, kind)
    V = layout.num_joints
    hops = torch.as_tensor(hop_distance(layout))
    bones = torch.as_tensor(layout.bone_matrix()) > 0
    assert A.shape == (3, V, V) and torch.isfinite(A).all() and (A >= 0).all()
    assert torch.equal(A[0] != 0, torch.eye(V, dtype=torch.bool))
    assert torch.equal((A[1] != 0) | (A[2] != 0), bones)  # the two edge subsets cover every bone once
    assert not ((A[1] != 0) & (A[2] != 0)).any()
    inward_rows, inward_cols = torch.nonzero(A[1 if kind == "agcn" else 2], as_tuple=True)
    assert (hops[inward_rows] < hops[inward_cols]).all()  # [closer, farther]
    if kind == "stgcn":  # the published graph: "further" only from the centre or one of its neighbours
        assert (hops[inward_rows] <= 1).all()
    if kind == "stgcn_true_hop":  # every bone split into one centripetal and one centrifugal entry
        assert int((A[1] != 0).sum()) == int((A[2] != 0).sum()) == len(layout.bones)
    if kind == "agcn":
        column_sums = A[1].sum(dim=0)
        expected = torch.ones(V)
        expected[layout.center] = 0
        torch.testing.assert_close(column_sums, expected)


def test_follows_the_layout_centre():
    # kinect20's centre is the spine (1); the shoulder centre (2) is therefore one hop out, not the root.
    A = adjacency("kinect20", "agcn")
    assert hop_distance("kinect20")[2] == 1
    assert A[1][1, 2] == 1.0 and A[1][2, 1] == 0.0


def test_custom_layout_and_errors():
    A = adjacency(star_layout(5), dtype=torch.float64)
    assert A.dtype == torch.float64 and A.shape == (3, 5, 5)
    with pytest.raises(ValueError, match=r"kind: expected one of \('agcn', 'stgcn', 'stgcn_true_hop'\), got 'nope'"):
        adjacency("ntu25", "nope")
    with pytest.raises(ValueError, match="unknown layout 'ntu60'"):
        adjacency("ntu60")


def test_agcn_is_2s_agcn_construction_on_ntu25():
    """ntu25's bones are 2s-AGCN's inward_ori_index: build Graph.A their way (edge2mat, column-normalise)."""
    layout = get_layout("ntu25")

    def edge2mat(links):
        a = torch.zeros(25, 25, dtype=torch.float64)
        for i, j in links:
            a[j, i] = 1
        return a

    def normalize_digraph(a):
        sums = a.sum(dim=0)
        return a / torch.where(sums > 0, sums, torch.ones_like(sums))

    inward = list(layout.bones)
    outward = [(j, i) for i, j in inward]
    expected = torch.stack([torch.eye(25, dtype=torch.float64), normalize_digraph(edge2mat(inward)),
                            normalize_digraph(edge2mat(outward))])
    assert torch.equal(adjacency(layout, "agcn", dtype=torch.float64), expected)
