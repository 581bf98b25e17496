"""Do sparse-autoencoder codes help a gradient-boosted model on a churn table? (issue 18)

For each file (Telco, bank) and seed, trains `features-ae-churn` as shipped (or with the code
size / sparsity weight given) and fits scikit-learn's histogram GBM and logistic regression
(`evaluation.reconstruction.downstream_scores`'s settings) on three feature sets of the same
split: the encoded raw columns, the codes, and raw + codes side by side. Test accuracy and
ROC-AUC, mean and std over seeds. Prints a markdown table (docs/benchmarks.md, "Autoencoder applications").

    NNJ_DATA_DIR=../shared/data python benchmarks/features_churn.py [--seeds 0 1 2] \\
        [--code-size 100] [--sparsity 1e-4] [--files telco bank]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnjournal as nnj
from nnjournal.training.predict import predict_outputs

try:
    from _doc import machine_line
except ImportError:  # run as a module
    from benchmarks._doc import machine_line

FILES = {
    "telco": [],
    "bank": [
        "data.shared_file=churn/bank-customer-churn.csv",
        "data.target=Exited",
        'data.positive_label="1"',
        'data.id_columns=["RowNumber","CustomerId","Surname"]',
        "data.numeric=[]",
    ],
}


def scores(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, seed: int
) -> dict:
    varying = train_x.std(axis=0) > 0  # dead code units carry nothing (as downstream_scores)
    train_x, test_x = train_x[:, varying], test_x[:, varying]
    models = {
        "gbm": HistGradientBoostingClassifier(max_iter=100, max_bins=32, random_state=seed),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    out = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(train_x, train_y)
        out[f"{name}_accuracy"] = skm.accuracy_score(test_y, model.predict(test_x))
        out[f"{name}_roc_auc"] = skm.roc_auc_score(test_y, model.predict_proba(test_x)[:, 1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--files", nargs="+", default=list(FILES), choices=list(FILES))
    ap.add_argument("--code-size", type=int, default=None, help="model.code_size (default: the recipe's 100)")
    ap.add_argument("--sparsity", type=float, default=None, help="model.sparsity_weight (default: 1e-4)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    extra = []
    if args.code_size:
        extra.append(f"model.code_size={args.code_size}")
    if args.sparsity is not None:
        extra.append(f"model.sparsity_weight={args.sparsity}")
    rows = []
    t0 = time.perf_counter()
    for name in args.files:
        per: dict[str, list[dict]] = {"raw": [], "codes": [], "raw + codes": []}
        for seed in args.seeds:
            result = nnj.run(
                "features-ae-churn", [*FILES[name], *extra, f"seed={seed}"], out="/tmp/nnj-bench-features"
            )
            v = result.variants["autoencoder"]
            tr, te = v.bundle.train, v.bundle.test
            raw_tr, raw_te = tr.x.cpu().numpy(), te.x.cpu().numpy()
            code_tr = predict_outputs(v.model, tr.x).code.cpu().numpy()
            code_te = predict_outputs(v.model, te.x).code.cpu().numpy()
            y_tr, y_te = tr.labels.cpu().numpy(), te.labels.cpu().numpy()
            sets = {
                "raw": (raw_tr, raw_te),
                "codes": (code_tr, code_te),
                "raw + codes": (np.hstack([raw_tr, code_tr]), np.hstack([raw_te, code_te])),
            }
            for key, (a, b) in sets.items():
                per[key].append(scores(a, y_tr, b, y_te, seed))
            active = float((np.abs(code_te) > 1e-3).any(axis=0).mean())
            print(
                f"{name} seed {seed}: {per['raw'][-1]} | {per['codes'][-1]} | active code units {active:.2f}"
            )
        for key, runs in per.items():
            stat = {m: (np.mean([r[m] for r in runs]), np.std([r[m] for r in runs])) for m in runs[0]}
            rows.append((name, key, stat))
    wall = time.perf_counter() - t0
    cfg = f"code_size {args.code_size or 100}, sparsity_weight {args.sparsity if args.sparsity is not None else 1e-4}"
    lines = [
        f"Seeds {args.seeds}; `features-ae-churn` ({cfg}); {wall:.0f} s wall in all. Machine: {machine_line()}.",
        "",
        "| file | features | GBM accuracy | GBM ROC-AUC | logreg accuracy | logreg ROC-AUC |",
        "|---|---|---|---|---|---|",
    ]
    for name, key, s in rows:
        cells = [
            f"{s[m][0]:.4f} ± {s[m][1]:.4f}"
            for m in ("gbm_accuracy", "gbm_roc_auc", "logreg_accuracy", "logreg_roc_auc")
        ]
        lines.append(f"| {name} | {key} | " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
