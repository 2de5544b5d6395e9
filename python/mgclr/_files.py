"""Writing result files so that a reader (or a run killed halfway) sees the old file or the new one, never
half of one: write a hidden temporary file beside the target, then rename it over the target (atomic on
POSIX within one folder). Every file mgclr writes for a user -- JSON and CSV results, timelines, configs,
plots, checkpoints, model files -- goes through here."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator, Union

__all__ = ["atomic_path", "write_json_atomic", "write_text_atomic"]


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
