import numpy as np
import pytest

from nnjournal.evaluation.metrics import classification_metrics, regression_metrics
from nnjournal.tasks import Classification, Regression, direction


def test_binary_metrics_match_hand_counts():
    y = np.array([0, 0, 1, 1, 1])
    p1 = np.array([0.1, 0.6, 0.7, 0.8, 0.4])  # predictions 0 1 1 1 0
    m = classification_metrics(y, np.stack([1 - p1, p1], axis=1))
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == pytest.approx(5 / 6)


def test_regression_metrics_and_adjusted_r2():
    y = np.arange(1.0, 31.0)  # 30 rows
    pred = y + np.tile([0.5, -0.5], 15)
    m = regression_metrics(y, pred, n_features=3)
    assert m["mae"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(0.5)
    r2 = 1 - 30 * 0.25 / ((y - y.mean()) ** 2).sum()
    assert m["r2"] == pytest.approx(r2)
    assert m["adjusted_r2"] == pytest.approx(1 - (1 - r2) * 29 / 26)


def test_adjusted_r2_needs_ten_rows_per_feature():
    y = np.arange(1.0, 31.0)
    pred = y + np.tile([0.5, -0.5], 15)
    assert np.isfinite(regression_metrics(y, pred, n_features=3)["adjusted_r2"])  # 30 rows >= 10 x 3
    # 30 rows, 4 features: the factor (n - 1)/(n - p - 1) = 1.16 already says more about n than the fit.
    assert np.isnan(regression_metrics(y, pred, n_features=4)["adjusted_r2"])
    assert np.isnan(regression_metrics(y, pred, n_features=29)["adjusted_r2"])  # n = p + 1: undefined
    assert regression_metrics(y, pred, n_features=4)["r2"] == pytest.approx(regression_metrics(y, pred, 3)["r2"])


def test_metric_direction():
    clf, reg = Classification(3), Regression(4)
    assert direction(clf, "val_loss") == "min" and direction(reg, "rmse") == "min"
    assert direction(clf, "val_accuracy") == "max" and direction(clf, "roc_auc") == "max"
    with pytest.raises(KeyError, match="better high or low"):
        direction(clf, "val_perplexity")  # an undeclared metric is an error, never a guess
