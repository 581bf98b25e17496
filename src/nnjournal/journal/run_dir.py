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

from pydantic import BaseModel, Field, ValidationError

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_json, check_writable_folder, read_jsonl

FAILED = "failed.json"


def check_out_folder(out: Path | str) -> None:
    """Refuse, before any work, a folder for run directories that is a file, lies under one, or
    cannot be written in."""
    out = Path(out)
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            where = "is a file" if path == out else f"lies under {path}, which is a file"
            raise NNJError(f"--out {out} {where}; give a folder for run directories (created if missing)")
    check_writable_folder(out, f"--out {out}")


def create_run_dir(out: Path | str, recipe: str) -> Path:
    out = Path(out)
    check_out_folder(out)
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
    """A finished run's summary.json, checked to have the fields every reader relies on."""
    path = Path(run_dir) / "summary.json"
    if not Path(run_dir).is_dir():
        raise NNJError(f"not a run directory: {run_dir}")
    failure = read_failure(Path(run_dir))
    if not path.exists() and failure is not None:
        raise NNJError(f"{run_dir} failed and has no report: {failure}")
    if not path.exists():
        if not (Path(run_dir) / "config.toml").exists():
            raise NNJError(f"{run_dir} is not a run directory (no summary.json or config.toml)")
        command = "nnj tune --resume" if (Path(run_dir) / "tune.json").exists() else "nnj run --resume"
        raise NNJError(f"{run_dir} has no summary.json: the run did not finish (resume it with `{command} {run_dir}`)")
    summary, problem = _load_summary(path)
    if problem:
        raise NNJError(f"{path} is damaged: {problem} (re-run the recipe, or restore the file)")
    return summary


class _Headline(BaseModel):
    metric: str
    variant: str
    value: float = Field(strict=True)  # a number, not "0.9" (the table formats it)


class _Variant(BaseModel):
    test: dict[str, Any]


class _SummaryShape(BaseModel):
    """What `nnj predict`, `nnj report`, `nnj runs` and the index read from every summary
    (runs and studies alike); other fields are free."""

    recipe: str
    task: str
    headline: _Headline
    variants: dict[str, _Variant] = Field(min_length=1)


class _BlocksShape(BaseModel):
    """An entry that lays out its own report (studies, tuning, lr-find, debug): a headline and
    variants only where it has them."""

    recipe: str
    report_blocks: list[Any]
    headline: _Headline | None = None
    variants: dict[str, _Variant] = {}


def _load_summary(path: Path) -> tuple[dict[str, Any], str | None]:
    """(summary, None), or ({}, what is wrong with the file)."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return {}, f"not valid JSON ({err})"
    if not isinstance(summary, dict):
        return {}, f"expected a JSON object, found {type(summary).__name__}"
    try:
        shape = (_BlocksShape if "report_blocks" in summary else _SummaryShape).model_validate(summary)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return {}, f"{where}: {first['msg'].lower()}"
    del shape  # checked; readers use the plain dict
    return summary, None


def list_runs(root: Path | str) -> list[dict[str, Any]]:
    """One row per run directory under `root`, newest first; unfinished runs included, and
    runs whose summary.json is damaged marked so."""
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
            summary, problem = _load_summary(summary_path)
            if problem:
                row["status"] = "damaged"
                rows.append(row)
                continue
            row.update(
                status="done",
                recipe=summary.get("recipe"),
                date=summary.get("finished_at") if isinstance(summary.get("finished_at"), str) else None,
                headline=summary.get("headline"),
            )
        elif (failure := read_failure(path)) is not None:
            row["status"] = "failed"
            row["error"] = failure
        else:
            epochs = len(read_jsonl(path / "metrics.jsonl"))
            row["status"] = f"unfinished ({epochs} epochs logged)" if epochs else "unfinished"
        data_file = _data_file(path)
        if data_file:
            row["data_file"] = data_file
        recipe = row.get("recipe") or ""
        row["label"] = f"{recipe}: {data_file}" if recipe and data_file else recipe
        rows.append(row)
    return rows


# Loaders that read a file of the user's: their runs are told apart by it (every CSV run is
# recipe `tabular`).
_USER_FILE_LOADERS = ("csv", "image-folder", "arrays")


def _data_file(run_dir: Path) -> str | None:
    """The name of the file (or folder) a run's data came from, read from its config.toml."""
    from nnjournal.config.toml_io import read_toml

    try:
        data = read_toml(run_dir / "config.toml").get("data", {})
    except (NNJError, OSError, AttributeError):
        return None
    if not isinstance(data, dict) or data.get("name") not in _USER_FILE_LOADERS:
        return None
    source = data.get("path") or data.get("shared_file")
    return Path(str(source)).name if source else None
