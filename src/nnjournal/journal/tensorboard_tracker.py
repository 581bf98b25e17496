"""TensorBoard for `training.loggers`: event files under RUN/tensorboard (or
`training.tensorboard_dir`/RUN_NAME), one folder per variant when a run has several, so
`tensorboard --logdir runs` shows every run and variant side by side. Written with PyTorch's
`SummaryWriter` (needs the `tensorboard` package: `pip install 'nnjournal[tensorboard]'`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

FLUSH_S = 5


def tensorboard_root(cfg: Any, run_dir: Path) -> Path:
    """Where a run's event files go."""
    custom = cfg.training.tensorboard_dir
    return Path(custom) / run_dir.name if custom else run_dir / "tensorboard"


class TensorBoardRun:
    def __init__(self, cfg: Any, run_dir: Path, *, nested: bool) -> None:
        self.root = tensorboard_root(cfg, run_dir)
        self.nested = nested

    def variant(self, name: str) -> TensorBoardSink:
        return TensorBoardSink(self.root / name if self.nested else self.root)

    def finish(self, files: dict[str, Path]) -> None:  # TensorBoard keeps no files
        pass

    def close(self, status: str) -> None:
        pass


class TensorBoardSink:
    """One variant: scalars and histograms per epoch (step = epoch), the config and the
    test metrics in the HParams dashboard."""

    histograms = True

    def __init__(self, folder: Path) -> None:
        # The writer's thread flushes every FLUSH_S, so a live `tensorboard` follows the run
        # without a file flush per (possibly tiny) epoch.
        self.writer = SummaryWriter(log_dir=str(folder), flush_secs=FLUSH_S)
        self.flat: dict[str, Any] = {}
        self.step = 0

    def params(self, flat: dict[str, Any]) -> None:
        self.flat = flat  # written with the metrics at the end: HParams pairs them in one summary

    def epoch(self, step: int, scalars: dict[str, float], histograms: dict[str, np.ndarray]) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)
        for tag, values in histograms.items():
            if values.size:
                self.writer.add_histogram(tag, values, step)
        self.step = step

    def finish(self, metrics: dict[str, float], files: dict[str, Path]) -> None:
        # What `SummaryWriter.add_hparams` writes, but into this folder rather than a new
        # timestamped one, so a variant's curves and its hyperparameters stay one run.
        for summary in hparams(self.flat, metrics):
            self.writer.file_writer.add_summary(summary, self.step)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, self.step)

    def close(self, status: str) -> None:
        self.writer.close()
