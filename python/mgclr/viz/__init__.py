"""mgclr.viz: look at the data, the augmentations and the recognizer (matplotlib: the ``[train]`` extra).

- :func:`frame_strip` / :func:`animate` (skeleton.py): a sequence drawn with its layout's bones, 2-D or 3-D
  (a fixed view), several persons, as a PNG strip of frames, a GIF or an MP4 (ffmpeg);
- :func:`augmentation_gallery` (gallery.py): one sample and N augmented views, each view's drawn parameters
  printed beside it (:func:`describe_params`);
- :func:`timeline_plot` (timeline.py): a video's annotated and predicted micro-gestures over seconds;
- :func:`load_sample` (source.py): one sequence from a dataset folder, a ``.npy`` / ``.npz`` or the synthetic
  generator, with its description;
- :mod:`mgclr.viz.plots`: the plotting base all of them draw with (matplotlib on Agg, atomic PNGs, class
  colours) and the evaluation plots (confusion matrices, t-SNE, charts) that training and the emotion report
  write.

viz sits below training and emotion (it reads data, augmentations and timelines, never a loop), so those draw
through it. One module is above them: :func:`mgclr.viz.examples.write_examples`, the README's pictures from
the synthetic generators (it builds a pipeline as training does and synthetic timelines as emotion does), so
this package does not import it. The command is ``mgclr show``.
"""

from .gallery import augment_views, augmentation_gallery, describe_params
from .skeleton import animate, ffmpeg_available, frame_strip, project
from .source import Sample, load_sample
from .timeline import timeline_plot

__all__ = ["Sample", "animate", "augment_views", "augmentation_gallery", "describe_params", "ffmpeg_available",
           "frame_strip", "load_sample", "project", "timeline_plot"]
