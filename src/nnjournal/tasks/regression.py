"""Regression: one output per example, MSE (or MAE / Huber) loss; baselines are the mean,
ridge regression and boosted trees.

The network learns the target standardised on the training split: it outputs
z = (y - mean) / std, the loss compares z with the standardised targets, and `predict` maps
z back to the target's own units. A target in the hundreds of thousands then trains like one
near 1 (a raw one gives losses of 1e10 and a first layer that cannot keep up). The mean and
std are saved with the model (`fitted`, in model.json's task section)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.evaluation.baselines import KINDS as BASELINE_KINDS
from nnjournal.evaluation.baselines import run_baselines
from nnjournal.evaluation.metrics import (
    ADJUSTED_R2_ROWS_PER_FEATURE,
    REGRESSION_DIRECTIONS,
    regression_metrics,
)
from nnjournal.tasks.base import SupervisedTask

LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}  # huber: delta 1 std of y


class Regression(SupervisedTask):
    name = "regression"
    headline = "rmse"
    score_name = None
    directions = REGRESSION_DIRECTIONS
    data_kind = "regression"
    ensemble_outputs = "values"  # members' outputs are averaged (z is linear in y, so either scale)
    baseline_names = BASELINE_KINDS
    evaluation_options = frozenset({"permutation_importance"})
    report_metrics = ["rmse", "mae", "mse", "r2", "adjusted_r2"]
    out_features = 1

    def __init__(
        self, n_features: int, loss: str = "mse", target_mean: float = 0.0, target_std: float = 1.0
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"task.loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
        self.n_features = n_features
        self.loss_name = loss
        self._loss = LOSSES[loss]
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> Regression:
        """With the training data (`bundle`), the target's scaling is fitted on its training split."""
        task = cls(info.n_features, getattr(section, "loss", "mse"))
        if bundle is not None and len(bundle.train):
            task.restore(target_scaling(bundle.train.y.cpu().numpy()))
        return task

    def fitted(self) -> dict[str, Any]:
        return {"target_mean": self.target_mean, "target_std": self.target_std}

    def restore(self, fitted: dict[str, Any]) -> None:
        self.target_mean = float(fitted.get("target_mean", 0.0))
        self.target_std = float(fitted.get("target_std", 1.0))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        z = (targets - self.target_mean) / self.target_std
        return self._loss(outputs.squeeze(1), z.to(outputs.dtype))

    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        """Predictions in the target's own units (float64: a mean of 1e5 keeps its decimals)."""
        z = outputs.detach().double().cpu().squeeze(1).numpy()
        return z * self.target_std + self.target_mean

    def metrics(self, targets: np.ndarray, outputs: torch.Tensor) -> dict[str, float]:
        return regression_metrics(targets, self.predict(outputs), self.n_features)

    def pooled_metrics(self, parts: list[tuple[Regression, np.ndarray, torch.Tensor]]) -> dict[str, float]:
        """Metrics of several models' held-out outputs taken together (leave-one-out's folds);
        `parts` are (the fold's task, targets, outputs). Each fold's outputs are mapped back to
        the target's units by the task trained on that fold (its own target mean and std)."""
        y = np.concatenate([y for _, y, _ in parts])
        return regression_metrics(y, np.concatenate([t.predict(o) for t, _, o in parts]), self.n_features)

    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return run_baselines(bundle, False, cfg.evaluation.baselines, cfg.seed)

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        tests = [v["test"] for v in summary["variants"].values()]
        if not any(np.isnan(t.get("adjusted_r2", 0.0)) for t in tests):
            return []
        return [
            f"Adjusted R² is n/a: the test split has fewer than {ADJUSTED_R2_ROWS_PER_FEATURE} rows per feature "
            f"({self.n_features} features after encoding), where its correction (n - 1)/(n - p - 1) measures "
            "the split's size more than the model; compare R² and RMSE instead."
        ]


def target_scaling(y: np.ndarray) -> dict[str, float]:
    """The training targets' mean and standard deviation (1 for a constant target)."""
    y = np.asarray(y, dtype=np.float64)
    std = float(y.std())
    return {"target_mean": float(y.mean()), "target_std": std if std > 1e-12 else 1.0}
