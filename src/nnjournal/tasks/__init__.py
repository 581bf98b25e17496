"""Tasks: what kind of problem a model solves (see `tasks/base.py` for the protocol).

`TASKS` maps a `[task] name` to its class; `build_task(section, info, bundle)` makes one for
a data set. A task defined elsewhere (a test, a user's module) joins with `register`."""

from __future__ import annotations

from typing import Any

from nnjournal.config.task import TASK_SECTIONS, TaskSection, task_section
from nnjournal.data.bundle import DataBundle, DataInfo
from nnjournal.tasks.base import StepOutput, SupervisedTask, Task, direction
from nnjournal.tasks.classification import Classification
from nnjournal.tasks.compression import Compression  # issue 18
from nnjournal.tasks.forecasting import Forecasting  # recurrent (issue 12)
from nnjournal.tasks.gan import GANTask
from nnjournal.tasks.imputation import Imputation
from nnjournal.tasks.language_model import LanguageModel
from nnjournal.tasks.reconstruction import Reconstruction
from nnjournal.tasks.regression import Regression
from nnjournal.tasks.segmentation import Segmentation
from nnjournal.tasks.seq2seq import Seq2SeqTask
from nnjournal.tasks.sequence_classification import SequenceClassification, SequenceTagging
from nnjournal.tasks.sequence_regression import SequenceRegression
from nnjournal.tasks.vae import VAETask

__all__ = [
    "TASKS",
    "Classification",
    "Compression",
    "GANTask",
    "Reconstruction",
    "Regression",
    "StepOutput",
    "SupervisedTask",
    "Task",
    "VAETask",
    "build_task",
    "direction",
    "register",
    "task_class",
    "task_for_arrays",
]

TASKS: dict[str, Any] = {
    "classification": Classification,
    "regression": Regression,
    "reconstruction": Reconstruction,
    "imputation": Imputation,  # autoencoders on tables (issue 18)
    "compression": Compression,  # issue 18
    "vae": VAETask,
    "gan": GANTask,  # GAN (issue 13)
    "segmentation": Segmentation,  # segmentation (issue 18)
}

# ---------------------------------------------------------------------------- recurrent (issue 12)
TASKS.update({
    "language-model": LanguageModel,
    "sequence-classification": SequenceClassification,
    "sequence-tagging": SequenceTagging,
    "sequence-regression": SequenceRegression,
    "forecasting": Forecasting,
    "seq2seq": Seq2SeqTask,
})


def register(name: str, task_cls: Any, section_cls: type[TaskSection]) -> None:
    """Make `[task] name = "<name>"` build `task_cls.from_config(section, info, bundle)`;
    `section_cls` (a `TaskSection` subclass) validates the recipe's `[task]` table."""
    TASKS[name] = task_cls
    TASK_SECTIONS[name] = section_cls


def task_class(section: TaskSection | dict[str, Any] | str) -> Any:
    name = section if isinstance(section, str) else task_section(section).name
    return TASKS[name]


def build_task(
    section: TaskSection | dict[str, Any] | str, info: DataInfo, bundle: DataBundle | None = None
) -> Task:
    """The task named by `section` (its `[task]` table, or just a name) for data described by
    `info`; `bundle` is the training data where the task needs it (balanced class weights)."""
    section = task_section({"name": section} if isinstance(section, str) else section)
    return TASKS[section.name].from_config(section, info, bundle)


def task_for_arrays(name: str, x: Any, y: Any) -> Task:
    """The task `name` for plain arrays (`fit(model, (x, y), task="classification")`): class
    labels 0..k-1 give k classes."""
    shape = tuple(x.shape[1:])
    if task_class(name).data_kind == "classification" and len(y) and not y.is_floating_point():
        info = DataInfo("arrays", shape, n_classes=max(int(y.max()) + 1, 2))
    else:
        info = DataInfo("arrays", shape)
    return build_task(name, info)
