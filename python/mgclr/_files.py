"""Writing result files so that a reader (or a run killed halfway) sees the old file or the new one, never
half of one: write a hidden temporary file beside the target, then rename it over the target (atomic on
POSIX within one folder). Every file mgclr writes for a user -- JSON and CSV results, timelines, configs,
plots, checkpoints, model files -- goes through here. And reading back a torch file a user brings
(:func:`read_torch_file`: the safe loader only, any failure one short reason)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterator, Union

__all__ = ["NotATorchFile", "atomic_path", "read_torch_file", "write_json_atomic", "write_text_atomic"]


@contextlib.contextmanager
def atomic_path(path: Union[str, Path]) -> Iterator[Path]:
    """``with atomic_path(target) as tmp: write(tmp)``: the body writes a temporary file beside ``target``
    (its folder created), which replaces ``target`` when the body ends without an exception; on an exception
    the temporary file is removed and ``target`` is untouched. For writers that take a path (``torch.save``,
    ``savefig``, ``np.save`` of a file name with its suffix kept)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name per call (threads of one process may write the same target at once; not mkstemp, whose
    # 0600 mode the target would inherit); the suffix is kept so that writers choosing a format by it
    # (savefig) or adding one (np.save) write the right file.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: Union[str, Path], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: Union[str, Path], value: Any, indent: int = 2, **kwargs: Any) -> Path:
    """``json.dumps(value, indent=indent, **kwargs)`` written atomically (``default=str`` and the like pass
    through); returns the path."""
    return write_text_atomic(path, json.dumps(value, indent=indent, **kwargs))


class NotATorchFile(ValueError):
    """A file :func:`read_torch_file` cannot read: ``reason`` says why in a few words (never torch's advice to
    turn the safe loader off); ``str()`` is ``"<path>: not a torch file (<reason>)"``, and callers that know
    what the file should have been say so instead (``"<path>: not an mgclr checkpoint (<reason>)"``)."""

    def __init__(self, path: Union[str, Path], reason: str):
        super().__init__(f"{path}: not a torch file ({reason})")
        self.path = Path(path)
        self.reason = reason


_ZIP, _NPY = b"PK\x03\x04", b"\x93NUMPY"


def _unreadable_reason(path: Path, exc: BaseException) -> str:
    """A few words on why ``torch.load(path, weights_only=True)`` raised ``exc``."""
    text = str(exc)
    refused = re.search(r"GLOBAL ([\w.]+)", text)
    if refused:  # an object the safe loader does not build: code, or a class of someone's program
        return f"it holds {refused.group(1)}: only tensors and plain data are read"
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""
    if isinstance(exc, EOFError) or "central directory" in text:
        return "the file ends early: truncated, or still being written"
    if head.startswith(_NPY):
        return "a NumPy .npy file, not one torch.save wrote"
    if head.startswith(_ZIP):  # (torch's own text is not shown: it advises turning the safe loader off)
        return "a zip archive torch.save did not write, or a damaged one"
    return "not written by torch.save"


def read_torch_file(path: Union[str, Path], *, map_location: Any = "cpu", mmap: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` -- tensors and plain data, no pickled code runs -- with every way
    it fails (an empty, truncated or foreign file, an object the safe loader refuses) as one
    :class:`NotATorchFile` with a short reason; torch's warnings about the pickle protocol are not shown. A
    missing or unreadable file is the ``OSError`` that says so."""
    import torch

    path = Path(path)
    size = path.stat().st_size  # FileNotFoundError, PermissionError ... as they are
    if size == 0:
        raise NotATorchFile(path, "empty file")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*pickle protocol", category=UserWarning)
            try:
                return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
            except RuntimeError as exc:
                if not (mmap and "mmap" in str(exc)):
                    raise
                # torch.save's legacy format cannot be mapped: read it whole
                return torch.load(path, map_location=map_location, weights_only=True)
    except OSError as exc:
        if exc.errno is not None:  # the file system's error (permission, I/O): not about the contents
            raise
        raise NotATorchFile(path, _unreadable_reason(path, exc)) from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a file that is not its own
        raise NotATorchFile(path, _unreadable_reason(path, exc)) from None
