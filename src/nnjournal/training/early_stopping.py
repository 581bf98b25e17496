"""Early stopping: watch one per-epoch number, remember the best epoch, stop after `patience`
epochs without improvement. Which way is better comes from the task (`Task.directions`),
never from the metric's name."""

from __future__ import annotations

import math
from typing import Any

from nnjournal.config import EarlyStoppingConfig
from nnjournal.errors import NNJError
from nnjournal.tasks.base import direction


def monitor_choices(task: Any, has_val: bool) -> list[str]:
    """The per-epoch numbers early stopping can watch for this task."""
    splits = ["train", "val"] if has_val else ["train"]
    names = getattr(task, "logged", None) or (
        ["loss"] + ([task.score_name] if getattr(task, "score_name", None) else [])
    )
    return [f"{split}_{name}" for split in splits for name in names]


def check_monitor(monitor: str, task: Any, has_val: bool) -> None:
    """Refuse, before the first epoch, an early-stopping monitor no epoch will record."""
    choices = monitor_choices(task, has_val)
    if monitor not in choices:
        raise NNJError(
            f"training.early_stopping.monitor = {monitor!r} is not recorded for this task; "
            f"choose from {', '.join(choices)}"
        )


class EarlyStopping:
    """The best value so far, and epochs waited since. `minimize` follows the task's direction
    for the monitor unless `cfg.mode` says min or max."""

    def __init__(self, cfg: EarlyStoppingConfig, monitor: str, task: Any) -> None:
        self.cfg, self.monitor = cfg, monitor
        self.minimize = direction(task, monitor) == "min" if cfg.mode == "auto" else cfg.mode == "min"
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.waited = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record epoch `epoch` (1-based); True when it is the best so far."""
        if self.improved(value):
            self.best_epoch, self.best_value, self.waited = epoch, value, 0
            return True
        self.waited += 1
        return False

    def improved(self, value: float) -> bool:
        if self.best_value is None:
            return not math.isnan(value)
        d = self.cfg.min_delta
        return value < self.best_value - d if self.minimize else value > self.best_value + d

    @property
    def should_stop(self) -> bool:
        return self.cfg.patience is not None and self.waited >= self.cfg.patience
