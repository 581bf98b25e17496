"""What a training leaves behind: per-epoch records and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Per-epoch records (train/val loss and metrics, lr, time) and how training ended."""

    records: list[dict[str, Any]] = field(default_factory=list)
    monitor: str = "val_loss"
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    restored_best: bool = False
    train_time_s: float = 0.0
    threads: int | None = None  # CPU threads training used (training.threads); None on a GPU

    def series(self, key: str) -> list[float]:
        return [r[key] for r in self.records if key in r]

    def to_dict(self) -> dict[str, Any]:
        """How training ended; deterministic for a seed (the wall time is kept apart)."""
        return {
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stopped_early": self.stopped_early,
            "restored_best": self.restored_best,
            "epochs_run": len(self.records),
            "threads": self.threads,
        }

    def state(self) -> dict[str, Any]:
        """Everything a checkpoint needs to continue this history."""
        return {
            "records": self.records,
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stopped_early": self.stopped_early,
            "train_time_s": self.train_time_s,
        }
