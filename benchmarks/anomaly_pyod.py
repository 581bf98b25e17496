"""Anomaly detection side by side: our `anomaly-ae` recipe vs PyOD's `AutoEncoder` on the same
split (train: the normal class's training images only; test: every test image, the other
classes being the anomalies), with scikit-learn's IsolationForest beside them. `--data
bank-churn` (or `telco-churn`) runs the table recipe `anomaly-ae-churn` instead (train:
staying customers; test: churners subsampled to 5%). Needs the `bench` extra: pip install -e '.[bench]'.

    NNJ_DATA_DIR=../shared/data python benchmarks/anomaly_pyod.py [--data digits|bank-churn|telco-churn] [--epochs N]

Writes its table into docs/benchmarks.md (## Autoencoders)."""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

import nnjournal as nnj

try:
    from _doc import machine_line, write_block
except ImportError:  # run as a module
    from benchmarks._doc import machine_line, write_block


# Run through the table recipe anomaly-ae-churn (bank churn), with these overrides.
TABLES = {
    "bank-churn": [],
    "telco-churn": [
        "data.shared_file=churn/telco-customer-churn.csv",
        "data.target=Churn",
        "data.positive_label=Yes",
        'data.id_columns=["customerID"]',
        'data.numeric=["tenure","MonthlyCharges","TotalCharges"]',
    ],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", default="mnist", help="mnist (MNIST-10k), digits, bank-churn or telco-churn (tables)"
    )
    ap.add_argument("--seed", type=int, default=0, help="the run's seed (split, initialisation, subsample)")
    ap.add_argument("--epochs", type=int, default=None, help="both models' epochs (default: the recipe's)")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)  # 2 threads stall on a loaded 2-core machine

    table = args.data in TABLES
    recipe, overrides = (
        ("anomaly-ae-churn", list(TABLES[args.data])) if table else ("anomaly-ae", [f"data.name={args.data}"])
    )
    overrides.append(f"seed={args.seed}")
    if args.epochs:
        overrides.append(f"training.epochs={args.epochs}")
    t0 = time.perf_counter()
    ours = nnj.run(recipe, overrides, out="/tmp/nnj-bench-anomaly")
    ours_s = time.perf_counter() - t0
    v = ours.variants["autoencoder"]
    cfg = v.config
    m = v.metrics["test"]
    x_tr = v.bundle.train.x.reshape(len(v.bundle.train.x), -1).cpu().numpy()
    x_te = v.bundle.test.x.reshape(len(v.bundle.test.x), -1).cpu().numpy()
    is_anomaly = v.bundle.test.anomaly.cpu().numpy()

    from pyod.models.auto_encoder import AutoEncoder

    epochs = cfg.training.epochs
    params = inspect.signature(AutoEncoder.__init__).parameters
    # PyOD >= 2 is torch-based with epoch_num/hidden_neuron_list; older versions used Keras
    # argument names. Same epochs, batch size and hidden sizes as our model where it can.
    kwargs = {"contamination": 0.1, "random_state": cfg.seed}
    if "epoch_num" in params:
        kwargs.update(
            epoch_num=epochs,
            batch_size=cfg.training.batch_size,
            hidden_neuron_list=[*cfg.model.hidden, cfg.model.code_size],
            verbose=0,
        )
    else:
        kwargs.update(epochs=epochs, batch_size=cfg.training.batch_size, verbose=0)
    t0 = time.perf_counter()
    pyod_model = AutoEncoder(**kwargs).fit(x_tr)
    pyod_s = time.perf_counter() - t0
    scores = pyod_model.decision_function(x_te)
    pyod_auc = roc_auc_score(is_anomaly, scores)
    pyod_ap = average_precision_score(is_anomaly, scores)
    pca = next(b for k, b in ours.summary["baselines"].items() if k.startswith("PCA"))
    mean = ours.summary["baselines"]["mean"]
    from sklearn.ensemble import IsolationForest

    t0 = time.perf_counter()
    forest = IsolationForest(random_state=cfg.seed).fit(x_tr)
    forest_s = time.perf_counter() - t0
    forest_scores = -forest.score_samples(x_te)  # higher = more anomalous
    forest_auc = roc_auc_score(is_anomaly, forest_scores)
    forest_ap = average_precision_score(is_anomaly, forest_scores)

    import pyod

    n_normal = int((is_anomaly == 0).sum())
    what = "rows" if table else "images"
    md = f"""### Anomaly detection: `{recipe}` vs PyOD `AutoEncoder` (`benchmarks/anomaly_pyod.py`)

Data `{args.data}`, seed {cfg.seed}, normal class {cfg.task.normal_class}: trained on {len(x_tr)} normal training
{what}, tested on {len(x_te)} test {what} ({n_normal} normal, {len(x_te) - n_normal} anomalies).
Both: {epochs} epochs, batch {cfg.training.batch_size}, hidden {[*cfg.model.hidden, cfg.model.code_size]}
(PyOD {pyod.__version__} defaults otherwise: standardized inputs, batch norm, dropout 0.2).
Machine: {machine_line()}.

| detector | test ROC-AUC | test PR-AUC | fit time (s) |
|---|---|---|---|
| nnjournal `{recipe}` | {m["roc_auc"]:.4f} | {m["pr_auc"]:.4f} | {ours_s:.1f} (whole run) |
| PyOD `AutoEncoder` | {pyod_auc:.4f} | {pyod_ap:.4f} | {pyod_s:.1f} |
| PCA {cfg.model.code_size} components (baseline) | {pca["roc_auc"]:.4f} | {pca["pr_auc"]:.4f} | |
| distance to the mean training {what[:-1]} (baseline) | {mean["roc_auc"]:.4f} | {mean["pr_auc"]:.4f} | |
| scikit-learn `IsolationForest` (defaults) | {forest_auc:.4f} | {forest_ap:.4f} | {forest_s:.1f} |
"""
    print(md)
    if not args.no_doc:
        write_block(f"anomaly_pyod_{args.data}", md)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
