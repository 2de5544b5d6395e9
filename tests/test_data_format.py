"""The mgclr dataset format: writer -> reader round trip, splits, per-sample fields, custom layouts, every
broken file named, memory-mapped reading that does not load data.npy, and the readers of ISC / SkeletonCLR
and pyskl files (including a pickle that tries to run code)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mgclr.data.arrays import ArrayDataset
from mgclr.data.format import DatasetError, DatasetWriter, SkeletonDataset, read_pyskl, read_skeletonclr
from mgclr.skeleton import Layout


def write_dataset(folder, samples, *, frames=6, persons=2, splits=None, layout="kinect20", joints=20, **kwargs):
    writer = DatasetWriter(folder, channels=3, frames=frames, joints=joints, persons=persons, layout=layout,
                           class_names=["a", "b", "c"], fps=30.0, **kwargs)
    for x, label, fields in samples:
        writer.add(x, x.shape[1], label, **fields)
    return writer.finish(splits=splits or {"xview": {"train": [0, 1], "test": [2]}},
                         provenance={"converter": "test"}, normalisation="none")


def sample(T, M, seed):
    return np.random.default_rng(seed).normal(size=(3, T, 20, M)).astype(np.float32)


@pytest.fixture
def three(tmp_path):
    xs = [sample(6, 2, 0), sample(3, 1, 1), sample(1, 2, 2)]
    samples = [(xs[0], 2, {"id": "s0", "view": 1}), (xs[1], 0, {"id": "s1", "view": 2}),
               (xs[2], 1, {"id": "s2", "subject": 7})]
    return write_dataset(tmp_path / "ds", samples), xs


def test_round_trip_values_padding_fields_and_splits(three):
    folder, xs = three
    ds = SkeletonDataset(folder)
    assert len(ds) == 3 and ds.shape == (3, 3, 6, 20, 2) and ds.class_names == ("a", "b", "c")
    assert ds.layout.name == "kinect20" and ds.meta["fps"] == 30.0 and ds.meta["normalisation"] == "none"
    assert list(ds.lengths) == [6, 3, 1] and list(ds.labels) == [2, 0, 1]
    for i, x in enumerate(xs):
        item, length, label = ds[i]
        assert item.dtype == torch.float32 and item.shape == (3, 6, 20, 2)
        T, M = x.shape[1], x.shape[3]
        np.testing.assert_array_equal(item[:, :T, :, :M].numpy(), x)
        assert not item[:, T:].any() and not item[..., M:].any()  # zero padding in time and persons
    # A field a sample did not give is None for it (columns are aligned with the samples).
    assert ds.sample_field("view") == [1, 2, None] and ds.sample_field("subject") == [None, None, 7]
    with pytest.raises(KeyError, match="no per-sample field 'camera'; it has \\['id', 'subject', 'view'\\]"):
        ds.sample_field("camera")

    train, test = SkeletonDataset(folder, "xview/train"), SkeletonDataset(folder, "test")  # one benchmark
    assert train.sample_field("id") == ["s0", "s1"] and test.sample_field("id") == ["s2"]
    assert list(test.labels) == [1] and list(test.lengths) == [1] and test.shape == (1, 3, 6, 20, 2)
    np.testing.assert_array_equal(test[0][0][:, :1, :, :2].numpy(), xs[2])
    with pytest.raises(ValueError, match=r"split: 'xsub/train' is not in .*\['xview/train', 'xview/test'\]"):
        SkeletonDataset(folder, "xsub/train")


def test_data_npy_is_a_plain_numpy_file(three):
    folder, xs = three
    data = np.load(folder / "data.npy")
    assert data.shape == (3, 3, 6, 20, 2) and data.dtype == np.float32
    np.testing.assert_array_equal(data[1, :, :3, :, :1], xs[1])
    assert np.load(folder / "labels.npy").dtype == np.int64
    assert not (folder / ".data.npy.partial").exists()


def test_several_benchmarks_need_a_named_one(tmp_path):
    xs = [sample(2, 1, k) for k in range(2)]
    folder = write_dataset(tmp_path / "ds", [(x, 0, {}) for x in xs],
                           splits={"xsub": {"train": [0], "test": [1]}, "xset": {"train": [1], "test": [0]}})
    with pytest.raises(ValueError, match="has benchmarks \\['xset', 'xsub'\\]; name one"):
        SkeletonDataset(folder, "train")
    assert list(SkeletonDataset(folder, "xset/train").indices) == [1]


def test_custom_layout_is_stored_whole_and_read_without_registering(tmp_path):
    from mgclr.skeleton import available_layouts

    layout = Layout.custom("tri3_format_test", ["centre", "left_arm", "right_arm"], [(1, 0), (2, 0)], 0)
    x = np.ones((3, 2, 3, 1), np.float32)
    folder = write_dataset(tmp_path / "ds", [(x, 0, {})] * 3, layout=layout, joints=3, persons=1)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["custom_layout"] == {"name": "tri3_format_test", "joints": ["centre", "left_arm", "right_arm"],
                                     "bones": [[1, 0], [2, 0]], "center": 0, "left_right": [0, 2, 1]}
    ds = SkeletonDataset(folder)
    assert ds.layout == layout and ds.info.layout.left_right == (0, 2, 1)
    assert "tri3_format_test" not in available_layouts()  # opening a dataset changes no global state
    # a custom layout that reuses a built-in name with other joints is refused, not registered over it
    meta["custom_layout"]["name"] = meta["layout"] = "kinect20"
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="name 'kinect20' is a built-in layout with other joints"):
        SkeletonDataset(folder)


@pytest.mark.parametrize("bad, match", [
    (lambda: np.zeros((3, 2, 19, 1), np.float32), r"x: expected \(C=3, T<=6, V=20, M<=2\), got \(3, 2, 19, 1\)"),
    (lambda: np.zeros((3, 7, 20, 1), np.float32), r"x: expected \(C=3, T<=6"),
    (lambda: np.full((3, 2, 20, 1), np.nan, np.float32), "x: expected finite values"),
])
def test_writer_rejects_bad_samples(tmp_path, bad, match):
    writer = DatasetWriter(tmp_path / "ds", channels=3, frames=6, joints=20, persons=2, layout="kinect20",
                           class_names=["a"])
    with pytest.raises(ValueError, match=match):
        writer.add(bad(), 2, 0)
    with pytest.raises(ValueError, match=r"label: expected 0..0, got 1"):
        writer.add(np.zeros((3, 2, 20, 1), np.float32), 2, 1)
    with pytest.raises(ValueError, match=r"length: expected 1..2, got 3"):
        writer.add(np.zeros((3, 2, 20, 1), np.float32), 3, 0)
    writer.abort()
    assert not (tmp_path / "ds").exists()  # the folder it created is gone again


def test_writer_refuses_layout_mismatch_existing_dataset_and_empty_output(tmp_path, three):
    with pytest.raises(ValueError, match="joints: layout 'kinect20' has 20 joints, got 25"):
        DatasetWriter(tmp_path / "x", channels=3, frames=6, joints=25, persons=1, layout="kinect20", class_names=["a"])
    folder, _ = three
    with pytest.raises(FileExistsError, match="a dataset is already there; pass overwrite=True"):
        DatasetWriter(folder, channels=3, frames=6, joints=20, persons=2, layout="kinect20", class_names=["a"])
    writer = DatasetWriter(tmp_path / "empty", channels=3, frames=6, joints=20, persons=1, layout="kinect20",
                           class_names=["a"])
    with pytest.raises(DatasetError, match="no sample was written"):
        writer.finish(splits={}, provenance={}, normalisation="")
    assert not (tmp_path / "empty").exists()


def test_split_indices_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"splits\['xview'\]\['test'\]: indices \[5\] outside \[0, 3\)"):
        write_dataset(tmp_path / "ds", [(sample(2, 1, k), 0, {}) for k in range(3)],
                      splits={"xview": {"train": [0, 1], "test": [5]}})


@pytest.mark.parametrize("damage, match", [
    (lambda f: (f / "meta.json").unlink(), "meta.json: missing; is .* an mgclr dataset"),
    (lambda f: (f / "meta.json").write_text("{"), "meta.json: not valid JSON"),
    (lambda f: (f / "meta.json").write_text(json.dumps({**json.loads((f / "meta.json").read_text()), "format": 9})),
     "meta.json: format 9, this mgclr reads 1"),
    (lambda f: (f / "data.npy").unlink(), "data.npy: missing"),
    (lambda f: os.truncate(f / "data.npy", 1000), "data.npy: cannot be read as a .npy array .*truncated"),
    (lambda f: (f / "data.npy").write_bytes(b"not numpy"), "data.npy: cannot be read"),
    (lambda f: np.save(f / "labels.npy", np.zeros(2, np.int64)), r"labels.npy: expected shape \(3,\) like data.npy"),
    (lambda f: np.save(f / "lengths.npy", np.array([1, 2, 7])), r"lengths.npy: values outside \[1, T=6\]"),
    (lambda f: (f / "meta.json").write_text(json.dumps({**json.loads((f / "meta.json").read_text()),
                                                        "layout": "ntu25"})),
     "layout 'ntu25' has 25 joints, data.npy has V=20"),
])
def test_reader_names_the_broken_file(three, damage, match):
    folder, _ = three
    damage(folder)
    with pytest.raises(DatasetError, match=match):
        SkeletonDataset(folder)


def test_dataloader_workers_read_the_memory_map(three):
    folder, xs = three
    ds = SkeletonDataset(folder, "xview/train")
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=1)
    x, lengths, labels = next(iter(loader))
    assert x.shape == (2, 3, 6, 20, 2) and lengths.tolist() == [6, 3] and labels.tolist() == [2, 0]
    np.testing.assert_array_equal(x[1, :, :3, :, :1].numpy(), xs[1])


def test_reading_does_not_load_data_npy(tmp_path):
    """A 384 MiB data.npy: opening the dataset and reading a few batches (with a worker) must not bring the
    file into memory: the reading process's peak RSS grows by far less than the file size."""
    folder = tmp_path / "big"
    writer = DatasetWriter(folder, channels=3, frames=300, joints=25, persons=2, layout="ntu25", class_names=["a"])
    x = np.ones((3, 300, 25, 2), np.float32)
    n = (384 << 20) // x.nbytes
    for _ in range(n):
        writer.add(x, 300, 0)
    writer.finish(splits={"all": {"train": list(range(n))}}, provenance={}, normalisation="")
    size = (folder / "data.npy").stat().st_size
    assert size > 380 << 20
    script = textwrap.dedent(f"""
        import resource, torch
        from mgclr.data.format import SkeletonDataset
        def peak():  # kB
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        before = peak()
        ds = SkeletonDataset({str(folder)!r}, "train")
        opened = peak()
        loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, num_workers=0)
        for i, (x, lengths, labels) in enumerate(loader):
            assert float(x.sum()) == x.numel()
            if i == 4:
                break
        print(before, opened, peak())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, opened, after = (int(v) * 1024 for v in out.stdout.split())
    assert opened - before < 8 << 20, "opening the dataset read data.npy"
    # 5 batches of 16 samples are 5 * 16 * 180 kB = 14 MiB (plus the collated copies): far below 384 MiB.
    assert after - before < size // 8, f"peak RSS grew by {(after - before) >> 20} MiB for a {size >> 20} MiB file"


# --------------------------------------------------------------------------- ISC / SkeletonCLR, pyskl


def write_skeletonclr(folder, part="train", n=3, frames=True):
    rng = np.random.default_rng(0)
    data = np.zeros((n, 3, 10, 25, 2), np.float32)
    lengths = [10, 4, 7][:n]
    for i, t in enumerate(lengths):
        data[i, :, :t] = rng.normal(size=(3, t, 25, 2))
    np.save(folder / f"{part}_data_joint.npy", data)
    with open(folder / f"{part}_label.pkl", "wb") as fh:
        pickle.dump(([f"S001C001P001R001A00{i}.skeleton" for i in range(n)], [4, 0, 9][:n]), fh)
    if frames:
        np.save(folder / f"{part}_num_frame.npy", np.array(lengths))
    return data, lengths


@pytest.mark.parametrize("with_num_frame", [True, False])
def test_read_skeletonclr(tmp_path, with_num_frame):
    data, lengths = write_skeletonclr(tmp_path, "val", frames=with_num_frame)
    ds = read_skeletonclr(tmp_path, "val")
    assert isinstance(ds, ArrayDataset) and ds.shape == (3, 3, 10, 25, 2)
    assert list(ds.lengths) == lengths and list(ds.labels) == [4, 0, 9]  # inferred from the last non-zero frame
    np.testing.assert_array_equal(ds[1][0].numpy(), data[1])
    assert isinstance(ds.x, np.memmap)


def test_read_skeletonclr_errors(tmp_path):
    with pytest.raises(DatasetError, match="train_data_joint.npy: missing"):
        read_skeletonclr(tmp_path, "train")
    write_skeletonclr(tmp_path)
    with open(tmp_path / "train_label.pkl", "wb") as fh:
        pickle.dump((["a", "b"], [1, 2]), fh)
    with pytest.raises(DatasetError, match="train_label.pkl: 2 labels for 3 samples"):
        read_skeletonclr(tmp_path, "train")
    with open(tmp_path / "train_label.pkl", "wb") as fh:
        pickle.dump({"labels": [1, 2, 3]}, fh)
    with pytest.raises(DatasetError, match=r"expected a \(sample names, labels\) pair, got dict"):
        read_skeletonclr(tmp_path, "train")


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickles_that_would_run_code_are_refused(tmp_path):
    write_skeletonclr(tmp_path)
    with open(tmp_path / "train_label.pkl", "wb") as fh:
        pickle.dump((["a"], _RunsCode()), fh)
    with pytest.raises(DatasetError, match="refusing to unpickle (posix|os).system"):
        read_skeletonclr(tmp_path, "train")


def pyskl_annotations(two_d=True):
    rng = np.random.default_rng(0)
    annotations = []
    for i, (T, M) in enumerate([(5, 1), (8, 2), (3, 1)]):
        entry = {"frame_dir": f"v{i}", "label": i, "total_frames": T, "img_shape": (480, 640)}
        if two_d:
            entry["keypoint"] = rng.normal(size=(M, T, 17, 2)).astype(np.float32)
            entry["keypoint_score"] = rng.uniform(size=(M, T, 17)).astype(np.float32)
        else:
            entry["keypoint"] = rng.normal(size=(M, T, 17, 3)).astype(np.float32)
        annotations.append(entry)
    return {"split": {"xsub_train": ["v0", "v1"], "xsub_val": ["v2"]}, "annotations": annotations}


def test_read_pyskl(tmp_path):
    content = pyskl_annotations()
    with open(tmp_path / "a.pkl", "wb") as fh:
        pickle.dump(content, fh)
    train = read_pyskl(tmp_path / "a.pkl", "xsub_train")
    assert train.shape == (2, 3, 8, 17, 2) and list(train.lengths) == [5, 8] and list(train.labels) == [0, 1]
    a = content["annotations"][1]
    raw = read_pyskl(tmp_path / "a.pkl", "xsub_train", normalise=None)
    np.testing.assert_array_equal(raw.x[1, :2], a["keypoint"].transpose(3, 1, 2, 0))
    # pyskl's PreNormalize2D with the clip's img_shape (h, w) = (480, 640)
    np.testing.assert_allclose(train.x[1, 0], (a["keypoint"][..., 0].transpose(1, 2, 0) - 320) / 320, rtol=1e-6)
    np.testing.assert_allclose(train.x[1, 1], (a["keypoint"][..., 1].transpose(1, 2, 0) - 240) / 240, rtol=1e-6)
    np.testing.assert_array_equal(train.x[1, 2], a["keypoint_score"].transpose(1, 2, 0))  # score -> channel 3
    assert not train.x[0, :, 5:].any() and not train.x[0, ..., 1].any()  # padding
    assert train.axes == {"up": "-y", "left": "+x", "handedness": None} and train.coord_channels == 2
    assert train.sample_field("id") == ["v0", "v1"] and train.sample_field("img_shape") == [[480, 640]] * 2
    test = read_pyskl(tmp_path / "a.pkl", "xsub_val", frames=2)
    assert test.shape == (1, 3, 2, 17, 1) and list(test.lengths) == [2]
    with pytest.raises(ValueError, match=r"split: 'xview_train' is not in .*\['xsub_train', 'xsub_val'\]"):
        read_pyskl(tmp_path / "a.pkl", "xview_train")


def test_read_pyskl_errors(tmp_path):
    with open(tmp_path / "a.pkl", "wb") as fh:
        pickle.dump([1, 2], fh)
    with pytest.raises(DatasetError, match="expected a dict with 'annotations'"):
        read_pyskl(tmp_path / "a.pkl", "train")
    content = pyskl_annotations(two_d=False)
    content["annotations"][1]["keypoint"] = content["annotations"][1]["keypoint"][:, :, :5]
    with open(tmp_path / "b.pkl", "wb") as fh:
        pickle.dump(content, fh)
    with pytest.raises(DatasetError, match=r"annotation 1 \(v1\) has V=5 keypoints, the first has 17"):
        read_pyskl(tmp_path / "b.pkl", "xsub_train")
    (tmp_path / "c.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DatasetError, match="c.pkl: cannot be read"):
        read_pyskl(tmp_path / "c.pkl", "xsub_train")


def hrnet_annotations():
    """pyskl's real 2-D structure (tools/data, as in its ntu60_hrnet.pkl): float16 keypoints in image pixels,
    y down, clips of different image sizes, the split table of frame_dir names."""
    rng = np.random.default_rng(5)
    annotations = []
    for i, ((h, w), M, T) in enumerate([((1080, 1110), 1, 12), ((1308, 1080), 2, 9), ((1080, 1920), 1, 7)]):
        name = f"S001C001P00{i + 1}R001A0{i + 1:02d}"
        pixels = np.stack([rng.uniform(0.3 * w, 0.7 * w, (M, T, 17)), rng.uniform(0.1 * h, 0.9 * h, (M, T, 17))], -1)
        score = rng.uniform(0.2, 1.0, (M, T, 17))
        pixels[0, 0, 3], score[0, 0, 3] = 0, 0  # an undetected keypoint: (0, 0), score 0
        annotations.append({"frame_dir": name, "label": i, "img_shape": (h, w), "original_shape": (h, w),
                            "total_frames": T, "keypoint": pixels.astype(np.float16),
                            "keypoint_score": score.astype(np.float16)})
    return {"split": {"xsub_train": [a["frame_dir"] for a in annotations[:2]],
                      "xsub_val": [annotations[2]["frame_dir"]]}, "annotations": annotations}


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_pyskl_pickles_of_every_protocol_read_alike(tmp_path, protocol):
    """mmcv.dump (pyskl's tools/data) writes protocol 2: NumPy arrays' bytes go through _codecs.encode;
    protocol 5 through _frombuffer. All read, to the same values."""
    content = hrnet_annotations()
    with open(tmp_path / "a.pkl", "wb") as fh:
        pickle.dump(content, fh, protocol=protocol)
    ds = read_pyskl(tmp_path / "a.pkl", "xsub_train")
    a = content["annotations"][1]
    h, w = a["img_shape"]
    kp = a["keypoint"].astype(np.float32)
    expected = np.stack([(kp[..., 0] - w / 2) / (w / 2), (kp[..., 1] - h / 2) / (h / 2)])  # PreNormalize2D
    expected[:, 0, 0, 3] = 0  # but the undetected keypoint stays missing (pyskl: -1, -1)
    np.testing.assert_allclose(ds.x[1, :2, :9], expected.transpose(0, 2, 3, 1), rtol=1e-6)
    assert -1 <= ds.x[:, :2].min() and ds.x[:, :2].max() <= 1  # every clip on one scale, whatever its size
    assert (ds.x[0, :, 0, 3, 0] == 0).all()  # the undetected keypoint stays missing (pyskl: -1, -1)
    assert ds.sample_field("img_shape") == [[1080, 1110], [1308, 1080]]


def test_protocol_2_bytes_allow_latin1_only_and_code_stays_refused(tmp_path):
    from mgclr.data.readers import _safe_pickle

    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"b": b"\x00\xffraw"}, protocol=2))
    assert _safe_pickle(path) == {"b": b"\x00\xffraw"}
    rot13 = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    path.write_bytes(rot13)
    with pytest.raises(DatasetError, match=r"refusing _codecs.encode\(str, 'rot13'\)"):
        _safe_pickle(path)
    for module, name in (("os", "system"), ("_codecs", "decode"), ("builtins", "eval"), ("subprocess", "call")):
        path.write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x04\x00\x00\x00echo\x85R.")
        with pytest.raises(DatasetError, match=f"refusing to unpickle {module}.{name}"):
            _safe_pickle(path)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(keypoint=a["keypoint"][0]), r"annotation 0 \(S001C001P001R001A001\): keypoint: expected "
                                                    r"\(M, T, V, C\) with C 2 or 3, got shape \(12, 17, 2\)"),
    (lambda a: a.update(img_shape=(1080,)), r"img_shape: expected \(height, width\) in pixels, got \(1080,\)"),
    (lambda a: a.update(img_shape=(0, 1920)), r"img_shape: expected \(height, width\)"),
    (lambda a: a.update(keypoint_score=a["keypoint_score"][:, :3]), r"keypoint_score: expected shape \(1, 12, 17\)"),
    (lambda a: a.pop("label"), r"annotation 0 \(S001C001P001R001A001\): label: missing"),
])
def test_pyskl_annotation_faults_are_named(tmp_path, change, message):
    content = hrnet_annotations()
    change(content["annotations"][0])
    with open(tmp_path / "a.pkl", "wb") as fh:
        pickle.dump(content, fh, protocol=2)
    with pytest.raises(DatasetError, match=message):
        read_pyskl(tmp_path / "a.pkl", "xsub_train")


def test_pyskl_without_img_shape_uses_pyskls_default(tmp_path):
    content = hrnet_annotations()
    del content["annotations"][0]["img_shape"]
    with open(tmp_path / "a.pkl", "wb") as fh:
        pickle.dump(content, fh, protocol=2)
    ds = read_pyskl(tmp_path / "a.pkl", "xsub_train")
    kp = content["annotations"][0]["keypoint"].astype(np.float32)
    np.testing.assert_allclose(ds.x[0, 0, 1:, :, 0], ((kp[0, 1:, :, 0] - 960) / 960), rtol=1e-6)  # 1920 wide
    assert ds.sample_field("img_shape")[0] == [1080, 1920]


def test_show_draws_a_pyskl_clip_upright(tmp_path):
    """Image y grows down: drawn through the declared axes, the nose is above the ankles."""
    from mgclr.viz import load_sample, project

    content = hrnet_annotations()
    kp = content["annotations"][2]["keypoint"]
    kp[..., 0, 1], kp[..., 15:17, 1] = 200, 950  # nose high in the image (small y), ankles low
    with open(tmp_path / "a.pkl", "wb") as fh:
        pickle.dump(content, fh, protocol=2)
    sample = load_sample(tmp_path / "a.pkl", split="xsub_val")
    assert sample.info.layout.name == "coco17" and sample.info.axes["up"] == "-y"
    screen = project(sample.x, 2, axes=sample.info.axes)
    assert (screen[:, 0, 0, 1] > screen[:, 15, 0, 1]).all()


def test_writer_names_a_file_where_its_folder_would_be(tmp_path):
    (tmp_path / "f").write_text("x")
    for folder in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(FileExistsError, match=r"folder: .*f is a file, not a folder"):
            DatasetWriter(folder, channels=3, frames=2, joints=25, persons=1, layout="ntu25", class_names=["a"])
