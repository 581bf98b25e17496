"""Threads: how long a recipe's run takes with one intra-op thread and with every core, on a
quiet machine and on a busy one (issue 16, point 6). Measures whole `nnjournal.run` calls (data,
training, baselines, report), interleaved (1, N, 1, N, ...), fastest of `--repeats` each.

`--busy K` starts K processes that spin on the CPU for the whole measurement, the way another
job (a test suite, a second training, a browser) does on a laptop. Records `training.threads`
as the recipe resolves it ("auto" picks by model size, see `training/threads.py`) beside the two
forced settings.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/threads.py [--busy 2] [--repeats 3] [CASE ...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time

import torch

import nnjournal as nnj

# case -> (recipe, overrides of a short but representative run, what the model is)
CASES: dict[str, tuple[str, list[str], str]] = {
    "telco-churn": ("telco-churn", ["journal.plots=false", "training.epochs=15"], "tabular MLP, 7k rows"),
    "digits-mlp": ("digits-mlp", ["journal.plots=false"], "MLP 64-128-64-10 on 8x8 digits"),
    "mnist1d-mlp": ("mnist1d-mlp", ["journal.plots=false", "training.epochs=10"], "MLP on MNIST-1D"),
    "digits-cnn": ("digits-cnn", ["journal.plots=false", "training.epochs=5"], "small CNN on 8x8 digits"),
    "mnist1d-gru": ("mnist1d-gru", ["journal.plots=false", "training.epochs=2"], "GRU on MNIST-1D sequences"),
}


def _spin() -> None:
    while True:
        pass


def _time_run(recipe: str, overrides: list[str], threads: str) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        result = nnj.run(recipe, [*overrides, f"training.threads={threads}"], out=out)
        wall = time.perf_counter() - t
    first = next(iter(result.summary["variants"].values()))
    return wall, result.summary["headline"]["value"], first.get("history", {}).get("threads") or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes running alongside")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    try:
        print(f"{cores} cores, {args.busy} busy processes alongside, torch {torch.__version__}, "
              f"load average {os.getloadavg()[0]:.1f} at the start")
        print("| case | model | 1 thread | all cores | auto (threads) | all / 1 | headline equal |")
        print("|---|---|---|---|---|---|---|")
        for name in args.cases:
            recipe, overrides, what = CASES[name]
            times: dict[str, list[float]] = {"1": [], str(cores): [], "auto": []}
            heads: dict[str, float] = {}
            auto_threads = 0
            _time_run(recipe, overrides, "auto")  # warm-up: first-run imports and caches count for nobody
            for _ in range(args.repeats):
                for setting in times:
                    wall, head, used = _time_run(recipe, overrides, setting)
                    times[setting].append(wall)
                    heads[setting] = head
                    if setting == "auto":
                        auto_threads = used
            one, many, auto = (min(times[k]) for k in times)
            same = "yes" if len(set(heads.values())) == 1 else f"no ({', '.join(f'{v:.4f}' for v in heads.values())})"
            print(f"| {name} | {what} | {one:.1f} s | {many:.1f} s | {auto:.1f} s ({auto_threads}) | "
                  f"{many / one:.2f} | {same} |", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        for p in spinners:
            p.terminate()


if __name__ == "__main__":
    main()
