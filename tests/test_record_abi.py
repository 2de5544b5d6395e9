"""The augmentation ABI (csrc/core/augment_abi.h) as Python sees it, against what the kernels write.

Python reads op codes, stages, limits, argument slots and record fields from the extension; these tests
check that reading, the consistency of the exported table, every transform class against it, and — the
part no table can promise — that the kernels write no record word that the table does not declare.
"""

from __future__ import annotations

import pytest
import torch
from conftest import make_transform, skeleton_batch

from mgclr import _ext
from mgclr.augment import ALL_TRANSFORMS, Pipeline
from mgclr.ops.augment import AugmentProgram, ProgramEntry, decode_record
from mgclr.ops.augment_abi import Field, abi, op_abi

pytest.importorskip("mgclr._C", reason="mgclr's extension is not built")

KINDS = {"i": "i", "f": "f", "m": "mask"}


def test_limits_are_consistent():
    limits = abi().limits
    assert limits.mask_words * 32 == limits.max_joints
    assert limits.ints_per_op == 5 + limits.int_args
    assert limits.floats_per_op == 1 + limits.float_args
    assert limits.max_taps == 2 * limits.max_resampling_ops  # each resampling op reads two frames
    header = abi().header
    assert header["applied"] < header["first_op_word"] and header["input_length"] < header["first_op_word"]
    assert header["counter_sample"] < limits.record_words and header["counter_stream"] < limits.record_words
    assert sorted(abi().stages, key=abi().stages.get) == ["temporal", "spatial", "pointwise", "filter"]


def test_every_transform_class_has_exactly_one_abi_entry():
    assert sorted(cls.op_name for cls in ALL_TRANSFORMS) == sorted(abi().ops)
    codes = [op.code for op in abi().ops.values()]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_python_fields_match_the_exported_table(cls):
    """Every Field a transform decodes is a row of mgclr._C.augment_abi(), and nothing else is."""
    raw = _ext.native().augment_abi()["ops"][cls.op_name]
    assert cls.fields == tuple(Field(n, w, c, KINDS[k]) for n, w, c, k in raw["fields"])
    assert cls.code == raw["code"] and cls.stage == raw["stage"] and cls.resamples == raw["resamples"]
    limits, header = abi().limits, abi().header
    used = set()
    for f in cls.fields:
        assert f.kind in ("i", "f", "mask"), f
        if f.kind == "mask":
            assert f.count == limits.mask_words, f
        words = set(f.words)
        assert min(words) >= header["first_op_word"] and max(words) < header["counter_sample"], f
        assert not words & used, f"{cls.op_name}: field {f.name} overlaps another field"
        used |= words
    assert len({f.name for f in cls.fields}) == len(cls.fields)


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_encode_names_exactly_the_exported_argument_slots(cls):
    spec = op_abi(cls.op_name)
    assert len(spec.int_args) <= abi().limits.int_args and len(spec.float_args) <= abi().limits.float_args
    assert set(make_transform(cls, 7).encode(7)) == set(spec.int_args) | set(spec.float_args)


def test_a_transform_out_of_step_with_the_abi_is_refused():
    class Wrong(type(make_transform(ALL_TRANSFORMS[0], 7))):
        def encode(self, num_joints):
            return {**super().encode(num_joints), "extra": 1}

    program = AugmentProgram([ProgramEntry(Wrong())])
    with pytest.raises(RuntimeError, match="encode returned arguments .*'extra'"):
        program.encode(7, 10)


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
@pytest.mark.parametrize("cc", [3, 2])
def test_kernels_write_only_declared_words(cls, cc):
    """Words outside the header and the declared fields stay zero; the header says what DESIGN says."""
    N, T, V, M = 6, 30, 7, 2
    x, lengths = skeleton_batch(N, 3, T, V, M, seed=11)
    pipe = Pipeline([make_transform(cls, V, p=1.0), make_transform(ALL_TRANSFORMS[1], V, p=1.0)],
                    coord_channels=cc, two_views=True)
    _, params = pipe(x, lengths, seed=5, return_params=True)
    header = abi().header
    j = pipe.execution_order.index(cls.op_name)
    declared = {header[k] for k in ("applied", "input_length", "counter_sample", "counter_stream")}
    declared |= {w for f in cls.fields for w in f.words}
    undeclared = [w for w in range(abi().limits.record_words) if w not in declared]
    records = params.records[:, :, j]  # (views, N, words)
    assert not records[:, :, undeclared].any(), f"{cls.op_name} wrote undeclared words"
    for view in range(2):
        rec = records[view]
        assert (rec[:, header["applied"]] == 1).all()
        assert (rec[:, header["counter_stream"]] == (j | view << 8)).all()
        assert torch.equal(rec[:, header["counter_sample"]].long(), torch.arange(N))
        if j == 0:
            assert torch.equal(rec[:, header["input_length"]].long(), lengths)


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_decoded_fields_are_the_record_words(cls):
    V = 7
    x, lengths = skeleton_batch(5, 3, 20, V, 2, seed=3)
    _, params = Pipeline([make_transform(cls, V, p=1.0)])(x, lengths, seed=9, return_params=True)
    fields = params.fields(cls.op_name)
    assert set(fields) == {"applied", "input_length"} | {f.name for f in cls.fields}
    raw = params.records[0, :, 0]
    for f in cls.fields:
        value = fields[f.name]
        if f.kind == "mask":
            bits = [(raw[:, f.word + v // 32] >> (v % 32)) & 1 for v in range(V)]
            assert torch.equal(value, torch.stack(bits, dim=1).bool())
        elif f.kind == "f":
            assert torch.equal(value.reshape(5, -1).view(torch.int32), raw[:, f.word:f.word + f.count])
        else:
            assert torch.equal(value.reshape(5, -1), raw[:, f.word:f.word + f.count])
    assert decode_record(raw, cls.op_name, V).keys() == fields.keys()


def test_limits_reach_python_errors():
    limits = abi().limits
    too_many = [make_transform(ALL_TRANSFORMS[1], 7) for _ in range(limits.max_ops + 1)]
    with pytest.raises(ValueError, match=f"at most {limits.max_ops} ops"):
        Pipeline(too_many)
    from mgclr.augment import GaussianBlur, PosterizeTime

    with pytest.raises(ValueError, match=f"<= {limits.max_segments}"):
        PosterizeTime(k=limits.max_segments + 1)
    with pytest.raises(ValueError, match=f"<= {2 * limits.max_blur_radius + 1}"):
        GaussianBlur(kernel_size=2 * limits.max_blur_radius + 3)
