"""Tasks: classification and regression. `get(name, info)` builds one for a data set."""

from __future__ import annotations

from typing import Any

from nnjournal.data.bundle import DataInfo
from nnjournal.tasks.base import Task
from nnjournal.tasks.classification import Classification
from nnjournal.tasks.reconstruction import Reconstruction
from nnjournal.tasks.regression import Regression
from nnjournal.tasks.vae import VAETask

__all__ = ["Task", "Classification", "Regression", "Reconstruction", "VAETask", "get"]

# Tasks whose targets are the inputs themselves (autoencoders).
RECONSTRUCTION_TASKS = ("reconstruction", "vae")


def get(name: str | Any, info: DataInfo, class_weights: list[float] | None = None) -> Task:
    """The task `name` (or a `TaskConfig`, whose options the reconstruction tasks read) for
    data described by `info`; `class_weights` weight the classification loss per class."""
    opts = name if not isinstance(name, str) else None
    name = name if isinstance(name, str) else name.name
    if name == "reconstruction":
        if opts is None:
            return Reconstruction(info)
        return Reconstruction(info, opts.loss, opts.normal_class, opts.input_transform)
    if name == "vae":
        if opts is None:
            return VAETask(info)
        return VAETask(info, opts.likelihood, opts.gaussian_std, opts.beta)
    if name == "classification":
        if info.n_classes is None:
            from nnjournal.errors import NNJError

            raise NNJError(f"data set {info.name!r} has no class labels; use task.name='regression'")
        return Classification(info.n_classes, class_weights)
    if name == "regression":
        return Regression(info.n_features)
    raise ValueError(f"unknown task {name!r}")
