"""Precision, compile and channels-last on the CPU (issue 17): for each case, float32 against
`training.precision = "bf16"`, `training.compile = true` (alone and with bf16) and, for CNNs,
`training.channels_last = true`. Whole `nnjournal.run` calls of the recipe; per setting the
median wall time of an epoch (the first epoch left out: it holds torch.compile's compilation,
reported on its own as the first epoch's extra time), its ratio to float32, and the final test
accuracy. Settings run interleaved, `--repeats` times each (the medians are over all repeats'
epochs), so a change in the machine's load hits every setting alike.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/precision.py [--repeats 2] [--write] [CASE ...]

`--write` puts the table in docs/benchmarks.md ("## Precision, compile, channels-last").
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import torch
from _doc import machine_line, write_block

import nnjournal as nnj

QUICK = ["journal.plots=false"]
# case -> (recipe, overrides, what it is); the digits recipes run in full, mnist-cnn for 3 epochs
CASES: dict[str, tuple[str, list[str], str]] = {
    "digits-mlp": ("digits-mlp", QUICK, "MLP 64-256-128-10, 8x8 digits, batch 32 (full recipe)"),
    "digits-cnn": ("digits-cnn", QUICK, "4-conv CNN, 1x8x8 digits, batch 64 (full recipe)"),
    "mnist-cnn": ("mnist-cnn", [*QUICK, "training.epochs=3"], "3-conv CNN, MNIST 28x28, batch 64 (3 of 12 epochs)"),
}
SETTINGS: dict[str, list[str]] = {
    "fp32": [],
    "bf16": ["training.precision=bf16"],
    "compile": ["training.compile=true"],
    "compile + bf16": ["training.compile=true", "training.precision=bf16"],
    "channels-last": ["training.channels_last=true"],
    "channels-last + bf16": ["training.channels_last=true", "training.precision=bf16"],
}
CNN_ONLY = {"channels-last", "channels-last + bf16"}


def run_once(recipe: str, overrides: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        result = nnj.run(recipe, overrides, out=out)
        wall = time.perf_counter() - t
    (variant,) = result.variants.values()
    epochs = [r["time_s"] for r in variant.history.records]
    return {
        "wall": wall,
        "epochs": epochs,
        "accuracy": variant.metrics["test"]["accuracy"],
        "threads": variant.history.threads,
    }


def measure(case: str, repeats: int) -> list[dict[str, Any]]:
    recipe, overrides, _ = CASES[case]
    names = [s for s in SETTINGS if s not in CNN_ONLY or case.endswith("cnn")]
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in names}
    for _ in range(repeats):
        for s in names:  # interleaved: a change of load hits every setting
            runs[s].append(run_once(recipe, [*overrides, *SETTINGS[s]]))
            print(f"  {case} {s}: {runs[s][-1]['wall']:.1f} s, accuracy {runs[s][-1]['accuracy']:.4f}", flush=True)
    rows = []
    for s in names:
        later = [t for r in runs[s] for t in r["epochs"][1:]] or [r["epochs"][0] for r in runs[s]]
        median = statistics.median(later)
        first_extra = statistics.median(r["epochs"][0] for r in runs[s]) - median
        accs = sorted({round(r["accuracy"], 4) for r in runs[s]})
        rows.append({
            "setting": s, "epoch_s": median, "first_extra_s": first_extra, "accuracy": accs,
            "epochs": statistics.median(len(r["epochs"]) for r in runs[s]), "threads": runs[s][0]["threads"],
        })
    base = rows[0]["epoch_s"]
    for row in rows:
        row["ratio"] = base / row["epoch_s"]
    return rows


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| case | setting | epoch (median) | speed vs fp32 | first epoch extra (compile) | epochs run | test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, rows in results.items():
        for row in rows:
            acc = " / ".join(f"{a:.4f}" for a in row["accuracy"])
            lines.append(
                f"| {case} | {row['setting']} | {row['epoch_s'] * 1000:.0f} ms | **{row['ratio']:.2f}x** | "
                f"{row['first_extra_s']:+.1f} s | {row['epochs']:.0f} | {acc} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    start_load = os.getloadavg()
    results = {case: measure(case, args.repeats) for case in args.cases}
    threads = {case: rows[0]["threads"] for case, rows in results.items()}
    md = "\n\n".join([
        f"`{' '.join(['benchmarks/precision.py', *[f'--repeats {args.repeats}'], *args.cases])}`, "
        f"torch {torch.__version__}, training threads {threads} (`training.threads = auto`); "
        f"{machine_line()} (at the start {start_load[0]:.1f} / {start_load[1]:.1f} / {start_load[2]:.1f}). "
        "The machine is shared with other engineers' jobs: wall times are inflated and noisy; the "
        "settings ran interleaved so the ratios are the better guide.",
        table(results),
    ])
    print(md)
    if args.write:
        write_block("precision-cpu", md, "## Precision, compile, channels-last")


if __name__ == "__main__":
    main()
