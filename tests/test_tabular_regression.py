"""Regression on a real CSV: the network trains on the target standardised on the training
split, so a target scaled by 1e5 reaches the same R² as the unscaled one; predictions come
back in the target's units (in process and from the saved model); `task.loss` is honoured."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require_data

import nnjournal
from nnjournal.saved_model import load_model
from nnjournal.training.predict import predict_outputs

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = ["training.epochs=12", "training.optimizer.lr=0.01", "model.hidden=[16]", "journal.plots=false"]
FAST += ["evaluation.baselines=['linear']", "evaluation.permutation_importance=false"]


def _telco_with_scaled_target(tmp_path: Path, factor: float) -> Path:
    """Telco's rows with `MonthlyCharges` (the regression target) multiplied by `factor`."""
    with open(require_data("churn/telco-customer-churn.csv"), newline="") as fh:
        rows = list(csv.reader(fh))
    j = rows[0].index("MonthlyCharges")
    for row in rows[1:]:
        row[j] = repr(float(row[j]) * factor)
    path = tmp_path / f"telco-x{factor:g}.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _regression(path: Path, tmp_path: Path, *extra: str):
    common = [f"data.path={path}", "data.target=MonthlyCharges", "data.id_columns=['customerID']"]
    return nnjournal.run("tabular", [*common, "task.name=regression", *FAST, *extra], out=tmp_path / "runs")


def test_a_target_scaled_by_1e5_trains_to_the_same_r2(tmp_path):
    plain = _regression(_telco_with_scaled_target(tmp_path, 1.0), tmp_path)
    scaled = _regression(_telco_with_scaled_target(tmp_path, 1e5), tmp_path)
    r2_plain = plain.summary["variants"]["mlp"]["test"]["r2"]
    r2_scaled = scaled.summary["variants"]["mlp"]["test"]["r2"]
    assert r2_plain > 0.95, r2_plain  # MonthlyCharges follows from the services a customer has
    assert abs(r2_scaled - r2_plain) < 0.01, (r2_plain, r2_scaled)
    rmse = scaled.summary["variants"]["mlp"]["test"]["rmse"]
    assert 1e5 < rmse < 0.3 * 30e5, rmse  # in the target's units (std about 30 * 1e5)

    # The scaling is saved with the model: the loaded model predicts in the target's units.
    meta = json.loads((scaled.run_dir / "model.json").read_text())
    fitted = meta["task"]["fitted"]
    assert 60e5 < fitted["target_mean"] < 70e5 and 25e5 < fitted["target_std"] < 35e5, fitted
    variant = scaled.variants["mlp"]
    rows = _first_rows(_telco_with_scaled_target(tmp_path, 1e5), 50)
    loaded = load_model(scaled.run_dir).predict(rows)
    x = torch.from_numpy(variant.bundle.preprocessing.transform(rows))
    in_process = variant.task.predict(predict_outputs(variant.model, x))
    np.testing.assert_allclose(loaded, in_process, rtol=1e-5)
    truth = np.array([float(r["MonthlyCharges"]) for r in rows])
    assert np.sqrt(np.mean((loaded - truth) ** 2)) < 0.3 * truth.std()


def _first_rows(path: Path, n: int) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return [row for _, row in zip(range(n), csv.DictReader(fh), strict=False)]


def test_task_loss_is_honoured_for_regression(tmp_path):
    path = _telco_with_scaled_target(tmp_path, 1.0)
    losses = {}
    for name in ("mse", "mae", "huber"):
        run = _regression(path, tmp_path, f"task.loss={name}", "training.epochs=2")
        assert run.variants["mlp"].task.loss_name == name
        losses[name] = run.variants["mlp"].history.records[0]["train_loss"]
    # Standardised target: MSE and Huber start near the variance 1, MAE near its square root.
    assert len(set(losses.values())) == 3, losses


def test_ridge_baseline_stays_above_the_mean_on_one_hot_heavy_data():
    # Bank's Surname as 1,200 one-hot columns for 6,000 training rows: least squares scores R²
    # 0.09 on Balance here (-7.57 with all 2,229 columns); ridge with a cross-validated alpha 0.23.
    from nnjournal.config import CsvData
    from nnjournal.data.tabular import load_csv
    from nnjournal.evaluation.baselines import RIDGE, run_baselines

    require_data("churn/bank-customer-churn.csv")
    cfg = CsvData(
        name="csv", shared_file="churn/bank-customer-churn.csv", target="Balance", categorical=["Surname"],
        drop=["RowNumber", "CustomerId"], max_categories=1200,
    )
    bundle = load_csv(cfg, 0, "regression")
    assert bundle.info.n_features > 1200
    fitted, scores = run_baselines(bundle, False, ["dummy", "linear"], 0)
    assert scores[RIDGE]["r2"] > 0.15 > scores["mean"]["r2"], scores
    assert 1e-3 < fitted[RIDGE].alpha_ < 1e4  # chosen inside the grid


def test_adjusted_r2_is_n_a_where_features_almost_equal_rows(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 12))
    y = x[:, 0] * 3 + x[:, 1] + rng.normal(scale=0.1, size=100)
    path = tmp_path / "wide.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f"f{j}" for j in range(12)] + ["y"])
        w.writerows([[*map(repr, row), repr(t)] for row, t in zip(x.tolist(), y.tolist(), strict=True)])
    result = nnjournal.run("tabular", [f"data.path={path}", "data.target=y", "task.name=regression", *FAST], out=tmp_path)
    s = result.summary
    assert len(result.variants["mlp"].bundle.test) == 20  # 20 test rows for 12 features
    assert np.isnan(s["variants"]["mlp"]["test"]["adjusted_r2"]) and np.isfinite(s["variants"]["mlp"]["test"]["r2"])
    report = (result.run_dir / "report.md").read_text()
    table = next(line for line in report.splitlines() if line.startswith("| mlp | model |"))
    assert table.rstrip(" |").endswith("n/a"), table
    assert "Adjusted R² is n/a: the test split has fewer than 10 rows per feature (12 features" in report
