"""Full profiles of the GAN recipes (issue 13): runs each as shipped and prints what it measured
next to the goal, then writes the table into docs/benchmarks.md (## GANs). Slow on a CPU; pass
recipe names to run a subset (dcgan-mnist's goal compares with gan-mnist's numbers, read from
the last gan-mnist run of this script when it is not run again).

    NNJ_DATA_DIR=../shared/data python benchmarks/gans.py [gan-mnist dcgan-mnist cgan-mnist gan-collapse]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

import nnjournal as nnj
from nnjournal.evaluation.generative import collapse_verdict

try:
    from _doc import machine_line, write_block
except ImportError:
    from benchmarks._doc import machine_line, write_block

RECIPES = ["gan-collapse", "cgan-mnist", "gan-mnist", "dcgan-mnist"]
OUT = Path("/tmp/nnj-bench-gan")
LAST = OUT / "last.json"  # measured numbers per recipe, so dcgan can compare with a vanilla run
REAL = "real test images"


def measure(name: str) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = nnj.run(name, out=OUT)
    test = next(iter(result.test_metrics.values()))
    real = result.summary["baselines"][REAL]
    collapsed, why = collapse_verdict(test, real)
    return {
        "test": test,
        "real": real,
        "collapsed": collapsed,
        "why": why,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "train_s": sum(v for k, v in result.summary["timings"].items() if k.startswith("train_s")),
        "run_dir": str(result.run_dir),
    }


def goal(name: str, m: dict[str, Any], last: dict[str, Any]) -> tuple[str, str, bool | None]:
    """(measured, goal, met) for the issue's table."""
    t = m["test"]
    if name == "gan-mnist":
        ok = t["coverage"] == 1.0 and m["wall_s"] <= 600
        return (
            f"coverage {t['coverage']:.2f}, FD {t['frechet_distance']:.1f} (real {m['real']['frechet_distance']:.2f}), "
            f"IS {t['inception_score']:.2f} (real {m['real']['inception_score']:.2f}), {m['wall_s']:.0f} s",
            "coverage 1.0 of the 10 classes in <= 600 s",
            ok,
        )
    if name == "dcgan-mnist":
        v = last.get("gan-mnist")
        if v is None:
            return f"FD {t['frechet_distance']:.1f} in {m['train_s']:.0f} s of training", "FD < vanilla's", None
        ok = t["frechet_distance"] < v["test"]["frechet_distance"] and m["train_s"] <= v["train_s"] * 1.05
        return (
            f"FD {t['frechet_distance']:.1f} in {m['train_s']:.0f} s of training (vanilla: "
            f"{v['test']['frechet_distance']:.1f} in {v['train_s']:.0f} s)",
            "FD below the vanilla GAN's at the same wall-clock budget",
            ok,
        )
    if name == "cgan-mnist":
        ok = t["inception_score"] >= 9.0 and t["conditional_accuracy"] >= 0.90
        return (
            f"IS {t['inception_score']:.2f} (real {m['real']['inception_score']:.2f}), conditional accuracy "
            f"{t['conditional_accuracy']:.3f}, FD {t['frechet_distance']:.1f}",
            "IS >= 9.0, conditional accuracy >= 0.90",
            ok,
        )
    return (
        f"collapsed: {m['collapsed']} ({m['why']})",
        "the report flags the collapse",
        m["collapsed"],
    )


def main() -> None:
    torch.set_num_threads(1)  # 2 threads stall on a loaded 2-core machine
    names = sys.argv[1:] or RECIPES
    OUT.mkdir(parents=True, exist_ok=True)
    last = json.loads(LAST.read_text()) if LAST.exists() else {}
    rows = []
    for name in names:
        m = measure(name)
        last[name] = m
        LAST.write_text(json.dumps(last, indent=1))
        measured, want, ok = goal(name, m, last)
        verdict = {True: "met", False: "**not met**", None: "(needs gan-mnist)"}[ok]
        row = f"| `{name}` | {measured} | {want} | {verdict} | {m['wall_s']:.0f} s wall, {m['cpu_s']:.0f} s CPU |"
        print(row, flush=True)
        rows.append(row)
    md = (
        "Full profiles (`python benchmarks/gans.py " + " ".join(names) + "`), one torch thread:\n\n"
        "| recipe | measured | goal | | time |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Machine: {machine_line()}.\n"
    )
    print(md)
    write_block("gan_full_" + "_".join(names), md, section="## GANs")


if __name__ == "__main__":
    main()
