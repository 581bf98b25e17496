"""Binary and multi-class classification.

Two classes use one output logit with binary cross-entropy (sigmoid inside the loss, for
numerical stability); more classes use `k` logits with categorical cross-entropy (softmax
inside the loss). The journal side (baselines, confusion matrices, ROC/PR curves, the decision
threshold, misclassified images) lives in `tasks/classification_journal.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.errors import NNJError
from nnjournal.evaluation.baselines import KINDS as BASELINE_KINDS
from nnjournal.evaluation.metrics import (
    CLASSIFICATION_DIRECTIONS,
    IMBALANCED_SHARE,
    classification_metrics,
    majority_share,
)
from nnjournal.tasks import classification_journal as journal
from nnjournal.tasks.base import SupervisedTask

REPORT_METRICS = [
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "roc_auc",
    "log_loss",
]  # the report's table; the headline goes first


class Classification(SupervisedTask):
    name = "classification"
    headline = "accuracy"
    score_name = "accuracy"
    directions = CLASSIFICATION_DIRECTIONS
    data_kind = "classification"
    ensemble_outputs = "logits"  # members' probabilities are combined
    baseline_names = BASELINE_KINDS
    evaluation_options = frozenset({"threshold", "permutation_importance", "mc_dropout"})

    @property
    def report_metrics(self) -> list[str]:
        """The table's metrics, the headline first (it may be chosen per data set)."""
        return [self.headline, *(m for m in REPORT_METRICS if m != self.headline)]

    def __init__(self, n_classes: int, class_weights: Sequence[float] | None = None) -> None:
        """`class_weights` (one per class) scale each example's loss by its class's weight,
        e.g. "balanced" weights n / (k * count) for imbalanced data."""
        if n_classes < 2:
            raise NNJError(
                f"classification needs at least 2 classes, got {n_classes}: check the target column, or for "
                "an image folder sort the images into one sub-folder per class (data.classes = true)"
            )
        self.n_classes = n_classes
        self.binary = n_classes == 2
        self.out_features = 1 if self.binary else n_classes
        self.class_weights = (
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        )

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> Classification:
        if info.n_classes is None:
            raise NNJError(f"data set {info.name!r} has no class labels; use task.name='regression'")
        weights = None
        if section.class_weight == "balanced" and bundle is not None:
            weights = balanced_class_weights(bundle.train.y.cpu().numpy(), info.n_classes)
        task = cls(info.n_classes, weights)
        headline = getattr(section, "headline", "auto")
        if headline == "f1" and not task.binary:
            raise NNJError(
                f"task.headline: 'f1' is the positive class's F1, for two classes; this data set has "
                f"{info.n_classes} (use 'f1_macro')"
            )
        if bundle is not None and bundle.train.y.ndim != 1:  # a text's windows, a date's characters
            raise NNJError(
                f"task.name = 'classification' needs one label per example; this data ({info.name}) has "
                f"{tuple(bundle.train.y.shape[1:])} targets per example: use its sequence task (nnj show RECIPE)"
            )
        if headline == "auto" and bundle is not None:
            headline = auto_headline(held_out_counts(bundle, info.n_classes))
        if headline != "auto":
            task.headline = headline
        return task

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

    defer_score = True  # class logits: an epoch's are small beside the data

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

    def pooled_metrics(self, parts: Sequence[tuple[Any, np.ndarray, torch.Tensor]]) -> dict[str, float]:
        """Metrics of several models' held-out outputs taken together (leave-one-out's folds);
        `parts` are (the fold's task, targets, outputs). Class probabilities do not depend on
        what a fold's task fitted, so the outputs are joined as they are."""
        return self.metrics(np.concatenate([y for _, y, _ in parts]), torch.cat([o for _, _, o in parts]))

    # -------------------------------------------------------------- the journal's hooks
    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return journal.baselines(bundle, cfg)

    def finish(self, result: Any, cfg: Any) -> None:
        journal.finish(self, result, cfg)

    def summary_extras(self, result: Any) -> dict[str, Any]:
        return journal.summary_extras(self, result)

    def plots(self, run_dir: Any, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
        return journal.report_plots(run_dir, results, context)

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        return journal.conclusion(summary)


def held_out_counts(bundle: Any, k: int) -> list[int]:
    """Rows per class in the validation and test splits, where the headline is measured (the
    training split may be oversampled); the training split's when there are none."""
    held = [s for s in (bundle.val, bundle.test) if s is not None and len(s)]
    ys = [s.y.cpu().numpy() for s in held] or [bundle.train.y.cpu().numpy()]
    return np.bincount(np.concatenate(ys).astype(np.int64), minlength=k).tolist()


def auto_headline(counts: Sequence[int]) -> str:
    """accuracy, unless one class is at least IMBALANCED_SHARE of the rows: then a metric that
    scores always answering it at chance: ROC-AUC for two classes (where both are present, else
    it is undefined), balanced accuracy for more."""
    if majority_share(counts) < IMBALANCED_SHARE:
        return "accuracy"
    return "roc_auc" if len(counts) == 2 and min(counts) > 0 else "balanced_accuracy"


def balanced_class_weights(y: np.ndarray, k: int) -> list[float]:
    """n / (k * count_c) on the training labels (scikit-learn's "balanced")."""
    counts = np.bincount(y, minlength=k).astype(float)
    return [len(y) / (k * c) if c else 0.0 for c in counts]
