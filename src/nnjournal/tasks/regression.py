"""Regression: one output per example, MSE (or MAE / Huber) loss."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.evaluation.metrics import regression_metrics

LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}


class Regression:
    name = "regression"
    headline = "rmse"
    score_name = None
    out_features = 1

    def __init__(self, n_features: int, loss: str = "mse") -> None:
        self.n_features = n_features
        self._loss = LOSSES[loss]

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self._loss(outputs.squeeze(1), targets)

    def batch_score(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        return None

    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        return outputs.detach().float().cpu().squeeze(1).numpy()

    def metrics(self, targets: np.ndarray, outputs: torch.Tensor) -> dict[str, float]:
        return regression_metrics(targets, self.predict(outputs), self.n_features)
