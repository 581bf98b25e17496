"""Every recipe's quick profile, reduced to the numbers a run produces: run it before and after
a refactor and diff the two files (`--compare A B`). The numbers are `summary.json`'s metrics,
baselines and training histories (wall times left out); equal files mean a bit-identical change.

    python benchmarks/bit_identical.py --out before.json
    python benchmarks/bit_identical.py --out after.json
    python benchmarks/bit_identical.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

# recipe -> overrides of its quick profile (the autoencoder ones are tests/test_autoencoder_recipes.py's)
QUICK: dict[str, list[str]] = {
    "xor": [],
    "digits-mlp": [],
    "mnist1d-mlp": ["training.epochs=5"],
    "telco-churn": ["journal.plots=false"],
    "digits-cnn": ["training.epochs=3"],
    "regularization-demo": [
        "study.seeds=1",
        "study.epochs=3",
        'study.techniques=["none", "l1", "l2", "dropout", "batchnorm"]',
    ],
    "ae-vs-pca": ["training.epochs=3"],
    "denoising-ae": ["data.max_train=1000", "training.epochs=2", "training.batch_size=32"],
    "vae": ["data.max_train=1000", "training.epochs=3"],
}
DROP = {"time_s", "train_time_s", "total_s", "started_at", "finished_at", "timings"}


def _numbers(obj):
    """The summary without wall times and dates."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items() if k not in DROP and not k.startswith("train_s.")}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    return obj


def run_all(names: list[str]) -> dict:
    import nnjournal as nnj

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            result = nnj.run(name, QUICK[name], out=tmp)
            s = result.summary
            keep = {k: s.get(k) for k in ("headline", "variants", "baselines", "results", "study")}
            out[name] = _numbers(keep)
            print(f"{name}: headline {s.get('headline')}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path)
    ap.add_argument("--only", nargs="*", default=list(QUICK))
    ap.add_argument("--compare", nargs=2, type=Path)
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        bad = 0
        for name in sorted(set(a) | set(b)):
            same = a.get(name) == b.get(name)
            bad += not same
            print(f"{name:22s} {'identical' if same else 'DIFFERENT'}")
        return 1 if bad else 0
    os.environ.setdefault("NNJ_DATA_DIR", str(Path(__file__).resolve().parents[1].parent / "shared/data"))
    result = run_all(args.only)
    text = json.dumps(result, indent=1, sort_keys=True, default=str)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
