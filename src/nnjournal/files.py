"""Atomic file writes: a temp file in the same folder, fsync, then rename. A run killed
mid-write leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from nnjournal.errors import NNJError


def check_output_file(path: Path | str, example: str = "out.png", source: Path | None = None) -> None:
    """Refuse, before any work, an output file path that is a folder, lies under a file, or is
    the `source` file the output is made from (writing it would destroy the input)."""
    path = Path(path)
    if path.is_dir():
        raise NNJError(f"--out {path} is a folder; give a file name to write (e.g. {path / example})")
    if source is not None and path.exists() and source.exists() and path.samefile(source):
        raise NNJError(f"--out {path} is the input file; writing there would replace it: give another file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise NNJError(f"--out {path}: {parent} is a file, not a folder")
    check_writable_folder(path.parent, f"--out {path}")


def check_writable_folder(folder: Path | str, what: str) -> None:
    """Refuse, before any work, a folder nothing can be written in (`/proc`, a read-only mount,
    no permission). The deepest part of `folder` that exists is probed with a temp file, removed
    at once: only trying tells (root passes every permission check, `/proc` refuses anyway)."""
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".nnj-probe.", suffix=".tmp")
    except OSError as err:
        raise NNJError(
            f"{what}: nothing can be written in {existing} ({err.strerror}); choose another path"
        ) from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; give the mode a plain open() would
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def remove_stale_temp_files(folder: Path | str) -> list[Path]:
    """Delete the temp files of atomic writes a killed process left in `folder` (SIGKILL
    between creating the temp file and renaming it cannot be cleaned up by the dying process;
    the real files are whole either way). Call only when no other process writes there."""
    stale = sorted(Path(folder).rglob(".*.tmp"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a torn last line (a run killed mid-append) is skipped."""
    rows = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return rows
    for line in text.splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
