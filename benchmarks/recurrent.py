"""Full profiles of the recurrent recipes (issue 12): runs each recipe as shipped and prints the
measured value next to its reference and goal, with the wall time; `--write` also puts the
table into docs/benchmarks.md (## Recurrent networks). Meant for a quiet machine:

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/recurrent.py [--write] [NAME ...]

NAME is any of the keys of GOALS (default: all). `--seeds=N` sets the forecasting seeds (5).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

import nnjournal as nnj

try:
    from _doc import machine_line, write_block
except ImportError:
    from benchmarks._doc import machine_line, write_block


def _lm_val(r: Any) -> float:
    return r.variants["char-lm"].metrics["val"]["loss"]


def _test(variant: str, metric: str) -> Callable[[Any], float]:
    return lambda r: r.test_metrics[variant][metric]


# name -> (recipe, what is measured, reader, reference (source), goal, "min"/"max", seeds, time limit s)
GOALS: dict[str, tuple[str, str, Callable[[Any], float], str, float, str, int, float | None]] = {
    "shakespeare-char": ("shakespeare-char", "val loss, nats/char", _lm_val,
                         "nanoGPT CPU baby GPT 1.88; its GPU run 1.47", 1.50, "min", 1, 15 * 60),
    "airline-lstm": ("airline-lstm", "test RMSE (passengers), mean over seeds", _test("forecaster", "rmse"),
                     "SARIMA 14.0, tutorial LSTM 47.5", 20.0, "min", 5, None),
    "airline-lstm-h24": ("airline-lstm-h24", "test RMSE over 24 months, mean over seeds",
                         _test("forecaster", "rmse"), "Holt-Winters 32.5, SARIMA 43.2, seasonal naive 77.0",
                         32.5, "min", 5, None),
    "mnist1d-gru": ("mnist1d-gru", "test accuracy (GRU)", _test("gru", "accuracy"),
                    "MNIST-1D paper GRU 0.91, shuffled 0.57", 0.91, "max", 1, None),
    "mnist-rnn": ("mnist-rnn", "test accuracy", _test("rnn", "accuracy"),
                  "Keras LSTM 0.986 on the full 60k", 0.97, "max", 1, None),
    "seq2seq-dates": ("seq2seq-dates", "test exact match (attention)", _test("attention", "exact_match"),
                      "-", 0.95, "max", 1, None),
}


def bench(name: str, seeds: int | None) -> tuple[str, bool]:
    recipe, what, read, reference, goal, direction, n_seeds, limit = GOALS[name]
    values, walls, extra = [], [], ""
    for seed in range((seeds or n_seeds) if n_seeds > 1 else 1):  # --seeds: multi-seed recipes only
        start = time.perf_counter()
        result = nnj.run(recipe, out="/tmp/nnj-bench-rnn", seed=seed)
        walls.append(time.perf_counter() - start)
        values.append(read(result))
        if name == "mnist1d-gru":
            extra = f"; shuffled control {result.test_metrics['gru-shuffled']['accuracy']:.3f}"
        if name == "seq2seq-dates":
            extra = f"; without attention {result.test_metrics['no-attention']['exact_match']:.3f}"
    value = statistics.mean(values)
    met = value <= goal if direction == "min" else value >= goal
    if limit is not None:
        met = met and max(walls) <= limit
    spread = f" (seeds: {', '.join(f'{v:.3f}' for v in values)})" if len(values) > 1 else ""
    row = (f"| `{name}` | {what} | {value:.3f}{spread}{extra} | {goal:g} | {reference} | "
           f"{statistics.mean(walls):.0f} s | {'yes' if met else 'no'} |")
    return row, met


def main() -> None:
    torch.set_num_threads(1)  # small recurrent models: 5-8x faster than 2 threads on 2 busy cores
    args = sys.argv[1:]
    names = [a for a in args if not a.startswith("--")] or list(GOALS)
    seeds = next((int(a[8:]) for a in args if a.startswith("--seeds=")), None)
    rows = []
    for name in names:
        row, _ = bench(name, seeds)
        print(row, flush=True)  # noqa: T201
        rows.append(row)
    md = ("| recipe | measured | value | goal | reference | wall time | goal met |\n|---|---|---|---|---|---|---|\n"
          + "\n".join(rows) + f"\n\nMachine: {machine_line()}.\n")
    print(md)  # noqa: T201
    if "--write" in args:
        write_block("rnn_full", md, section="## Recurrent networks")


if __name__ == "__main__":
    main()
