"""Regression: one output per example, MSE (or MAE / Huber) loss; baselines are the mean,
linear regression and boosted trees."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.evaluation.baselines import run_baselines
from nnjournal.evaluation.metrics import REGRESSION_DIRECTIONS, regression_metrics
from nnjournal.tasks.base import SupervisedTask

LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}


class Regression(SupervisedTask):
    name = "regression"
    headline = "rmse"
    score_name = None
    directions = REGRESSION_DIRECTIONS
    data_kind = "regression"
    ensemble_outputs = "values"  # members' outputs are averaged
    report_metrics = ["rmse", "mae", "mse", "r2", "adjusted_r2"]
    out_features = 1

    def __init__(self, n_features: int, loss: str = "mse") -> None:
        self.n_features = n_features
        self.loss_name = loss
        self._loss = LOSSES[loss]

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> Regression:
        return cls(info.n_features, getattr(section, "loss", "mse"))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self._loss(outputs.squeeze(1), targets)

    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        return outputs.detach().float().cpu().squeeze(1).numpy()

    def metrics(self, targets: np.ndarray, outputs: torch.Tensor) -> dict[str, float]:
        return regression_metrics(targets, self.predict(outputs), self.n_features)

    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return run_baselines(bundle, False, cfg.evaluation.baselines, cfg.seed)
