"""Binary and multi-class classification.

Two classes use one output logit with binary cross-entropy (sigmoid inside the loss, for
numerical stability); more classes use `k` logits with categorical cross-entropy (softmax
inside the loss)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.evaluation.metrics import classification_metrics


class Classification:
    name = "classification"
    headline = "accuracy"
    score_name = "accuracy"

    def __init__(self, n_classes: int, class_weights: Sequence[float] | None = None) -> None:
        """`class_weights` (one per class) scale each example's loss by its class's weight,
        e.g. "balanced" weights n / (k * count) for imbalanced data."""
        if n_classes < 2:
            raise ValueError(f"classification needs at least 2 classes, got {n_classes}")
        self.n_classes = n_classes
        self.binary = n_classes == 2
        self.out_features = 1 if self.binary else n_classes
        self.class_weights = (
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        )

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.class_weights is not None:
            if self.class_weights.device != outputs.device:
                self.class_weights = self.class_weights.to(outputs.device)
            if self.binary:
                per_example = F.binary_cross_entropy_with_logits(
                    outputs.squeeze(1), targets.to(outputs.dtype), reduction="none"
                )
            else:
                per_example = F.cross_entropy(outputs, targets, reduction="none")
            # Mean over examples (not over weights), so the loss keeps its scale.
            return (per_example * self.class_weights[targets]).mean()
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
