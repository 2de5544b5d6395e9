"""NW-UCLA converter: JSON sequences -> kinect20 samples centred on the spine, labels from the action id,
views 1, 2 train and 3 test; corrupt files named (file, frame / field) or counted under skip_bad; and the real
all_sqe set when ../shared/data is there."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import data_dir

from mgclr.data.convert.common import ConversionError
from mgclr.data.convert.nw_ucla import ACTION_IDS, ACTIONS, convert_nw_ucla, read_sequence
from mgclr.data.format import SkeletonDataset


def skeleton(T, seed, zero=()):
    xyz = np.random.default_rng(seed).uniform(-1, 3, size=(T, 20, 3)).round(6)
    for t, v in zero:
        xyz[t, v] = 0
    return xyz


def write(folder, name, xyz=None, label=None, **override):
    action = int(name[1:3])
    content = {"file_name": name, "skeletons": xyz.tolist() if isinstance(xyz, np.ndarray) else xyz,
               "label": ACTION_IDS.index(action) + 1 if label is None else label}
    content.update(override)
    (folder / f"{name}.json").write_text(json.dumps(content))


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "all_sqe"
    (folder / "nested").mkdir(parents=True)
    write(folder, "a01_s01_e00_v01", skeleton(4, 0, zero=[(0, 1), (2, 5)]))  # spine missing in frame 0
    write(folder, "a12_s02_e01_v02", skeleton(7, 1))
    write(folder / "nested", "a08_s03_e02_v03", skeleton(2, 2))
    write(folder, "a02_s09_e04_v03", skeleton(1, 3))  # a single frame, as in the real set
    return folder


def test_values_labels_fields_and_split(src, tmp_path):
    report = convert_nw_ucla(src, tmp_path / "out", progress=False)
    assert report.written == 4 and not report.skipped and report.splits == {"xview": {"train": 2, "test": 2}}
    ds = SkeletonDataset(tmp_path / "out")
    assert ds.shape == (4, 3, 7, 20, 1) and ds.layout.name == "kinect20" and ds.class_names == ACTIONS
    ids = ds.sample_field("id")
    assert ids == ["a01_s01_e00_v01", "a02_s09_e04_v03", "a12_s02_e01_v02", "a08_s03_e02_v03"]  # sorted paths
    assert list(ds.labels) == [0, 1, 9, 6] and list(ds.lengths) == [4, 1, 7, 2]
    assert ds.sample_field("view") == [1, 3, 2, 3] and ds.sample_field("subject") == [1, 9, 2, 3]
    assert ds.sample_field("execution") == [0, 4, 1, 2] and ds.sample_field("action") == [1, 2, 12, 8]
    assert SkeletonDataset(tmp_path / "out", "xview/train").sample_field("id") == ids[:1] + ids[2:3]

    # The first sample: the spine is missing in frame 0, so the origin is the spine of frame 1; the two
    # missing points stay exactly zero, every other point is shifted.
    xyz = skeleton(4, 0, zero=[(0, 1), (2, 5)])
    expected = xyz - xyz[1, 1]
    expected[0, 1] = 0
    expected[2, 5] = 0
    np.testing.assert_allclose(ds[0][0][:, :4, :, 0].numpy(), expected.transpose(2, 0, 1), atol=1e-6)
    assert not ds[0][0][:, 4:].any()
    one = skeleton(1, 3)
    np.testing.assert_allclose(ds[1][0][:, 0, :, 0].numpy(), (one[0] - one[0, 1]).T, atol=1e-6)
    meta = ds.meta
    assert "spine joint (1)" in meta["normalisation"] and meta["provenance"]["files"] == 4


def test_frames_cut_and_counted(src, tmp_path):
    convert_nw_ucla(src, tmp_path / "out", progress=False, frames=3)
    ds = SkeletonDataset(tmp_path / "out")
    assert ds.shape[2] == 3 and list(ds.lengths) == [3, 1, 3, 2]
    assert ds.meta["provenance"]["cut_to_3_frames"] == 2 and ds.meta["provenance"]["frames_cut"] == 1 + 4
    with pytest.raises(ValueError, match="frames: expected a positive int or None, got 0"):
        convert_nw_ucla(src, tmp_path / "o2", progress=False, frames=0)


CORRUPT = {
    "truncated": (lambda f: (f / "a03_s01_e00_v01.json").write_text('{"file_name": "a03_s01_e00_v01", "skel'),
                  r"a03_s01_e00_v01.json: line 1 column 34: not valid JSON"),
    "joint count": (lambda f: write(f, "a03_s01_e00_v01", skeleton(3, 5)[:, :19]),
                    r"a03_s01_e00_v01.json: field 'skeletons', frame 0: expected 20 joints, got 19 joints"),
    "values": (lambda f: write(f, "a03_s01_e00_v01", [skeleton(1, 5)[0].tolist()[:4] + [[1.0, 2.0]]
                                                      + skeleton(1, 5)[0].tolist()[5:]]),
               r"frame 0, joint 4: expected \[x, y, z\], got \[1.0, 2.0\]"),
    "non-numeric": (lambda f: write(f, "a03_s01_e00_v01", [[[0.1, "0.2", 0.3]] * 20]),
                    r"frame 0, joint 0: value 2 is not a number: '0.2'"),
    "boolean": (lambda f: write(f, "a03_s01_e00_v01", [[[0.1, 0.2, 0.3]] * 19 + [[0.1, True, 0.3]]]),
                r"frame 0, joint 19: value 2 is not a number: True"),
    "null": (lambda f: write(f, "a03_s01_e00_v01", [[[0.1, 0.2, 0.3]] * 19 + [[0.1, None, 0.3]]]),
             r"frame 0, joint 19: value 2 is not a number: None"),
    "nan": (lambda f: (f / "a03_s01_e00_v01.json").write_text(
        '{"file_name": "a03_s01_e00_v01", "label": 3, "skeletons": [' + ",".join(
            ["[" + ",".join(["[0.1, NaN, 0.3]" if (t, v) == (1, 7) else "[0.1, 0.2, 0.3]" for v in range(20)]) + "]"
             for t in range(2)]) + "]}"),
            r"frame 1, joint 7: value 2 is nan"),
    "empty": (lambda f: write(f, "a03_s01_e00_v01", []), r"field 'skeletons': no frame"),
    "all zero": (lambda f: write(f, "a03_s01_e00_v01", np.zeros((3, 20, 3))), r"every joint of every frame is at"),
    "label": (lambda f: write(f, "a03_s01_e00_v01", skeleton(2, 5), label=4),
              r"field 'label': 4 does not match action a03 \(expected 3\)"),
    "missing field": (lambda f: (f / "a03_s01_e00_v01.json").write_text('{"file_name": "a03_s01_e00_v01"}'),
                      r"field 'skeletons': missing"),
    "file_name": (lambda f: write(f, "a03_s01_e00_v01", skeleton(2, 5), file_name="a03_s01_e00_v02"),
                  r"field 'file_name': 'a03_s01_e00_v02' does not match the file name"),
    "unknown action": (lambda f: (f / "a07_s01_e00_v01.json").write_text("{}"),
                       r"a07_s01_e00_v01.json: file name: action a07 is not one of the ten"),
    "bad name": (lambda f: (f / "walk_s01.json").write_text("{}"), r"walk_s01.json: file name: expected aAA_sSS"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_input_is_named_or_counted(src, tmp_path, case):
    damage, match = CORRUPT[case]
    damage(src)
    with pytest.raises(ConversionError, match=match):
        convert_nw_ucla(src, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # nothing half-written
    report = convert_nw_ucla(src, tmp_path / "out", progress=False, skip_bad=True)
    assert report.written == 4 and sum(report.skipped.values()) == 1
    reason = next(iter(report.skipped))
    assert report.skipped_examples[reason][0].startswith(str(src)) or "json" in report.skipped_examples[reason][0]
    ds = SkeletonDataset(tmp_path / "out")
    assert "a03_s01_e00_v01" not in ds.sample_field("id") and ds.meta["provenance"]["skipped"] == {reason: 1}


def test_duplicate_sample_and_missing_folder(src, tmp_path):
    (src / "copy").mkdir()
    write(src / "copy", "a12_s02_e01_v02", skeleton(7, 1))
    with pytest.raises(ConversionError, match="duplicate|already read"):
        convert_nw_ucla(src, tmp_path / "out", progress=False)
    with pytest.raises(FileNotFoundError, match="src: .* is not a folder"):
        convert_nw_ucla(tmp_path / "nowhere", tmp_path / "out", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="src: no .json file under"):
        convert_nw_ucla(tmp_path / "empty", tmp_path / "out", progress=False)


NW_UCLA = data_dir() / "nw_ucla"


@pytest.mark.skipif(not NW_UCLA.is_dir(), reason=f"NW-UCLA data not found in {NW_UCLA} (../shared/data)")
def test_real_all_sqe(tmp_path):
    report = convert_nw_ucla(NW_UCLA, tmp_path / "nw_ucla", progress=False)
    assert report.written == 1484 and not report.skipped
    train, test = SkeletonDataset(tmp_path / "nw_ucla", "xview/train"), SkeletonDataset(tmp_path / "nw_ucla", "test")
    assert len(train) == 1020 and len(test) == 464  # the data README's cross-view split
    assert set(test.sample_field("view")) == {3} and set(train.sample_field("view")) == {1, 2}
    lengths = np.concatenate([train.lengths, test.lengths])
    assert lengths.min() == 1 and lengths.max() == 201 and train.shape[2] == 201
    assert sorted(np.flatnonzero(lengths == 1).tolist()) == sorted(
        i for i, name in enumerate(train.sample_field("id") + test.sample_field("id"))
        if name in ("a02_s09_e04_v02", "a02_s09_e04_v03"))
    assert set(report.class_counts) == set(ACTIONS) and min(report.class_counts.values()) > 100
    # Centred: the spine of each sample's first frame is at the origin.
    x = np.asarray(train.data[train.indices[:50]])
    np.testing.assert_allclose(x[:, :, 0, 1, 0], 0, atol=1e-6)
    # The recorded normalisation replays the converter on the raw file (what mgclr recognize applies).
    from mgclr.data.normalise import apply_normalisation, is_normalised

    spec = train.info.normalise
    assert spec["kind"] == "centre_on_joint" and spec["joint"] == 1 and spec["scope"] == "sample"
    for k, name in enumerate(train.sample_field("id")[:50]):
        raw = read_sequence(NW_UCLA / f"{name}.json").transpose(2, 0, 1)[..., None]  # (3, T, 20, 1)
        replayed = apply_normalisation(raw, spec)
        np.testing.assert_allclose(replayed, x[k, :, :raw.shape[1]], atol=1e-6)
        assert is_normalised(x[k, :, :raw.shape[1]], spec) and not is_normalised(raw, spec)


@pytest.mark.skipif(not NW_UCLA.is_dir(), reason=f"NW-UCLA data not found in {NW_UCLA} (../shared/data)")
def test_invalid_json_names_line_and_column_and_provenance_source_is_absolute(tmp_path, monkeypatch):
    """A real all_sqe file is one line of ~28,000 characters: "line 1" alone does not say where. A corrupt
    byte and a cut download of it are named by line and column; meta.json's source is absolute."""
    text = (NW_UCLA / "a01_s01_e00_v01.json").read_text()
    assert "\n" not in text.strip()
    src = tmp_path / "all_sqe"
    src.mkdir()
    (src / "a02_s01_e00_v01.json").write_text((NW_UCLA / "a02_s01_e00_v01.json").read_text())
    at = text.index("0.381968")  # the second joint's y
    (src / "a01_s01_e00_v01.json").write_text(text[:at] + "x" + text[at + 1:])
    with pytest.raises(ConversionError, match=rf"a01_s01_e00_v01\.json: line 1 column {at + 1}: not valid JSON: "
                                              r"Expecting value"):
        convert_nw_ucla(src, tmp_path / "out", progress=False)
    (src / "a01_s01_e00_v01.json").write_text(text[:len(text) // 2])
    with pytest.raises(ConversionError, match=r"a01_s01_e00_v01\.json: line 1 column \d{4,}: not valid JSON") as info:
        convert_nw_ucla(src, tmp_path / "out", progress=False)
    assert info.value.reason == "not JSON"

    monkeypatch.chdir(tmp_path)
    convert_nw_ucla("all_sqe", "out", progress=False, skip_bad=True)  # relative paths, as typed on a command line
    provenance = SkeletonDataset(tmp_path / "out").meta["provenance"]
    assert provenance["source"] == str(src.resolve()) and provenance["skipped"] == {"not JSON": 1}
