"""Regression on CSVs with the `tabular` recipe's defaults: the network's test RMSE against
gradient-boosted trees' (issue 16, acceptance 1: within 10% or better, no setting changed).

Data sets: scikit-learn's bundled diabetes table (442 rows, 10 numbers) written as a CSV, and
three targets of the real Telco and bank files with their other columns as features (numbers
and categories mixed, a blank in TotalCharges): Telco `MonthlyCharges`, Telco `TotalCharges`,
bank `CreditScore` (barely predictable: a check that the network does not do worse than trees
where there is little to learn). Only `data.path`, `data.target`, `data.id_columns` and
`task.name=regression` are set.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/regression_vs_gbm.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

from sklearn.datasets import load_diabetes

import nnjournal as nnj


def _diabetes_csv(folder: Path) -> Path:
    bunch = load_diabetes(scaled=False)
    path = folder / "diabetes.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*bunch.feature_names, "progression"])
        for row, target in zip(bunch.data, bunch.target, strict=True):
            w.writerow([*(repr(float(v)) for v in row), repr(float(target))])
    return path


def _cases(folder: Path) -> dict[str, tuple[Path, str, list[str]]]:
    data = Path(os.environ.get("NNJ_DATA_DIR", "../shared/data"))
    telco, bank = data / "churn" / "telco-customer-churn.csv", data / "churn" / "bank-customer-churn.csv"
    return {
        "diabetes (442 rows)": (_diabetes_csv(folder), "progression", []),
        "telco MonthlyCharges": (telco, "MonthlyCharges", ["customerID"]),
        "telco TotalCharges": (telco, "TotalCharges", ["customerID"]),
        "bank CreditScore": (bank, "CreditScore", ["RowNumber", "CustomerId", "Surname"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print("| data | network RMSE | boosted trees RMSE | ratio | tuned trees RMSE | ratio | ridge RMSE | wall per run |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, (path, target, ids) in _cases(folder).items():
            nets, gbms, tuned, ridges, walls = [], [], [], [], []
            for seed in range(args.seeds):
                overrides = [f"data.path={path}", f"data.target={target}", "task.name=regression"]
                if ids:
                    overrides.append(f"data.id_columns={ids!r}")
                t = time.perf_counter()
                result = nnj.run("tabular", overrides, out=folder / "runs", seed=seed)
                walls.append(time.perf_counter() - t)
                s = result.summary
                nets.append(next(iter(s["variants"].values()))["test"]["rmse"])
                gbms.append(s["baselines"]["boosted trees"]["rmse"])
                tuned.append(s["baselines"]["boosted trees (tuned)"]["rmse"])
                ridge = next((b for n, b in s["baselines"].items() if "ridge" in n.lower()), None)
                ridges.append(ridge["rmse"] if ridge else float("nan"))
            net, gbm, tb = statistics.mean(nets), statistics.mean(gbms), statistics.mean(tuned)
            print(f"| {name} | {net:.4g} | {gbm:.4g} | **{net / gbm:.3f}** | {tb:.4g} | {net / tb:.3f} | "
                  f"{statistics.mean(ridges):.4g} | "
                  f"{statistics.mean(walls):.0f} s |", flush=True)
    print(f"\nmean over {args.seeds} seeds; goal: ratio <= 1.10; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
