"""Reading inputs for `nnj predict` and writing predictions. CSV (with or without a header
row) and .npy/.npz arrays; arrays are read with allow_pickle=False. Tabular models read a
CSV as named raw columns, exactly as their training file was read; image models also read an
image file or a folder of them, decoded as their training images were.

The output has one row per input: the columns that say which input it was (an image's path,
a table's identifier columns), the prediction, and a probability per class; numbers are
written in full (the shortest text that reads back to the same float)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from nnjournal.data.csv_table import Table, blank_rows_left_out, read_table
from nnjournal.data.image_files import IMAGE_SUFFIXES, files_under, is_image_file
from nnjournal.data.image_folder import decode_image
from nnjournal.data.spelling import closest_name
from nnjournal.data.tabular_encoding import OTHER, as_columns, is_missing
from nnjournal.data.written_dates import as_written as as_written_date
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_text
from nnjournal.saved_model import TrainedModel

ARRAY_SUFFIXES = (".npy", ".npz")


@dataclass
class Inputs:
    """What `nnj predict` feeds the model: `x` (an array, a `Table`, or uint8 pixels when
    `pixels`), and `ids`, columns copied to the output before the predictions."""

    x: Any
    ids: dict[str, list[str]] = field(default_factory=dict)
    pixels: bool = False
    series: bool = False  # x is one series (a forecaster's input), forecast from its end
    notes: list[str] = field(default_factory=list)  # what `nnj predict` says on stderr of the file


def skipped_rows_note(inputs: Inputs) -> str | None:
    """What `nnj predict` says when the output has fewer rows than the CSV has lines of data."""
    if isinstance(inputs.x, Table) and inputs.x.blank_lines:
        return f"note: {blank_rows_left_out(inputs.x)}, so the output has no row for them"
    return None


def unseen_categories_note(trained: TrainedModel, inputs: Inputs) -> str | None:
    """What `nnj predict` says of category values the model never learned (a new plan name, a
    typo): they are predicted as "(other)", or as no category, so the user should know which."""
    find = getattr(trained.preprocessing, "unseen_categories", None)
    if find is None or not isinstance(inputs.x, Table):  # categories come from CSV cells only
        return None
    unseen = find(inputs.x)
    if not unseen:
        return None
    bucketed = {c.name for c in trained.preprocessing.columns if OTHER in c.categories}
    parts = []
    for name, values in unseen.items():
        kinds = sorted(set(values))
        shown = ", ".join(repr(v) for v in kinds[:3]) + (f" and {len(kinds) - 3} more" if len(kinds) > 3 else "")
        read_as = f"read as {OTHER!r}" if name in bucketed else "read as none of its categories"
        parts.append(f"column {name!r}: {len(values)} row(s) with a value the model never learned ({shown}), {read_as}")
    return "note: " + "; ".join(parts) + "; check for typos, or retrain on data that has them"


def model_folder(run_dir: Path, variant: str | None = None) -> Path:
    """Where the model `nnj predict` uses lives: the run directory, or in a multi-model run
    the folder of `variant` (default: the best one)."""
    from nnjournal.journal.run_dir import read_summary

    summary = read_summary(run_dir)
    if variant is not None and variant not in summary["variants"]:
        raise NNJError(f"unknown --variant {variant!r}; this run has {', '.join(summary['variants'])}")
    if len(summary["variants"]) == 1:
        return run_dir
    name = variant or summary["headline"]["variant"]
    if name not in summary["variants"]:
        raise NNJError(f"{run_dir}: the best variant {name!r} is not among {', '.join(summary['variants'])}")
    return run_dir / "variants" / name


def default_output(input_path: Path, suffix: str = "_predictions") -> Path:
    """`new.csv` -> `new_predictions.csv`; a folder `photos/` -> `photos_predictions.csv` beside
    it (`suffix` "_filled" for an imputation model's filled table)."""
    if input_path.is_dir():
        named = input_path.resolve()  # `nnj predict RUN .` has a name
        return named.with_name(named.name + suffix + ".csv")
    return input_path.with_name(input_path.stem + suffix + ".csv")


def inputs_for(path: Path, trained: TrainedModel, *, id_columns: Sequence[str] = ()) -> Inputs:
    """`path` read for `trained`: an image file or folder for an image model, a CSV's named
    columns (plus identifier columns) for a tabular one, else an array. An input of the wrong
    kind for the model is one `NNJError` saying what the model takes."""
    whole = getattr(trained.task, "predicts", None)  # e.g. an image per input: not one CSV value
    if whole is not None:
        raise NNJError(
            f"nnj predict writes one value per input (a class, a number, a forecast, a filled table); this "
            f"{trained.task.name} model returns {whole} per input: apply it in Python "
            "(`nnjournal.load_model(RUN).model`, inputs prepared as in training) or see its report's test examples"
        )
    if hasattr(trained.task, "forecast"):
        if id_columns:
            raise NNJError("--id-column is for tabular models; a forecast's rows are the steps after the series' end")
        return series_input(path, trained)
    if not path.exists():
        raise NNJError(f"input file not found: {path}")
    tabular = trained.preprocessing.kind == "tabular"
    if id_columns and not tabular:
        raise NNJError(
            "--id-column names a column of a CSV with a header row, for tabular models; this model's "
            "predictions are in the order of its inputs" + (" with each image's path" if trained.takes_pixels else "")
        )
    if trained.takes_pixels and (path.is_dir() or is_image_file(path)):
        files, pixels = read_images(path, trained)
        return Inputs(pixels, {"path": [str(f) for f in files]}, pixels=True)
    if is_image_file(path):
        if tabular:
            shown = ", ".join(trained.preprocessing.required_columns[:6])
            raise NNJError(
                f"{path} is an image, but this model was trained on a table: give a CSV file with the columns "
                f"{shown}{', ...' if len(trained.preprocessing.required_columns) > 6 else ''}"
            )
        raise NNJError(
            f"{path} is an image, but this model takes rows of {trained.info.n_features} numbers (a CSV, .npy or "
            ".npz file), not image files"
        )
    decoded = getattr(trained.preprocessing, "decode", None)
    if decoded is not None and not path.is_dir() and path.suffix.lower() not in ARRAY_SUFFIXES:
        raise NNJError(
            f"{path}: this model was trained on image files; give an image ({', '.join(IMAGE_SUFFIXES)}) or a "
            "folder of images"
        )
    required = trained.preprocessing.required_columns if tabular else ()
    x = read_inputs(
        path,
        trained.info.feature_names,
        table=tabular,
        required_columns=required,
        missing_values=getattr(trained.preprocessing, "missing_values", ()),
    )
    if not tabular:
        return Inputs(x)
    if id_columns:
        unknown = [c for c in id_columns if c not in x.columns]
        if unknown:
            raise NNJError(
                f"{path}: --id-column {unknown[0]!r} is not a column of the file; its columns are "
                f"{', '.join(list(x.columns)[:10])}{' ...' if len(x.columns) > 10 else ''}"
            )
    else:  # the training file's identifier columns, where this file has them
        id_columns = [c for c in trained.preprocessing.id_columns if c in x.columns]
    return Inputs(x, {c: x.as_written.get(c, x.columns[c]) for c in id_columns})  # copied as in the file


def image_files(path: Path) -> list[Path]:
    """`[path]`, or the image files anywhere under the folder `path`, sorted."""
    if not path.is_dir():
        return [path]
    found, _ = files_under(path)  # hidden files skipped, as in training
    if not found:
        raise NNJError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in the folder or its sub-folders")
    return found


def read_images(
    path: Path,
    trained: TrainedModel,
    *,
    shape: tuple[int, ...] | None = None,
    decode: dict[str, Any] | None = None,
) -> tuple[list[Path], np.ndarray]:
    """The image files of `path` and their uint8 (n, C, H, W) pixels, decoded as the model's
    training images were: the image-folder loader's size, resize and colour where the model
    came from image files, else stretched to the model's size in its channels. Any file that
    does not decode is an error naming it (nothing is predicted). `shape` and `decode` (an
    image-to-image model: its targets') replace the model input's."""
    channels, height, width = shape or trained.info.input_shape
    decode = (decode if shape is not None else trained.preprocessing.decode) or {}
    resize = decode.get("resize", "stretch")
    color = decode.get("color", "rgb" if channels == 3 else "grayscale")
    if height != width or channels not in (1, 3) or resize not in ("stretch", "crop") or color not in ("rgb", "grayscale"):
        raise NNJError(
            f"this model takes {channels}x{height}x{width} images, which nnj predict cannot make from image files "
            f"({resize}, {color}); give the pixels as a .npy array"
        )
    files = image_files(path)
    images, bad = [], []
    for f in files:
        try:
            images.append(decode_image(f, height, resize, color))
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, NNJError) as err:
            bad.append(f"{f} is not a readable image ({str(err).removeprefix(f'{f}: ')})")
    if bad:
        others = f"; {len(bad) - 1} more of the {len(files)} files are not either" if len(bad) > 1 else ""
        raise NNJError(f"{bad[0]}{others}; fix or remove the file and run again")
    return files, np.stack(images)


