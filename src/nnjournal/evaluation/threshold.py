"""Choosing the decision threshold of a binary classifier on validation data.

A network trained with cross-entropy predicts P(positive); 0.5 maximizes accuracy only for a
calibrated model and equal error costs. With imbalanced classes a practitioner usually wants
more of the positives (churners) found, so the threshold is picked for a stated objective
on the validation split and reused unchanged on the test split and by `nnj predict`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve

from nnjournal.errors import NNJError
from nnjournal.evaluation.metrics import quiet_metric_warnings

OBJECTIVES = ("f1", "recall_at_precision")


@quiet_metric_warnings
def choose_threshold(
    y_true: np.ndarray, p_positive: np.ndarray, objective: str, min_precision: float = 0.5
) -> dict[str, Any]:
    """`{"objective", "value", "precision", "recall", "f1"}` on the given (validation) data.

    `f1`: the threshold with the highest F1. `recall_at_precision`: the highest recall among
    thresholds whose precision is at least `min_precision` (if none reaches it, the
    threshold with the highest precision, and `met` is False)."""
    if objective not in OBJECTIVES:
        raise NNJError(f"evaluation.threshold.objective must be one of {OBJECTIVES}, got {objective!r}")
    precision, recall, thresholds = precision_recall_curve(y_true, p_positive)
    # The last (precision, recall) pair has no threshold (it is recall 0 by convention).
    precision, recall = precision[:-1], recall[:-1]
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    met = True
    if objective == "f1":
        i = int(np.argmax(f1))
    else:
        ok = np.flatnonzero(precision >= min_precision)
        met = len(ok) > 0
        i = int(ok[np.argmax(recall[ok])]) if met else int(np.argmax(precision))
    out = {
        "objective": objective,
        "value": float(thresholds[i]),
        "precision": float(precision[i]),
        "recall": float(recall[i]),
        "f1": float(f1[i]),
    }
    if objective == "recall_at_precision":
        out.update(min_precision=min_precision, met=met)
    return out
