"""Dataset folders' errors: everything a folder, a SkeletonCLR/ISC file or a pyskl pickle can
say wrongly is an error naming the file and what is wrong -- float or out-of-range labels, split indices,
a column shorter than N, trailing bytes, NaN or absurd values, frame counts -- never a clamp or a silent
cast; train/test overlap warns (an error under strict); an interrupted --overwrite leaves the old dataset or
none that loads, never a mix."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from mgclr.data.format import DatasetError, DatasetWarning, DatasetWriter, SkeletonDataset, read_pyskl, read_skeletonclr


def write(folder, n=6, overwrite=False, value=1.0):
    writer = DatasetWriter(folder, channels=3, frames=4, joints=20, persons=1, layout="kinect20",
                           class_names=["a", "b", "c"], overwrite=overwrite)
    rng = np.random.default_rng(n)
    for i in range(n):
        writer.add(value * rng.normal(size=(3, 4, 20, 1)).astype(np.float32), 4, i % 3, id=f"s{i}")
    return writer.finish(splits={"xview": {"train": list(range(n // 2)), "test": list(range(n // 2, n))}},
                         provenance={"converter": "test"}, normalisation="none")


def edit_meta(folder, edit):
    meta = json.loads((folder / "meta.json").read_text())
    edit(meta)
    (folder / "meta.json").write_text(json.dumps(meta))


def touch_later(path):
    """An edit made after the write (the writer's value summary then no longer vouches for the file)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


CASES = {
    "float labels": (lambda f: np.save(f / "labels.npy", np.array([0.0, 1, 2, 0, 1, 2.5])),
                     r"labels\.npy: expected integers, got float64"),
    "label >= classes": (lambda f: np.save(f / "labels.npy", np.array([0, 1, 2, 3, 1, 2])),
                         r"labels\.npy: labels 0\.\.3 outside the 3 classes of meta\.json's class_names"),
    "negative label": (lambda f: np.save(f / "labels.npy", np.array([0, -1, 2, 0, 1, 2])),
                       r"labels\.npy: labels -1\.\.2 outside the 3 classes"),
    "split index out of range": (lambda f: edit_meta(f, lambda m: m["splits"]["xview"]["test"].append(9999)),
                                 r"splits\.xview\.test: indices \[9999\] outside the 6 samples"),
    "split index -1": (lambda f: edit_meta(f, lambda m: m["splits"]["xview"]["train"].append(-1)),
                       r"splits\.xview\.train: indices \[-1\] outside the 6 samples"),
    "float split index": (lambda f: edit_meta(f, lambda m: m["splits"]["xview"]["train"].append(1.5)),
                          r"splits\.xview\.train: expected a list of integer sample indices"),
    "repeated index": (lambda f: edit_meta(f, lambda m: m["splits"]["xview"]["train"].append(0)),
                       r"splits\.xview\.train: a sample index appears twice"),
    "short column": (lambda f: edit_meta(f, lambda m: m["samples"]["id"].pop()),
                     r"meta\.json: samples\.id: expected a list of 6 values \(one per sample\), got 5"),
    "trailing bytes": (lambda f: open(f / "data.npy", "ab").write(b"\0" * 64),
                       r"data\.npy: \d+ bytes, its header describes \d+ \(\+64\): truncated, or trailing bytes"),
    "num_samples": (lambda f: edit_meta(f, lambda m: m.__setitem__("num_samples", 7)),
                    r"meta\.json: num_samples 7, but data\.npy holds 6"),
    "no layout": (lambda f: edit_meta(f, lambda m: m.pop("layout")), r"meta\.json: layout: missing"),
    "not an object": (lambda f: (f / "meta.json").write_text("[1, 2]"), r"meta\.json: expected a JSON object"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_folder_is_named(tmp_path, case):
    folder = write(tmp_path / "ds")
    corrupt, message = CASES[case]
    corrupt(folder)
    with pytest.raises(DatasetError, match=message):
        SkeletonDataset(folder)


@pytest.mark.parametrize("value, message", [
    (np.nan, r"data\.npy: a non-finite value \(nan\) at sample 4, \(C, T, V, M\) = \(1, 2, 3, 0\)"),
    (-np.inf, r"a non-finite value \(-inf\) at sample 4"),
    (3e38, r"data\.npy: a value of magnitude 3e\+38 at sample 4, beyond 1e\+06"),
])
def test_nan_or_absurd_values_in_data_npy(tmp_path, value, message):
    folder = write(tmp_path / "ds")
    SkeletonDataset(folder)  # the writer's summary vouches for the file as written
    data = np.load(folder / "data.npy", mmap_mode="r+")
    data[4, 1, 2, 3, 0] = value
    data.flush()
    del data
    touch_later(folder / "data.npy")
    with pytest.raises(DatasetError, match=message):
        SkeletonDataset(folder)
    edit_meta(folder, lambda m: m.pop("values"))  # without a summary, the values are scanned
    with pytest.raises(DatasetError, match=message):
        SkeletonDataset(folder)


def test_the_writer_refuses_absurd_values(tmp_path):
    with pytest.raises(ValueError, match=r"x: a value of magnitude [\d.]+e\+38, beyond 1e\+06"):
        write(tmp_path / "ds", value=1e38)


def test_train_test_overlap_warns_and_is_an_error_under_strict(tmp_path):
    folder = write(tmp_path / "ds")
    edit_meta(folder, lambda m: m["splits"]["xview"]["test"].append(0))
    with pytest.warns(DatasetWarning, match=r"splits\.xview: 1 samples are in both test and train \(e\.g\. \[0\]\)"):
        SkeletonDataset(folder, "xview/train")
    with pytest.raises(DatasetError, match=r"1 samples are in both test and train"):
        SkeletonDataset(folder, "xview/train", strict=True)


def test_an_interrupted_overwrite_leaves_the_old_dataset_or_none(tmp_path, monkeypatch):
    """A failure injected at every write of an --overwrite: afterwards the folder loads as the old dataset or
    not at all, never as new arrays under the old metadata."""
    folder = write(tmp_path / "ds", n=6)
    old_data = np.array(SkeletonDataset(folder).data)
    real_replace, real_save = os.replace, np.save
    calls = {"n": 0, "fail_at": None}

    def counting(real):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == calls["fail_at"]:
                raise OSError(28, "No space left on device (injected)")
            return real(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(os, "replace", counting(real_replace))
    monkeypatch.setattr(np, "save", counting(real_save))
    calls["n"], calls["fail_at"] = 0, None
    write(tmp_path / "probe", n=4)  # how many writes a dataset takes
    writes = calls["n"]
    assert writes >= 4
    for fail_at in range(1, writes + 1):
        calls["n"], calls["fail_at"] = 0, fail_at
        with pytest.raises(OSError, match="injected"):
            write(folder, n=6, overwrite=True, value=2.0)  # same N and shape: only the values differ
        try:
            ds = SkeletonDataset(folder)
        except DatasetError:
            continue  # no dataset: fine
        assert np.array_equal(np.asarray(ds.data), old_data), f"new arrays under the old metadata after write {fail_at}"
    calls["fail_at"] = None
    write(folder, n=6, overwrite=True, value=2.0)
    assert not np.array_equal(np.asarray(SkeletonDataset(folder).data), old_data)


# ------------------------------------------------------------------------------- SkeletonCLR / ISC, pyskl


def skeletonclr_files(folder, labels=(4, 0, 9), num_frame=(10, 4, 7)):
    np.save(folder / "train_data_joint.npy", np.ones((3, 3, 10, 25, 2), np.float32))
    with open(folder / "train_label.pkl", "wb") as fh:
        pickle.dump((["a", "b", "c"], list(labels)), fh)
    if num_frame is not None:
        np.save(folder / "train_num_frame.npy", np.asarray(num_frame))


@pytest.mark.parametrize("labels, num_frame, message", [
    ((4, 0.5, 9), (10, 4, 7), r"train_label\.pkl: expected integer labels, got non-integral values such as 0\.5"),
    ((4, -1, 9), (10, 4, 7), r"train_label\.pkl: labels must be >= 0, got -1"),
    ((4, 0, 9), (10, 0, 7), r"train_num_frame\.npy: sample 1 has 0 frames, outside 1\.\.T=10"),
    ((4, 0, 9), (10, 4, 11), r"train_num_frame\.npy: sample 2 has 11 frames, outside 1\.\.T=10"),
    ((4, 0, 9), (10.0, 4.0, 7.0), r"train_num_frame\.npy: expected 3 integer frame counts"),
])
def test_skeletonclr_files_are_not_clamped_or_cast(tmp_path, labels, num_frame, message):
    skeletonclr_files(tmp_path, labels, num_frame)
    with pytest.raises(DatasetError, match=message):
        read_skeletonclr(tmp_path, "train")


@pytest.mark.parametrize("total, label, message", [
    (0, 1, r"annotation 0 \(clip0\): total_frames: expected an integer in 1\.\.8 \(the keypoint frames\), got 0"),
    (9, 1, r"total_frames: expected an integer in 1\.\.8"),
    (8, 1.5, r"coco\.pkl: expected integer labels, got non-integral values such as 1\.5"),
])
def test_pyskl_frame_counts_and_labels(tmp_path, total, label, message):
    annotations = [{"frame_dir": "clip0", "label": label, "total_frames": total,
                    "keypoint": np.zeros((1, 8, 17, 2), np.float32),
                    "keypoint_score": np.ones((1, 8, 17), np.float32)}]
    with open(tmp_path / "coco.pkl", "wb") as fh:
        pickle.dump({"split": {"train": ["clip0"]}, "annotations": annotations}, fh)
    with pytest.raises(DatasetError, match=message):
        read_pyskl(tmp_path / "coco.pkl", "train")


def test_a_pickle_cannot_ask_for_any_amount_of_memory(tmp_path):
    """_reconstruct(ndarray, (10**13,), 'b') (10 TB) must be refused before anything is allocated; honest
    arrays (their bytes in the file) still load."""
    hostile = (b"\x80\x02"                                   # protocol 2
               b"cnumpy.core.multiarray\n_reconstruct\n"       # GLOBAL: the allowed callable
               b"cnumpy\nndarray\n"                            # GLOBAL: its first argument
               + pickle.dumps((10**13,), protocol=2)[2:-1]     # the shape, (10**13,)
               + pickle.dumps("b", protocol=2)[2:-1]           # the dtype code
               + b"\x87R.")                                    # TUPLE3, REDUCE, STOP
    path = tmp_path / "train_label.pkl"
    path.write_bytes(hostile)
    np.save(tmp_path / "train_data_joint.npy", np.ones((3, 3, 10, 25, 2), np.float32))
    with pytest.raises(DatasetError, match=r"train_label\.pkl: cannot be read: UnpicklingError: an array of shape "
                                           r"\(10000000000000,\) and dtype 'b' \(10000000000000 bytes\) is larger "
                                           r"than the file"):
        read_skeletonclr(tmp_path, "train")
    with open(path, "wb") as fh:
        pickle.dump((["a", "b", "c"], np.array([4, 0, 9])), fh)
    assert read_skeletonclr(tmp_path, "train").labels.tolist() == [4, 0, 9]
