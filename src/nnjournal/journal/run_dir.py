"""A run directory: `runs/<UTC time>_<recipe>/` holding config, metrics, model, plots and
the report. `summary.json` is written last, so its presence marks a finished run."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from nnjournal.errors import NNJError
from nnjournal.journal.files import read_jsonl


def check_out_folder(out: Path | str) -> None:
    """Refuse, before any work, a folder for run directories that is a file or lies under one."""
    out = Path(out)
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            where = "is a file" if path == out else f"lies under {path}, which is a file"
            raise NNJError(f"--out {out} {where}; give a folder for run directories (created if missing)")


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


def variant_dir(run_dir: Path, variant: str, n_variants: int) -> Path:
    """Where one model's files go: the run directory itself, or variants/<name>/."""
    return run_dir if n_variants == 1 else run_dir / "variants" / variant


def read_summary(run_dir: Path) -> dict[str, Any]:
    """A finished run's summary.json, checked to have the fields every reader relies on."""
    path = Path(run_dir) / "summary.json"
    if not Path(run_dir).is_dir():
        raise NNJError(f"not a run directory: {run_dir}")
    if not path.exists():
        if not (Path(run_dir) / "config.toml").exists():
            raise NNJError(f"{run_dir} is not a run directory (no summary.json or config.toml)")
        raise NNJError(
            f"{run_dir} has no summary.json: the run did not finish (resume it with `nnj run --resume {run_dir}`)"
        )
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


def _load_summary(path: Path) -> tuple[dict[str, Any], str | None]:
    """(summary, None), or ({}, what is wrong with the file)."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return {}, f"not valid JSON ({err})"
    if not isinstance(summary, dict):
        return {}, f"expected a JSON object, found {type(summary).__name__}"
    try:
        shape = _SummaryShape.model_validate(summary)
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
        else:
            epochs = len(read_jsonl(path / "metrics.jsonl"))
            row["status"] = f"unfinished ({epochs} epochs logged)" if epochs else "unfinished"
        rows.append(row)
    return rows
