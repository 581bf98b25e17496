"""Reading inputs for `nnj predict` and writing predictions. CSV (with or without a header
row) and .npy/.npz arrays; arrays are read with allow_pickle=False. Tabular models read a
CSV as named raw columns, exactly as their training file was read."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnjournal.data.csv_table import read_table
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_text
from nnjournal.saved_model import TrainedModel


def read_inputs(
    path: Path,
    feature_names: list[str] | None,
    *,
    table: bool = False,
    delimiter: str | None = None,
    required_columns: Sequence[str] = (),
) -> Any:
    """An array of numeric inputs, or with `table=True` the CSV's named raw columns (a
    `Table`) for a tabular model; `required_columns` are checked against its header."""
    if not path.exists():
        raise NNJError(f"input file not found: {path}")
    if path.is_dir():
        kind = "CSV file with named columns" if table else "CSV, .npy or .npz file"
        raise NNJError(f"{path} is a folder; this model takes one {kind} of inputs")
    if table:
        if path.suffix.lower() in (".npy", ".npz"):
            raise NNJError(f"{path}: this model takes a CSV file with named columns, not a numpy array")
        found = read_table(path, delimiter)
        missing = [c for c in required_columns if c not in found.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (f" ... ({len(missing)} in all)" if len(missing) > 10 else "")
            raise NNJError(
                f"{path}: missing required column(s): {shown}; the model was trained on "
                f"{', '.join(list(required_columns)[:10])}{' ...' if len(required_columns) > 10 else ''}"
            )
        return found
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        try:
            loaded = np.load(path, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    if "x" not in loaded.files:
                        raise NNJError(f"{path}: expected an array named 'x', found {loaded.files}")
                    return loaded["x"].astype(np.float32)
            return np.asarray(loaded, dtype=np.float32)
        except (ValueError, OSError, zipfile.BadZipFile) as err:
            raise NNJError(f"{path}: not a readable numpy file without pickled objects ({err})") from None
    return _read_csv(path, feature_names)


def _read_csv(path: Path, feature_names: list[str] | None) -> np.ndarray:
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    except UnicodeDecodeError:
        raise NNJError(f"{path}: not a text CSV file") from None
    except csv.Error as err:
        raise NNJError(f"{path}: not readable as CSV ({err})") from None
    rows = [r for r in rows if r]
    if not rows:
        raise NNJError(f"{path}: the file is empty")
    header = None
    if not _numeric_row(rows[0]):
        header, rows = rows[0], rows[1:]
    if header and feature_names:
        missing = [f for f in feature_names if f not in header]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise NNJError(f"{path}: missing required column(s): {shown}")
        order = [header.index(f) for f in feature_names]
        rows = [[r[i] for i in order] for r in rows]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        line = next(i for i, r in enumerate(rows) if len(r) != len(rows[0]))
        raise NNJError(
            f"{path}: row {line + 1} has {len(rows[line])} values but row 1 has {len(rows[0])}; "
            "every row needs one value per feature"
        )
    try:
        return np.asarray([[float(v) for v in r] for r in rows], dtype=np.float32)
    except ValueError as err:
        raise NNJError(f"{path}: every value must be a number ({err})") from None


def _numeric_row(row: list[str]) -> bool:
    try:
        [float(v) for v in row]
        return True
    except ValueError:
        return False


def write_predictions(path: Path, trained: TrainedModel, x: Any) -> int:
    pred = trained.predict(x)
    lines = io.StringIO()
    writer = csv.writer(lines)
    if hasattr(trained.task, "proba"):  # classifiers: a probability per class
        proba = trained.predict_proba(x)
        names = trained.info.class_names or [str(i) for i in range(proba.shape[1])]
        writer.writerow(["prediction", *[f"proba_{n}" for n in names]])
        for p, row in zip(pred, proba, strict=True):
            writer.writerow([p, *[f"{v:.6f}" for v in row]])
    else:
        writer.writerow(["prediction"])
        writer.writerows([[f"{v:.6g}"] for v in pred])
    atomic_write_text(path, lines.getvalue())
    return len(pred)
