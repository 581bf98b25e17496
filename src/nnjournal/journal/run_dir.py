"""A run directory: `runs/<UTC time>_<recipe>/` holding config, metrics, model, plots and
the report. `summary.json` is written last, so its presence marks a finished run."""

from __future__ import annotations

import errno
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_json, read_jsonl

FAILED = "failed.json"


def create_run_dir(out: Path | str, recipe: str) -> Path:
    out = Path(out)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", recipe).strip("-") or "run"
    for i in range(1, 1000):
        path = out / (f"{stamp}_{slug}" if i == 1 else f"{stamp}_{slug}-{i}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise NNJError(f"cannot create a run directory under {out}")


@contextmanager
def mark_failed(run_dir: Path, created: bool) -> Iterator[None]:
    """Within this block, an error marks `run_dir` failed (`failed.json`: what went wrong),
    so `nnj runs`, `nnj report` and the index show a failed run instead of choking on a
    half-written one. An interrupted run is not failed: it stays resumable. A full disk
    removes a run this process `created` (nothing can be written there, not even the mark)
    and says so in one line."""
    (run_dir / FAILED).unlink(missing_ok=True)  # a resumed run starts clean
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        if created:
            shutil.rmtree(run_dir, ignore_errors=True)
        where = f"; the unfinished run {run_dir} was removed" if created else ""
        raise NNJError(
            f"no space left on the device writing {err.filename or run_dir}{where}: free some space or "
            "give --out a folder on another disk"
        ) from None
    except BaseException as err:
        if getattr(err, "exit_code", None) != 130 and run_dir.is_dir():
            with suppress(OSError):  # e.g. a full disk: the run then stays "unfinished", still true
                atomic_write_json(run_dir / FAILED, {"error": f"{type(err).__name__}: {err}"})
        raise


def read_failure(run_dir: Path) -> str | None:
    """The error that ended a failed run, or None."""
    try:
        return json.loads((Path(run_dir) / FAILED).read_text()).get("error", "unknown error")
    except (OSError, ValueError, AttributeError):
        return None


def variant_dir(run_dir: Path, variant: str, n_variants: int) -> Path:
    """Where one model's files go: the run directory itself, or variants/<name>/."""
    return run_dir if n_variants == 1 else run_dir / "variants" / variant


def read_summary(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "summary.json"
    if not Path(run_dir).is_dir():
        raise NNJError(f"not a run directory: {run_dir}")
    failure = read_failure(Path(run_dir))
    if not path.exists() and failure is not None:
        raise NNJError(f"{run_dir} failed and has no report: {failure}")
    if not path.exists():
        raise NNJError(
            f"{run_dir} has no summary.json: the run did not finish (resume it with `nnj run --resume {run_dir}`)"
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NNJError(f"{path} is not valid JSON ({err})") from None


def list_runs(root: Path | str) -> list[dict[str, Any]]:
    """One row per run directory under `root`, newest first; unfinished runs included."""
    root = Path(root)
    rows = []
    if not root.is_dir():
        return rows
    for path in sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True
    ):
        row: dict[str, Any] = {"run": path.name, "path": str(path), "status": "unfinished"}
        summary_path = path / "summary.json"
        if summary_path.exists():
            try:
                summary = json.loads(summary_path.read_text())
            except json.JSONDecodeError:
                row["status"] = "damaged"
                rows.append(row)
                continue
            row.update(
                status="done",
                recipe=summary.get("recipe"),
                date=summary.get("finished_at"),
                headline=summary.get("headline"),
            )
        elif (failure := read_failure(path)) is not None:
            row["status"] = "failed"
            row["error"] = failure
        else:
            epochs = len(read_jsonl(path / "metrics.jsonl"))
            row["status"] = f"unfinished ({epochs} epochs logged)" if epochs else "unfinished"
        rows.append(row)
    return rows
