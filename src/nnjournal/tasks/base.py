"""A task knows how model outputs become a loss, predictions and metrics, so the trainer
never branches on what kind of problem it is solving."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch


class Task(Protocol):
    name: str
    headline: str  # the metric a report leads with
    score_name: str | None  # what `batch_score` sums, tracked per epoch as train_/val_<name>
    out_features: int

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean data loss over the batch (penalties are added by the trainer)."""

    def batch_score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
        """Sum over the batch of a per-example score tracked while training (correct
        predictions -> accuracy), or None when `score_name` is None."""

    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        """Predicted labels (classification) or values (regression)."""

    def metrics(self, targets: np.ndarray, outputs: torch.Tensor) -> dict[str, float]:
        """The task's default metrics on a whole split."""
