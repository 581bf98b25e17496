"""Tasks: classification and regression. `get(name, info)` builds one for a data set."""

from __future__ import annotations

from nnjournal.data.bundle import DataInfo
from nnjournal.tasks.base import Task
from nnjournal.tasks.classification import Classification
from nnjournal.tasks.regression import Regression

__all__ = ["Task", "Classification", "Regression", "get"]


def get(name: str, info: DataInfo, class_weights: list[float] | None = None) -> Task:
    """The task `name` for data described by `info`; `class_weights` weight the
    classification loss per class."""
    if name == "classification":
        if info.n_classes is None:
            from nnjournal.errors import NNJError

            raise NNJError(f"data set {info.name!r} has no class labels; use task.name='regression'")
        return Classification(info.n_classes, class_weights)
    if name == "regression":
        return Regression(info.n_features)
    raise ValueError(f"unknown task {name!r}")
