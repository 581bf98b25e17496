"""Where data lives: the shared data folder (`NNJ_DATA_DIR`) and a cache for generated or
decoded data (`NNJ_CACHE_DIR`, default ~/.cache/nnjournal)."""

from __future__ import annotations

import os
from pathlib import Path

from nnjournal.errors import NNJError


def data_dir() -> Path | None:
    value = os.environ.get("NNJ_DATA_DIR")
    return Path(value).expanduser() if value else None


def data_file(relative: str, explicit: Path | None = None) -> Path:
    """An explicit path if given, else `$NNJ_DATA_DIR/relative`; a clear error if missing."""
    if explicit is not None:
        path = Path(explicit).expanduser()
    else:
        root = data_dir()
        if root is None:
            raise NNJError(f"data file {relative!r} needs NNJ_DATA_DIR to be set (or give data.path=...)")
        path = root / relative
    if not path.exists():
        raise NNJError(f"data file not found: {path} (check data.path or NNJ_DATA_DIR)")
    return path


def cache_dir() -> Path:
    path = Path(os.environ.get("NNJ_CACHE_DIR", Path.home() / ".cache" / "nnjournal"))
    path.mkdir(parents=True, exist_ok=True)
    return path
