"""SIGKILL at random moments, then `--resume`: twenty kills of one run (checkpoint at every
epoch), each followed by a resume that is itself killed, until the run finishes; its test
metrics must equal an uninterrupted run's. `tests/test_interruptions.py` does three kills.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/kill_resume.py [--kills 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPE = ["digits-mlp", "--quiet", "--set", "training.epochs=40", "--set", "training.early_stopping.patience=40",
          "--set", "training.checkpoint_every_s=0", "--set", "journal.plots=false"]  # fmt: skip


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "nnjournal", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip


def read_test_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())["variants"]["mlp"]["test"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        whole, cut = Path(tmp) / "whole", Path(tmp) / "cut"
        t = time.perf_counter()
        assert start("run", *RECIPE, "--out", str(whole)).wait() == 0
        reference = read_test_metrics(next(p for p in whole.iterdir() if p.is_dir()))
        duration = time.perf_counter() - t
        proc = start("run", *RECIPE, "--out", str(cut))
        run_dir = None
        kills = 0
        while kills < args.kills:
            time.sleep(rng.uniform(0.0, duration / 4))
            if proc.poll() is not None:
                break
            proc.kill()
            proc.wait()
            kills += 1
            dirs = [p for p in cut.iterdir() if p.is_dir()] if cut.exists() else []
            if not dirs:  # killed before the run directory existed: start again
                proc = start("run", *RECIPE, "--out", str(cut))
                continue
            run_dir = dirs[0]
            if (run_dir / "summary.json").exists():
                break
            proc = start("run", "--resume", str(run_dir), "--quiet")
        proc.wait()
        if run_dir is None:
            run_dir = next(p for p in cut.iterdir() if p.is_dir())
        if not (run_dir / "summary.json").exists():
            assert start("run", "--resume", str(run_dir), "--quiet").wait() == 0
        same = read_test_metrics(run_dir) == reference
        print(f"{kills} kills at random moments (load {os.getloadavg()[0]:.1f}); resumed run's test metrics "
              f"{'equal' if same else 'DIFFER FROM'} the uninterrupted run's "
              f"(accuracy {read_test_metrics(run_dir)['accuracy']:.4f} vs {reference['accuracy']:.4f})")  # fmt: skip
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
