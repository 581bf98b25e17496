"""Run the two churn recipes on the real files and print measured vs reference numbers.

    NNJ_DATA_DIR=../shared/data python benchmarks/churn.py [--threads 1] [--cv 5] [--out /tmp/churn-runs]

References: the issue's acceptance thresholds and the published numbers they come from
(telco: logistic regression about 0.84 ROC-AUC in 10-fold CV, a Keras ANN 82% accuracy;
bank: an ANN at 0.867 accuracy). Wall time includes baselines, plots and the report; the
machine's load average is printed with it because a shared machine inflates timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

import nnjournal

REFERENCES = {
    "telco-churn": {
        "roc_auc": (0.845, "accept >= 0.845; LR ~0.84 (10-fold CV)"),
        "accuracy": (0.80, "accept >= 0.80; Keras ANN 0.82"),
    },
    "bank-churn": {"accuracy": (0.86, "accept >= 0.86; ANN 0.867"), "roc_auc": (0.85, "accept >= 0.85")},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--cv", type=int, default=0, help="also run k-fold cross-validation")
    parser.add_argument("--out", default="/tmp/nnj-churn-benchmark")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    rows = []
    for recipe, refs in REFERENCES.items():
        overrides = [f"evaluation.cv={args.cv}"] if args.cv else []
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = nnjournal.run(recipe, overrides, out=args.out)
        wall = time.perf_counter() - t0
        s = result.summary
        test = s["variants"]["mlp"]["test"]
        base = s["baselines"]
        for metric, (threshold, note) in refs.items():
            ok = "yes" if test[metric] >= threshold else "NO"
            rows.append(
                f"| {recipe} | {metric} | {test[metric]:.4f} | {base['logistic regression'][metric]:.4f} | "
                f"{base['boosted trees'][metric]:.4f} | {note} | {ok} |"
            )
        t = s["variants"]["mlp"]["binary"].get("threshold")
        print(
            f"{recipe}: {wall:.1f} s wall (train {s['timings']['train_s.mlp']:.1f} s), load average "
            f"{load_before:.2f} before / {os.getloadavg()[0]:.2f} after; threshold "
            f"{t['value']:.3f} for {t['objective']}"
            if t
            else "",
        )
        if args.cv:
            cv = s["cross_validation"]["models"]
            print(
                "  CV "
                + "; ".join(
                    f"{n}: AUC {m['roc_auc']['mean']:.4f} ± {m['roc_auc']['std']:.4f}, accuracy {m['accuracy']['mean']:.4f} ± {m['accuracy']['std']:.4f}"
                    for n, m in cv.items()
                )
            )
        print(f"  report: {result.run_dir / 'report.html'}")
    print("\n| recipe | metric | network (test) | logistic regression | boosted trees | reference | meets |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
