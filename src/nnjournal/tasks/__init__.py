"""Tasks: what kind of problem a model solves (see `tasks/base.py` for the protocol).

`TASKS` maps a `[task] name` to its class; `build_task(section, info, bundle)` makes one for
a data set. A task defined elsewhere (a test, a user's module) joins with `register`."""

from __future__ import annotations

from typing import Any

from nnjournal.config.task import TASK_SECTIONS, TaskSection, task_section
from nnjournal.data.bundle import DataBundle, DataInfo
from nnjournal.tasks.base import StepOutput, SupervisedTask, Task, direction
from nnjournal.tasks.classification import Classification
from nnjournal.tasks.gan import GANTask
from nnjournal.tasks.reconstruction import Reconstruction
from nnjournal.tasks.regression import Regression
from nnjournal.tasks.vae import VAETask

__all__ = [
    "TASKS",
    "Classification",
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
]

TASKS: dict[str, Any] = {
    "classification": Classification,
    "regression": Regression,
    "reconstruction": Reconstruction,
    "vae": VAETask,
    "gan": GANTask,  # GAN (issue 13)
}


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
