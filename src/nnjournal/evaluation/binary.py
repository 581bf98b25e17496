"""What a binary classifier's report needs beyond the default metrics: ranking quality (ROC-
and PR-AUC), results at the chosen decision threshold (confusion matrix, per-class
precision/recall/F1)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from nnjournal.evaluation.metrics import quiet_metric_warnings


@quiet_metric_warnings
def at_threshold(
    y_true: np.ndarray, p_positive: np.ndarray, threshold: float, class_names: list[str]
) -> dict[str, object]:
    """Accuracy, confusion matrix and per-class precision/recall/F1 when P(positive) >=
    `threshold` predicts the positive class (index 1)."""
    y_pred = (p_positive >= threshold).astype(np.int64)
    p, r, f, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=[0, 1], zero_division=0)
    return {
        "threshold": float(threshold),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "confusion": skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        "per_class": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
    }


@quiet_metric_warnings
def ranking_metrics(y_true: np.ndarray, p_positive: np.ndarray) -> dict[str, float]:
    """Threshold-free: ROC-AUC, and PR-AUC as average precision (the positive rate is the
    PR-AUC of a random ranking, reported next to it for scale)."""
    return {
        "roc_auc": float(skm.roc_auc_score(y_true, p_positive)),
        "pr_auc": float(skm.average_precision_score(y_true, p_positive)),
        "positive_rate": float(np.mean(y_true)),
    }
