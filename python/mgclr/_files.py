"""Writing result files so that a reader (or a run killed halfway) sees the old file or the new one, never
half of one: write a hidden temporary file beside the target, then rename it over the target (atomic on
POSIX within one folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

__all__ = ["write_text_atomic"]


def write_text_atomic(path: Union[str, Path], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