def read_inputs(
    path: Path,
    feature_names: list[str] | None,
    *,
    table: bool = False,
    delimiter: str | None = None,
    required_columns: Sequence[str] = (),
    missing_values: Sequence[str] = (),
) -> Any:
    """An array of numeric inputs, or with `table=True` the CSV's named raw columns (a
    `Table`, its `missing_values` blanked as in training) for a tabular model;
    `required_columns` are checked against its header."""
    if not path.exists():
        raise NNJError(f"input file not found: {path}")
    if path.is_dir():
        kind = "CSV file with named columns" if table else "CSV, .npy or .npz file"
        raise NNJError(f"{path} is a folder; this model takes one {kind} of inputs")
    if table:
        if path.suffix.lower() in (".npy", ".npz"):
            raise NNJError(f"{path}: this model takes a CSV file with named columns, not a numpy array")
        found = read_table(path, delimiter, missing_values)
        missing = [c for c in required_columns if c not in found.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (f" ... ({len(missing)} in all)" if len(missing) > 10 else "")
            others = [c for c in found.columns if c not in required_columns]
            renames = [(c, closest_name(c, others)) for c in missing]
            renamed = "; ".join(f"rename {near!r} to {c!r}" for c, near in renames if near is not None)
            raise NNJError(
                f"{path}: missing required column(s): {shown}; the model was trained on "
                f"{', '.join(list(required_columns)[:10])}{' ...' if len(required_columns) > 10 else ''}"
                + (f" ({renamed})" if renamed else "")
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


def series_input(path: Path, trained: TrainedModel) -> Inputs:
    """A forecaster's input: the series CSV, oldest first, read by the date and value columns
    the model was trained on (a file of just two columns: those two, whatever their names)."""
    from nnjournal.data.timeseries import read_series_file

    if not path.exists():
        raise NNJError(f"input file not found: {path}")
    if path.is_dir() or path.suffix.lower() != ".csv":
        raise NNJError(f"{path}: a forecaster takes the series as a CSV of date, value (oldest first)")
    trained_columns = getattr(trained.task, "columns", None)
    columns: tuple[str | None, str | None] = (None, None)  # the first two
    table = read_table(path)
    if trained_columns is not None:
        header = list(table.columns)
        if all(c in header for c in trained_columns):
            columns = trained_columns
        elif len(header) != 2:
            raise NNJError(
                f"{path}: the forecaster was trained on the values of column {trained_columns[1]!r} (dates "
                f"{trained_columns[0]!r}); this file has columns {', '.join(header)}: name its columns so, or "
                "give a file of just the date and value columns"
            )
    series = read_series_file(path, *columns, table=table)
    dates, values = series.dates, series.values
    notes = [f"note: {series.gaps}"] if series.gaps else []
    return Inputs(values, {"last_date": [dates[-1]]}, series=True, notes=notes)


def predictions_csv(trained: TrainedModel, inputs: Inputs | Any) -> tuple[str, int]:
    """The predictions CSV's text and its number of rows. Numbers are `str` of the value (the
    shortest text that reads back as the same float32/float64), never rounded."""
    if isinstance(inputs, Inputs) and inputs.series:  # one row per step after the series' end
        forecast = trained.forecast(inputs.x)
        steps = {"last_date": inputs.ids["last_date"] * len(forecast), "steps_after": [k + 1 for k in range(len(forecast))]}
        return _rows_csv(steps, forecast), len(forecast)
    if not isinstance(inputs, Inputs):
        inputs = Inputs(inputs)
    if hasattr(trained.task, "filled_table"):  # an imputation model: the table itself, its blanks filled
        return filled_table_csv(trained, inputs.x)
    if not hasattr(trained.task, "predict"):
        raise NNJError(f"nnj predict needs a classification or regression model; this run's task is {trained.task.name}")
    pred = trained.predict(inputs.x, pixels=inputs.pixels)
    if pred.ndim != 1:
        raise NNJError(
            f"nnj predict writes one value per input; this run's task ({trained.task.name}) gives "
            f"{pred.shape[1:]} per input"
        )
    if not hasattr(trained.task, "proba"):
        return _rows_csv(inputs.ids, pred), len(pred)
    # classifiers: a probability per class after the prediction
    ids = list(inputs.ids.items())
    lines = io.StringIO()
    writer = csv.writer(lines)
    proba = trained.predict_proba(inputs.x, pixels=inputs.pixels)
    names = trained.info.class_names or [str(i) for i in range(proba.shape[1])]
    writer.writerow([*(name for name, _ in ids), "prediction", *[f"proba_{n}" for n in names]])
    for i, (p, row) in enumerate(zip(pred, proba, strict=True)):
        writer.writerow([*(values[i] for _, values in ids), p, *[str(v) for v in row]])
    return lines.getvalue(), len(pred)


def filled_table_csv(trained: TrainedModel, table: Any) -> tuple[str, int]:
    """An imputation model's output: the input table with every column in its order and its
    blank cells filled, in the input's delimiter (a `Table`; other column data as CSV)."""
    columns = table.columns if isinstance(table, Table) else as_columns(table)  # a Table's cells as read
    filled, _ = trained.task.filled_table(trained.outputs(columns), columns, trained.preprocessing)
    if isinstance(table, Table):
        filled = {name: _as_written(table, name, cells) for name, cells in filled.items()}
    lines = io.StringIO()
    writer = csv.writer(lines, delimiter=getattr(table, "delimiter", ","))
    writer.writerow(list(filled))
    writer.writerows(zip(*filled.values(), strict=True))
    return lines.getvalue(), len(next(iter(filled.values()), []))


def _as_written(table: Table, name: str, cells: list[str]) -> list[str]:
    """A filled column with the file's own cells where they were not blank ('$1,234.50', not
    the 1234.50 it was read as), and each filled-in number in the column's decimal mark, so
    that the file written reads back the same way."""
    written = table.as_written.get(name)
    if written is None:
        return cells
    if name in table.written_dates:  # a filled-in date in the column's own form
        how = table.written_dates[name]

        def fill(new: str) -> str:
            return new if is_missing(new) else as_written_date(new, how)
    else:
        comma = "decimal comma" in table.written_numbers[name]

        def fill(new: str) -> str:
            return new.replace(".", ",") if comma else new

    return [fill(new) if is_missing(old) else old for old, new in zip(written, cells, strict=True)]


def _rows_csv(ids: dict[str, list[Any]], pred: Any) -> str:
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow([*ids, "prediction"])
    writer.writerows([[*(values[i] for values in ids.values()), str(v)] for i, v in enumerate(pred)])
    return lines.getvalue()


def write_predictions(path: Path, trained: TrainedModel, inputs: Inputs | Any) -> int:
    """Write the predictions CSV atomically (nothing is written if anything fails)."""
    text, n = predictions_csv(trained, inputs)
    atomic_write_text(path, text)
    return n
