"""SMG (Chen et al., IJCV 2023) -> mgclr dataset: one sample per annotated micro-gesture (MG) clip, Kinect v2
camera-space joints in the ``ntu25`` layout, ``C = 3`` (x, y, z in metres), ``M = 1``.

Input: one folder per recording, ``SampleXXXX/SampleXXXX_skeleton.csv`` (one row per frame, 25 joints x 11
values), ``SampleXXXX_finelabels.csv`` (rows ``label,start,end``, one per MG clip) and, when present,
``SampleXXXX_data.csv`` (``numFrames,fps,maxDepth``), found anywhere under ``src``.

Output: labels ``MG1`` ... ``MG17`` (label ids 1-17 -> classes 0-16), a clip's frames are the skeleton rows
``start`` to ``end - 1`` (0-based, the file's end exclusive), per-sample fields ``id``
(``SampleXXXX_<clip index>``), ``video`` (``SampleXXXX``), ``subject``, ``start_frame``, ``end_frame`` (both
inclusive, as everywhere in mgclr: the file's end minus one).
Split ``xsub``: subjects 1-35 train, 36-40 test. fps from ``_data.csv`` (30, the Kinect v2 rate, without it).

Normalisation: each clip is centred with :func:`~mgclr.data.normalise.centre_on_joint` on
``spine_shoulder`` (ntu25 joint 20): its position at the clip's first frame (the first frame where that joint
is present, i.e. not exactly (0, 0, 0)) is subtracted from every present point; points that are exactly zero
(no body tracked) stay zero. No scaling, no rotation: metres, Kinect camera axes (y up, z away from the
sensor).

What was verified, and where (all in mikecheninoulu/SMG)
--------------------------------------------------------
* The 11 values per joint and the joint order: online recognition/SMG/SMGaccessSample.py (``Skeleton``) reads
  each joint at ``pos = 11 * j`` as ``data[pos:pos+3]`` (world, i.e. camera-space x, y, z), ``data[pos+3:
  pos+7]`` (an orientation quaternion) and ``data[pos+7:pos+9]`` (a 2-D image position), in the Kinect v2
  ``JointType`` order (SpineBase, SpineMid, ShoulderCenter = neck, Head, ShoulderLeft, ..., SpineShoulder,
  HandTipLeft, ThumbLeft, HandTipRight, ThumbRight), which is ntu25's order; values 9-10 of each joint are
  read by no published tool (unverified; probably tracking states). classification/SMG/1_st-gcn_smg/tools/
  utils/mg_read_skeleton.py (``read_xyz``) keeps ``skeleton_frame[11*j + 0..2]``, as we do. The CSV has no
  header (read with ``csv.reader``, every row a frame).
* The clip frames: ``read_xyz`` reads rows ``st_frame`` to ``ed_frame - 1`` of the 0-based row list
  (``length = ed_frame - st_frame``), and ``getMGFlag`` marks ``[startFrame:endFrame]``; we follow these (the
  classification benchmark's reading). The online-recognition code instead reads ``range(startFrame,
  endFrame + 1)`` through a 1-based ``getSkeleton``, i.e. one more frame at the start: the two official
  readings differ by one frame.
* The official classification converter keeps at most the last 60 frames of a clip (``max_frame = 60``,
  smg_gendata.py); we keep every frame (T is the longest clip).
* ``_finelabels.csv``: no header, ``label,start,end`` with labels 1-17 (``label - 1`` is the class) --
  SMGaccessSample.py, smg_gendata.py; 17 classes: ``'class_count': 17, # for SMG`` in online recognition/SMG/
  main.py. ``_data.csv``: ``numFrames, fps, maxDepth`` -- SMGaccessSample.py.
* Subjects: one recording per subject, ``Sample%04d`` of subject 1-40, test subjects ``[36, 37, 38, 39, 40]``
  -- classification/SMG/1_st-gcn_smg/tools/smg_gendata.py (``subject_all``, ``subject_test``); we read the
  subject from the trailing number of the sample name.

Not verified: the class names (not in the published tools, hence ``MG1`` ...), and values 9-10 of a joint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..axes import KINECT
from ..normalise import centre_on_joint, centre_on_joint_spec
from .common import (
    PLAUSIBLE,
    ConversionError,
    ConversionReport,
    FirstSeen,
    Sample,
    iter_label_rows,
    iter_lines,
    parse_float_row,
    parse_floats,
    run_conversion,
    sorted_files,
)

__all__ = ["NUM_CLASSES", "SMG_FPS", "XSUB_TEST_SUBJECTS", "convert_smg", "xsub_part"]

NUM_CLASSES = 17
SMG_FPS = 30.0
NUM_JOINTS = 25
VALUES_PER_JOINT = 11
XSUB_TEST_SUBJECTS = frozenset(range(36, 41))
_SPINE_SHOULDER = 20
_SKELETON_SUFFIX = "_skeleton.csv"


def xsub_part(subject: Optional[int]) -> Optional[str]:
    """The ``xsub`` part of a subject: 1-35 ``"train"``, 36-40 ``"test"``, anything else None."""
    if subject is None or not 1 <= subject <= 40:
        return None
    return "test" if subject in XSUB_TEST_SUBJECTS else "train"


@dataclass
class _Clip:
    index: int
    label: int  # class index, 0-based
    start: int
    end: int  # exclusive
    line: str


@dataclass
class _Recording:
    name: str
    skeleton: Path
    labels: Path
    subject: Optional[int] = None
    fps: float = SMG_FPS
    num_frames: int = 0
    clips: List[_Clip] = field(default_factory=list)
    error: Optional[ConversionError] = None


def _row(text: str, file: Path, where: str) -> np.ndarray:
    expected = NUM_JOINTS * VALUES_PER_JOINT
    tokens = text.split(",")
    if len(tokens) == expected + 1 and not tokens[-1].strip():
        tokens = tokens[:-1]  # a trailing comma
    return parse_float_row(tokens, file, where, expected)


def _read_labels(file: Path) -> List[_Clip]:
    clips: List[_Clip] = []
    for where, label, start, end in iter_label_rows(file):
        if not 1 <= label <= NUM_CLASSES:
            raise ConversionError(file, where, f"label {label} is not an SMG class (1-{NUM_CLASSES})",
                                  "unknown label")
        for other in clips:
            if (other.label, other.start, other.end) == (label - 1, start, end):
                raise ConversionError(file, where, f"label {label}, frames {start}-{end} are also at {other.line}",
                                      "duplicate row")
        clips.append(_Clip(len(clips), label - 1, start, end, where))
    if not clips:
        raise ConversionError(file, "", "no clip in it", "empty")
    return clips


def _read_data_csv(file: Path) -> Tuple[int, float, str]:
    """(numFrames, fps, where) of a ``_data.csv``."""
    for number, text in iter_lines(file):
        where = f"line {number}"
        values = parse_floats(text.split(","), file, where, 3, limit=PLAUSIBLE)
        if not values[1] > 0:
            raise ConversionError(file, f"{where}, field 'fps'", f"fps must be positive, got {values[1]}",
                                  "non-numeric")
        if values[0] != int(values[0]) or values[0] < 1:
            raise ConversionError(file, f"{where}, field 'numFrames'", f"expected a frame count, got {values[0]:g}",
                                  "non-numeric")
        return int(values[0]), float(values[1]), where
    raise ConversionError(file, "", "no numFrames,fps,maxDepth row in it", "empty")


def _plan(skeleton: Path) -> _Recording:
    name = skeleton.name[:-len(_SKELETON_SUFFIX)]
    rec = _Recording(name, skeleton, skeleton.parent / f"{name}_finelabels.csv")
    try:
        match = re.search(r"(\d+)$", name)
        if match is None:
            raise ConversionError(skeleton, "", f"cannot tell the subject from the name {name!r} (expected "
                                                f"SampleXXXX)", "unknown subject")
        rec.subject = int(match.group(1))
        if not rec.labels.is_file():
            raise ConversionError(rec.labels, "", "missing (every _skeleton.csv needs its _finelabels.csv)",
                                  "missing label file")
        rec.clips = _read_labels(rec.labels)
        data = skeleton.parent / f"{name}_data.csv"
        rec.num_frames = sum(1 for _ in iter_lines(skeleton))
        if data.is_file():
            stated, rec.fps, where = _read_data_csv(data)
            if stated != rec.num_frames:
                raise ConversionError(data, f"{where}, field 'numFrames'",
                                      f"{stated} frames, but {skeleton.name} has {rec.num_frames} rows",
                                      "frame count mismatch")
        for clip in rec.clips:
            if clip.end <= clip.start:
                raise ConversionError(rec.labels, clip.line, f"empty clip: end frame {clip.end} not after start "
                                                             f"frame {clip.start}", "empty clip")
            if clip.start < 0 or clip.end > rec.num_frames:
                raise ConversionError(rec.labels, clip.line, f"clip frames {clip.start}-{clip.end} (end exclusive) "
                                                             f"outside the recording's {rec.num_frames} frames",
                                      "clip outside video")
    except ConversionError as exc:
        rec.error = exc
    return rec


def _read_skeleton(file: Path) -> np.ndarray:
    """(frames, 25, 3) camera-space x, y, z."""
    rows = [_row(text, file, f"line {number}") for number, text in iter_lines(file)]
    if not rows:
        raise ConversionError(file, "", "no frame in it", "empty")
    return np.stack(rows).reshape(len(rows), NUM_JOINTS, VALUES_PER_JOINT)[:, :, :3]


def convert_smg(src: Union[str, Path], dst: Union[str, Path], *, skip_bad: bool = False, overwrite: bool = False,
                progress: bool = True, splits: Optional[Sequence[str]] = None) -> ConversionReport:
    """Convert the SMG skeletons under ``src`` into an mgclr dataset at ``dst`` (see the module docstring);
    ``skip_bad``, ``overwrite``, ``progress`` and ``splits`` (benchmarks to record; SMG has ``xsub``) as every
    converter."""
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not a folder")
    unreadable: List[Tuple[str, str]] = []
    recordings = [_plan(p) for p in sorted_files(src, "*" + _SKELETON_SUFFIX, unreadable if skip_bad else None)]
    if not recordings:
        raise FileNotFoundError(f"{src}: no *{_SKELETON_SUFFIX} (SMG's SampleXXXX/SampleXXXX_skeleton.csv)")
    for rec in recordings:
        if rec.error is not None and not skip_bad:
            raise rec.error
    good = [r for r in recordings if r.error is None]
    longest = max([1] + [c.end - c.start for r in good for c in r.clips])
    fps_values = {r.fps for r in good}
    seen = FirstSeen("recording")  # a copied SampleXXXX folder under src is refused, never converted twice

    def parse(rec: _Recording) -> Iterator[Sample]:
        if rec.error is not None:
            raise rec.error
        seen.check(rec.name, rec.skeleton)
        xyz = _read_skeleton(rec.skeleton)
        if len(xyz) != rec.num_frames:
            raise ConversionError(rec.skeleton, "", f"{len(xyz)} frames, counted {rec.num_frames} before",
                                  "changed while reading")
        samples: List[Sample] = []
        for clip in rec.clips:
            x = xyz[clip.start:clip.end].astype(np.float32).transpose(2, 0, 1)[..., None]  # (3, T, 25, 1)
            x = centre_on_joint(np.ascontiguousarray(x), _SPINE_SHOULDER)
            samples.append(Sample(x, clip.label, {"id": f"{rec.name}_{clip.index}", "video": rec.name,
                                                  "subject": rec.subject, "start_frame": clip.start,
                                                  "end_frame": clip.end - 1}))
        seen.add(rec.name, rec.skeleton)
        return iter(samples)

    provenance = {"source": str(src), "files": len(recordings),
                  "frames": "0-based skeleton rows, start and end inclusive (end_frame = the _finelabels.csv end, "
                            "which is exclusive, minus 1)",
                  "values_kept": "per joint, values 0-2 of 11 (camera-space x, y, z)"}
    normalisation = ("per clip: centre_on_joint on spine_shoulder (ntu25 joint 20): its position at the clip's "
                     "first frame where it is present is subtracted from every present point; all-zero points "
                     "(no body tracked) stay zero; metres, Kinect v2 camera axes, no scaling")
    return run_conversion(
        "smg", dst, recordings, parse,
        writer_args={"channels": 3, "frames": longest, "joints": NUM_JOINTS, "persons": 1, "layout": "ntu25",
                     "class_names": [f"MG{k}" for k in range(1, NUM_CLASSES + 1)], "coord_channels": 3,
                     "channel_names": ["x", "y", "z"], "fps": fps_values.pop() if len(fps_values) == 1 else None,
                     "normalise": centre_on_joint_spec(_SPINE_SHOULDER, "spine_shoulder"),
                     "axes": KINECT},
        split_of=lambda s: {"xsub": xsub_part(s.fields.get("subject"))}, provenance=provenance,
        normalisation=normalisation, skip_bad=skip_bad, overwrite=overwrite, progress=progress, splits=splits,
        describe=lambda r: str(r.skeleton), skipped_before=unreadable)
