"""A rich progress bar over epochs, shown only on a terminal and never in quiet mode."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class EpochProgress:
    def __init__(self, epochs: int, label: str, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._progress: Progress | None = None
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(label, total=epochs, status="")
            self._progress.start()

    def update(self, epoch: int, record: dict[str, Any]) -> None:
        if self._progress is None:
            return
        shown = [f"{k}={v:.4g}" for k, v in record.items() if k in ("train_loss", "val_loss", "val_accuracy")]
        self._progress.update(self._task, completed=epoch + 1, status=" ".join(shown))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
