"""Binary and multi-class classification.

Two classes use one output logit with binary cross-entropy (sigmoid inside the loss, for
numerical stability); more classes use `k` logits with categorical cross-entropy (softmax
inside the loss)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.evaluation.metrics import classification_metrics


class Classification:
    name = "classification"
    headline = "accuracy"
    score_name = "accuracy"

    def __init__(self, n_classes: int) -> None:
        if n_classes < 2:
            raise ValueError(f"classification needs at least 2 classes, got {n_classes}")
        self.n_classes = n_classes
        self.binary = n_classes == 2
        self.out_features = 1 if self.binary else n_classes

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.binary:
            return F.binary_cross_entropy_with_logits(outputs.squeeze(1), targets.to(outputs.dtype))
        return F.cross_entropy(outputs, targets)

    def batch_score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.binary:
            return ((outputs.squeeze(1) > 0) == targets.bool()).sum()
        return (outputs.argmax(1) == targets).sum()

    def proba(self, outputs: torch.Tensor) -> np.ndarray:
        """(n, k) class probabilities."""
        outputs = outputs.detach().float().cpu()
        if self.binary:
            p1 = torch.sigmoid(outputs.squeeze(1))
            return torch.stack([1 - p1, p1], dim=1).numpy()
        return torch.softmax(outputs, dim=1).numpy()

    def predict(self, outputs: torch.Tensor) -> np.ndarray:
        return self.proba(outputs).argmax(axis=1)

    def metrics(self, targets: np.ndarray, outputs: torch.Tensor) -> dict[str, float]:
        return classification_metrics(targets, self.proba(outputs))
