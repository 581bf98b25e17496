"""Plain arrays handed to `fit(model, (x, y), (x_val, y_val))`: read as a `Split`, and checked
so that a mistake is one `NNJError` naming the array, not an IndexError or a matrix-shape
RuntimeError from inside the first step.

What is accepted: numpy arrays, torch tensors, nested lists and pandas frames / series; class
labels as integers, as whole floats (`1.0`, as pandas reads a column with blanks dropped) or
one-hot rows (as Keras takes them). What is refused, before any training: rows that differ
between x and y, non-finite inputs, text labels, labels the model has no output for, and
inputs the model cannot take (tried on one row, with the RNG state put back)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch
from torch import nn

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError


def as_split(data: Any, name: str, task: str | None) -> Split:
    """`(x, y)` as a float32 `Split`: y as class labels for `task` "classification", as one
    number per row for "regression", as given otherwise; `name` ("training", "validation")
    for messages."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise NNJError(f"the {name} data must be a Split or a pair (x, y); got {type(data).__name__}")
    x, y = (_as_array(v, f"{name} {part}") for v, part in zip(data, ("x", "y"), strict=True))
    if name == "training" and not len(x):
        raise NNJError("the training data has no rows")
    if len(x) != len(y):
        raise NNJError(
            f"the {name} data has {len(x)} rows in x but {len(y)} in y; give one target per row of x"
        )
    if x.dtype.kind not in "biuf":
        raise NNJError(f"the {name} x holds {x.dtype} values, not numbers; encode them as numbers first")
    bad = ~np.isfinite(x) if x.dtype.kind == "f" else None  # (integers are finite; no float64 copy)
    if bad is not None and bad.any():
        at = np.argwhere(bad)[0]
        raise NNJError(
            f"the {name} x holds {int(bad.sum())} NaN or infinite value(s), the first at row {at[0]}"
            f"{', column ' + str(at[1]) if len(at) > 1 else ''}: fill or drop them before training"
        )
    if task == "classification":
        y = _class_labels(y, name)
    elif task == "regression":
        y = _one_target(y, name)
    return Split(torch.as_tensor(_writable(x), dtype=torch.float32), torch.as_tensor(_writable(y)))


def check_fits(model: nn.Module, task: Any, train: Split, val: Split | None) -> None:
    """The model takes one training row and gives as many outputs as the task needs; the
    validation rows have the training rows' shape. One forward pass in evaluation mode on one
    row, its randomness undone, so training draws exactly what it would have."""
    if val is not None and tuple(val.x.shape[1:]) != tuple(train.x.shape[1:]):
        raise NNJError(
            f"the validation x has rows of shape {tuple(val.x.shape[1:])}, the training x {tuple(train.x.shape[1:])}"
        )
    if not len(train):
        return
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            model.eval()
            first = next(model.parameters(), torch.zeros(())).device
            out = model(train.x[:1].to(first))
    except RuntimeError as err:
        raise NNJError(
            f"the model cannot take the training rows of shape {tuple(train.x.shape[1:])}: "
            f"{str(err).strip().splitlines()[0]}; check the first layer's input size"
        ) from None
    finally:
        model.train(was_training)
    wanted = getattr(task, "out_features", None)
    if isinstance(out, torch.Tensor) and out.dim() == 2 and wanted and out.shape[1] != wanted:
        n_classes = getattr(task, "n_classes", None)
        labels = f" for the labels 0..{n_classes - 1} in y (two classes take one output)" if n_classes else ""
        raise NNJError(
            f"the model gives {out.shape[1]} output(s) per row but the {task.name} task needs {wanted}{labels}: "
            "change the last layer's size"
        )


def _as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)  # a list, a DataFrame or Series (its values)
    except ValueError as err:  # ragged lists
        raise NNJError(f"the {what} cannot be read as one array: {err}") from None


def _writable(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else a.copy()  # (a pandas frame's values may be read-only)


def _one_target(y: np.ndarray, name: str) -> np.ndarray:
    """One number per row: a column vector (n, 1) is raveled. Kept as (n, 1), the loss would
    broadcast it against the (n,) predictions into an (n, n) matrix of wrong differences."""
    if y.dtype.kind not in "biuf":
        raise NNJError(f"the {name} y holds {y.dtype} values; a regression target must be numbers")
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim != 1:
        raise NNJError(f"the {name} y has shape {y.shape}; the regression task takes one target per row (n,)")
    return y


def _class_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Integer labels from integers, whole floats or one-hot rows."""
    if y.ndim == 2 and y.shape[1] > 1 and len(y) and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all():
        return y.argmax(axis=1)  # one-hot rows, as Keras takes them
    if y.dtype.kind == "O":  # a pandas column of Python ints (or text)
        with contextlib.suppress(TypeError, ValueError):
            y = y.astype(np.float64)
    if y.dtype.kind in "OUS":
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(y.ravel().tolist()))[:3])
        raise NNJError(
            f"the {name} y holds text labels ({shown}, ...): give class numbers 0..k-1 (e.g. "
            "sklearn.preprocessing.LabelEncoder), or use nnjournal.sklearn.NeuralClassifier, which takes any labels"
        )
    if y.dtype.kind == "f" and len(y):
        odd = y[~np.isfinite(y) | (y != np.round(y))].ravel()
        if len(odd):
            raise NNJError(
                f"the {name} y holds values that are no class numbers, such as {odd[0]:g}: "
                "a classifier needs class numbers 0..k-1; pass task='regression' for a numeric target"
            )
        y = y.astype(np.int64)
    if y.dtype.kind in "iu" and len(y) and y.min() < 0:
        raise NNJError(f"the {name} y holds the label {int(y.min())}: class labels are numbers 0..k-1")
    return y
