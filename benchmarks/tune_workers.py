"""`nnj tune --workers 2` vs one worker: the same 20 trials (random sampler, whose draws depend on
the study seed and the trial number only; digits-mlp cut to 10 epochs so the comparison fits in
minutes), wall time of the search only, and the load average
the shared machine had meanwhile.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/tune_workers.py
"""

from __future__ import annotations

import os
import tempfile

from nnjournal.tuning.study import run_tune

SETTINGS = ["search.sampler='random'", "search.n_trials=20", "search.pruner='none'", "training.epochs=10",
            "journal.plots=false"]


def main() -> None:
    walls, params = {}, {}
    with tempfile.TemporaryDirectory() as out:
        for workers in (1, 2):
            before = os.getloadavg()
            result = run_tune("digits-mlp", SETTINGS, out=out, workers=workers)
            after = os.getloadavg()
            s = result.summary["search"]
            walls[workers] = s["search_s"]
            done = sum(t["state"] == "COMPLETE" for t in s["trials"])
            params[workers] = {t["number"]: t["params"] for t in s["trials"]}
            print(f"workers={workers}: {done} trials in {s['search_s']:.1f} s wall; "
                  f"load average (1 min) {before[0]:.1f} before, {after[0]:.1f} after")
    same = "the same 20 trials" if params[1] == params[2] else "DIFFERENT trials"
    print(f"speed-up with 2 workers: {walls[1] / walls[2]:.2f}x on {os.cpu_count()} cores ({same})")


if __name__ == "__main__":
    main()
