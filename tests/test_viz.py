"""Every picture mgclr makes, rendered once on tiny data: the file opens, has the expected size and says what
it should (mgclr.viz, mgclr show, mgclr.viz.plots)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib", reason="the pictures need matplotlib (pip install 'mgclr[train]')")
from PIL import Image  # noqa: E402  (matplotlib depends on Pillow)

from mgclr import viz  # noqa: E402
from mgclr.augment import Pipeline, Stretch, TimeFlip  # noqa: E402
from mgclr.cli import main  # noqa: E402
from mgclr.emotion.synthetic import synthetic_timelines  # noqa: E402
from mgclr.emotion.timeline import write_timelines  # noqa: E402
from mgclr.viz import plots  # noqa: E402


def size(path):
    with Image.open(path) as image:
        return image.size


def test_frame_strip_of_synthetic_3d_and_of_2d_data_with_two_persons(tmp_path):
    sample = viz.load_sample(sample=2, frames=32)
    path = viz.frame_strip(sample.x, sample.length, sample.info.layout, tmp_path / "strip.png", frames=6,
                           coord_channels=3, fps=sample.info.fps, title=sample.caption)
    width, height = size(path)
    assert width > 6 * 120 and 150 < height < 400
    # 2-D, two persons, the second absent after frame 10 (all zero: not drawn), x and y only
    x = np.zeros((3, 20, 25, 2), np.float32)
    x[:2] = np.random.default_rng(0).normal(size=(2, 20, 25, 2))
    x[2] = 0.9  # a confidence channel: carried, never drawn as a coordinate
    x[:, 10:, :, 1] = 0
    path = viz.frame_strip(x, 20, "ntu25", tmp_path / "two.png", frames=4, coord_channels=2)
    assert size(path)[0] > 4 * 120


def test_an_undetected_joint_and_its_bones_are_not_drawn():
    """2-D data (iMiGUE, pyskl) marks an undetected joint all zero: no bone may run to the origin."""
    plt = plots.pyplot()
    layout = viz.load_sample(sample=0, frames=8).info.layout  # imigue22
    x = np.random.default_rng(3).uniform(1.0, 2.0, size=(3, 4, layout.num_joints, 1))
    missing = layout.bones[0][0]
    x[:, :, missing] = 0  # x, y and confidence
    fig, ax = plt.subplots()
    points, present = viz.project(x, 2), viz.skeleton._present(x, 2)
    viz.skeleton.draw_skeleton(ax, points[0], present[0], layout)
    touching = sum(missing in bone for bone in layout.bones)
    assert touching >= 1 and len(ax.lines) == len(layout.bones) - touching
    drawn = np.concatenate([line.get_xydata() for line in ax.lines])
    assert (np.abs(drawn) >= 1.0).all()  # nothing at the origin
    plt.close(fig)


def test_projection_keeps_2d_and_turns_3d():
    x = np.random.default_rng(1).normal(size=(3, 5, 4, 1))
    assert np.array_equal(viz.project(x, 2)[..., 0], x[0]) and np.array_equal(viz.project(x, 2)[..., 1], x[1])
    front = viz.project(x, 3, view=(0.0, 0.0))
    assert np.allclose(front[..., 0], x[0]) and np.allclose(front[..., 1], x[1])  # no turn: x right, y up
    side = viz.project(x, 3, view=(0.0, 90.0))
    assert np.allclose(side[..., 0], x[2])  # a quarter turn about the vertical: depth becomes the width


def test_gallery_prints_the_drawn_parameters(tmp_path):
    sample = viz.load_sample(sample=0, frames=32)
    pipeline = Pipeline([Stretch(), TimeFlip(p=0.0)], coord_channels=3, two_views=True)
    views = viz.augment_views(pipeline, sample.x, sample.length, 3, seed=4)
    assert len(views) == 3 and [v[3] for v in views] == [0, 1, 0]  # q, k of call 1, q of call 2
    lines = viz.describe_params(views[0][2], 0, 0, sample.info.layout)
    assert lines[-1] == "time_flip: not applied" or lines[0] == "time_flip: not applied"
    stretch = next(line for line in lines if line.startswith("stretch: "))
    matrix = views[0][2].fields("stretch", 0)["matrix"][0].tolist()
    assert f"{matrix[0]:.2f}" in stretch and "matrix [" in stretch
    out = tmp_path / "gallery.png"
    viz.augmentation_gallery(sample.x, sample.length, sample.info.layout, pipeline, out, views=3, seed=4, frames=5,
                             gif=tmp_path / "gallery.gif")
    width, height = size(out)
    assert width > 5 * 100 and height > 4 * 100  # the original and three views, one row each
    with Image.open(tmp_path / "gallery.gif") as gif:
        assert gif.n_frames == sample.length and gif.size[0] > 4 * 100  # four panels, every valid frame


def test_animation_formats(tmp_path, monkeypatch):
    sample = viz.load_sample(sample=1, frames=24)
    with Image.open(viz.animate([(sample.x, sample.length)], sample.info.layout, tmp_path / "a.gif",
                                max_frames=10)) as gif:
        assert gif.n_frames == 10
    with pytest.raises(ValueError, match=r"path: expected a .gif or .mp4 file"):
        viz.animate([(sample.x, sample.length)], sample.info.layout, tmp_path / "a.avi")
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match="an MP4 needs ffmpeg on PATH"):
        viz.animate([(sample.x, sample.length)], sample.info.layout, tmp_path / "a.mp4")


def _timelines(tmp_path):
    annotated = synthetic_timelines(3, seed=1)
    predicted = [dataclasses.replace(t, events=[dataclasses.replace(e, confidence=0.8) for e in t.events[1:]],
                                     source="predicted") for t in annotated]
    write_timelines(tmp_path / "timelines.json", annotated)
    write_timelines(tmp_path / "predicted.json", predicted)
    return annotated, predicted


def test_timeline_plot_one_and_two_rows(tmp_path):
    annotated, predicted = _timelines(tmp_path)
    one = viz.timeline_plot(tmp_path / "one.png", annotated[0])
    two = viz.timeline_plot(tmp_path / "two.png", annotated[0], predicted[0])
    assert size(two)[1] > size(one)[1] and size(one)[0] >= 600
    with pytest.raises(ValueError, match="expected an annotated or a predicted timeline, got neither"):
        viz.timeline_plot(tmp_path / "none.png")
    with pytest.raises(ValueError, match=r"predicted: a timeline of video 'video_001', the annotated one is of "
                                         r"'video_000'"):
        viz.timeline_plot(tmp_path / "bad.png", annotated[0], predicted[1])


def test_show_command_acceptance(tmp_path, capsys):
    # the acceptance: a gallery of the synthetic data with four views, and its animation
    out = tmp_path / "g.png"
    assert main(["show", "--augment", "paper_best", "--sample", "0", "--views", "4", "--out", str(out), "--gif"]) == 0
    assert size(out)[1] > 5 * 100 and (tmp_path / "g.gif").is_file()
    assert main(["show", "--out", str(tmp_path / "s.png"), "--layout", "ntu25", "--frames", "24"]) == 0
    annotated, _ = _timelines(tmp_path)
    video = annotated[2].video
    assert main(["show", "--timeline", str(tmp_path / "timelines.json"), "--video", video,
                 "--out", str(tmp_path / "t1.png")]) == 0
    assert main(["show", "--timeline", str(tmp_path / "timelines.json"), "--video", video,
                 "--predicted", str(tmp_path / "predicted.json"), "--out", str(tmp_path / "t2.png")]) == 0
    assert size(tmp_path / "t2.png")[1] > size(tmp_path / "t1.png")[1]  # two rows
    capsys.readouterr()
    assert main(["show", "--timeline", str(tmp_path / "timelines.json"), "--out", str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err
    assert "--video: " in err and "holds 3 videos; name one" in err
    assert main(["show", "--timeline", str(tmp_path / "timelines.json"), "--video", "nope",
                 "--out", str(tmp_path / "t.png")]) == 2
    assert "--video: no video 'nope' in the timelines" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.zeros((3, 10, 25, 1), np.float32))
    assert main(["show", str(tmp_path / "x.npy"), "--out", str(tmp_path / "x.png")]) == 2
    assert "--layout: " in capsys.readouterr().err
    assert main(["show", str(tmp_path / "x.npy"), "--layout", "kinect20", "--out", str(tmp_path / "x.png")]) == 2
    assert "kinect20 has 20 joints" in capsys.readouterr().err
    assert main(["show", "--augment", "shaer", "--out", str(tmp_path / "y.png")]) == 2
    assert "unknown op 'shaer'" in capsys.readouterr().err


def test_show_reads_a_dataset_folder(tmp_path):
    from mgclr.data import generate
    from mgclr.data.format import DatasetWriter

    data = generate(6, layout="ntu25", frames=20, num_persons=2, seed=3)
    folder = tmp_path / "ds"
    writer = DatasetWriter(folder, channels=3, frames=20, joints=25, persons=2, layout="ntu25",
                           class_names=data.class_names, fps=data.fps)
    for x, length, label in zip(data.x, data.lengths, data.labels):
        writer.add(x, int(length), int(label))
    writer.finish(splits={"all": {"train": [0, 1, 2, 3], "test": [4, 5]}}, provenance={"converter": "test"},
                  normalisation="none")
    sample = viz.load_sample(folder, split="test", sample=1)
    assert sample.x.shape == (3, 20, 25, 2) and sample.length == int(data.lengths[5])
    assert main(["show", str(folder), "--split", "test", "--sample", "1", "--out", str(tmp_path / "d.png")]) == 0
    with pytest.raises(ValueError, match=r"sample: .* holds 2 samples, got index 2"):
        viz.load_sample(folder, split="test", sample=2)


# ------------------------------------------------------------------------------- evaluation plots ----


def test_class_colours_stay_distinct_to_60():
    colours = plots.class_colours(60)
    assert len(set(colours)) == 60
    assert plots.class_colours(61)[60] == colours[0] and plots.class_markers(61)[60] != plots.class_markers(61)[0]


def test_tsne_of_32_classes_has_a_title_and_a_legend_of_every_class(tmp_path):
    pytest.importorskip("sklearn")
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(96) % 32
    features = torch.randn(96, 8, generator=g) + labels.unsqueeze(1).float()
    path = plots.tsne(features, labels, [f"MG{i + 1}" for i in range(32)], tmp_path / "t.png", title="iMiGUE-like")
    width, height = size(path)
    assert width > height  # the legend sits beside the points


def test_confusion_matrix_says_it_is_row_normalised(tmp_path):
    predicted, labels = torch.tensor([0, 1, 1, 2, 2, 2]), torch.tensor([0, 1, 2, 2, 2, 1])
    counts = plots.confusion_counts(predicted, labels, 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 1], [0, 1, 2]] and counts.sum() == 6
    path = plots.confusion_matrix(predicted, labels, ["a", "b", "c"], tmp_path / "c.png")
    assert size(path)[0] > 300


def test_diverging_chart_shows_both_signs_fully(tmp_path):
    plt = plots.pyplot()
    fig, ax = plt.subplots()
    values = [0.21, 0.05, -0.03, -0.19]
    plots.draw_diverging_bars(ax, ["a", "b", "c", "d"], values, negative="toward win", positive="toward lose")
    low, high = ax.get_xlim()
    assert low == pytest.approx(-high) and low < min(values) and high > max(values)
    labels = {t.get_text(): t for t in ax.texts}
    assert labels["-0.19"].get_position()[0] < -0.19 and labels["+0.21"].get_position()[0] > 0.21  # outside
    plt.close(fig)
    path = plots.diverging_bar_chart(["a", "b", "c", "d"], values, tmp_path / "w.png", xlabel="weight",
                                     negative="toward win", positive="toward lose")
    assert size(path)[0] > 500
