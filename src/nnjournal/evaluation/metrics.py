"""Classification and regression metrics, computed with scikit-learn on numpy arrays."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

F = TypeVar("F", bound=Callable[..., Any])


def quiet_metric_warnings(fn: F) -> F:
    """Run `fn` without scikit-learn's metric warnings reaching the terminal ("y_pred contains
    classes not in y_true", "No positive class found in y_true", undefined precision): they
    come from a class missing from a split, which the loaders already note for the report
    (`bundle.missing_class_notes`), and the metrics they warn about are defined as 0 there."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"sklearn\.metrics")
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@quiet_metric_warnings
def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """`proba` is (n, k) class probabilities. Binary problems report the positive class's
    precision/recall/F1; every problem also reports macro averages."""
    y_true = np.asarray(y_true)
    k = proba.shape[1]
    y_pred = proba.argmax(axis=1)
    labels = np.arange(k)
    out = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),
        "precision_macro": skm.precision_score(
            y_true, y_pred, labels=labels, average="macro", zero_division=0
        ),
        "recall_macro": skm.recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "f1_macro": skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "log_loss": skm.log_loss(y_true, _renormalize(proba), labels=labels),
    }
    if k == 2:
        out["precision"] = skm.precision_score(y_true, y_pred, zero_division=0)
        out["recall"] = skm.recall_score(y_true, y_pred, zero_division=0)
        out["f1"] = skm.f1_score(y_true, y_pred, zero_division=0)
    present = np.unique(y_true)
    if len(present) >= 2:
        if k == 2:
            out["roc_auc"] = skm.roc_auc_score(y_true, proba[:, 1])
        elif len(present) == k:
            out["roc_auc"] = skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels)
    return {name: float(v) for name, v in out.items()}


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    return skm.confusion_matrix(y_true, y_pred, labels=np.arange(k))


# Adjusted R^2 multiplies 1 - R^2 by (n - 1)/(n - p - 1): near n = p + 1 that factor explodes
# (40 rows, 30 features: x 4.3), and the number describes the split's size, not the model. It is
# reported (else NaN, shown as n/a) only with at least this many rows per feature, where the
# factor stays below about 1.11.
ADJUSTED_R2_ROWS_PER_FEATURE = 10


def adjusted_r2_applies(n_rows: int, n_features: int) -> bool:
    return n_rows >= ADJUSTED_R2_ROWS_PER_FEATURE * n_features and n_rows > n_features + 1


@quiet_metric_warnings
def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_features: int) -> dict[str, float]:
    """MAE, MSE, RMSE, R^2 and adjusted R^2 (which penalises R^2 for the number of features
    p: 1 - (1 - R^2)(n - 1)/(n - p - 1); NaN unless `adjusted_r2_applies(n, p)`)."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    n = len(y_true)
    mse = skm.mean_squared_error(y_true, y_pred)
    r2 = skm.r2_score(y_true, y_pred) if n > 1 else float("nan")
    adj = 1 - (1 - r2) * (n - 1) / (n - n_features - 1) if adjusted_r2_applies(n, n_features) else float("nan")
    return {
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "mse": float(mse),
        "rmse": float(np.sqrt(mse)),
        "r2": float(r2),
        "adjusted_r2": float(adj),
    }


# A data set is imbalanced for the report when its most common class is at least this share of
# the rows: answering that class every time then already scores 0.8 accuracy, so accuracy
# leaves the model a fifth of its scale and hides a minority class it never finds (minority
# under 20% is "moderate" imbalance in the usual terms). Classification then leads with a
# metric that scores always-the-majority at chance (tasks/classification.py: `auto_headline`).
IMBALANCED_SHARE = 0.8


def majority_share(counts: Sequence[int]) -> float:
    """The most common class's share of the rows counted (0 for none)."""
    total = sum(counts)
    return max(counts) / total if total else 0.0


# Which way each metric is better, declared by the tasks that report them (Task.directions).
CLASSIFICATION_DIRECTIONS = {
    "loss": "min",
    "accuracy": "max",
    "balanced_accuracy": "max",
    "precision_macro": "max",
    "recall_macro": "max",
    "f1_macro": "max",
    "log_loss": "min",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "roc_auc": "max",
    "average_precision": "max",
}
REGRESSION_DIRECTIONS = {"loss": "min", "mae": "min", "mse": "min", "rmse": "min", "r2": "max", "adjusted_r2": "max"}


def _renormalize(proba: np.ndarray) -> np.ndarray:
    # float32 softmax rows can sum to 1 +- 1e-7, which scikit-learn warns about.
    p = np.clip(proba.astype(np.float64), 1e-12, 1.0)
    return p / p.sum(axis=1, keepdims=True)
