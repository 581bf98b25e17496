"""GPU against CPU, float32 against bfloat16 (issue 17): time-to-accuracy of digits-cnn,
mnist-cnn and shakespeare-char. Each case trains its recipe with `training.device` = cpu /
cuda and `training.precision` = 32 / bf16 (and 16-mixed, float16 with a grad scaler, on CUDA);
time-to-accuracy is the training time (the epochs' `time_s`, validation included, data loading
and the report not) until the validation metric first reaches the case's target, beside the
epochs it took, the whole training time and the final test metric.

Needs a CUDA GPU: without one it says so and exits 0 (CI has none). MNIST and Tiny Shakespeare
are read from NNJ_DATA_DIR; a case whose data is missing is skipped with the reason.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/gpu.py [--no-cpu] [--write] [CASE ...]

`--write` puts the table in docs/benchmarks.md ("## GPU and precision").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

import torch
from _doc import machine_line, write_block

import nnjournal as nnj
from nnjournal.errors import NNJError

QUICK = ["journal.plots=false", "evaluation.baselines=[]"]
# case -> (recipe, overrides, validation metric, target, "max" / "min")
CASES: dict[str, tuple[str, list[str], str, float, str]] = {
    "digits-cnn": ("digits-cnn", QUICK, "val_accuracy", 0.97, "max"),
    "mnist-cnn": ("mnist-cnn", QUICK, "val_accuracy", 0.98, "max"),
    "shakespeare-char": ("shakespeare-char", [*QUICK, "task.sample_length=50"], "val_loss", 1.6, "min"),
}


def settings(cpu: bool) -> list[tuple[str, str]]:
    rows = [("cuda", "32"), ("cuda", "bf16"), ("cuda", "16-mixed")]
    return ([("cpu", "32"), ("cpu", "bf16")] if cpu else []) + rows


def time_to_target(records: list[dict[str, Any]], metric: str, target: float, mode: str) -> tuple[float, int] | None:
    elapsed = 0.0
    for r in records:
        elapsed += r["time_s"]
        value = r.get(metric)
        if value is not None and (value >= target if mode == "max" else value <= target):
            return elapsed, r["epoch"]
    return None


def run_case(case: str, device: str, precision: str) -> dict[str, Any]:
    recipe, overrides, metric, target, mode = CASES[case]
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        result = nnj.run(
            recipe, [*overrides, f"training.device={device}", f"training.precision={precision}"], out=out
        )
        wall = time.perf_counter() - t
    (variant,) = result.variants.values()
    records = variant.history.records
    test_metric = "accuracy" if mode == "max" else "loss"
    return {
        "reached": time_to_target(records, metric, target, mode),
        "train_s": sum(r["time_s"] for r in records),
        "epochs": len(records),
        "wall": wall,
        "test": variant.metrics["test"].get(test_metric),
        "test_metric": test_metric,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--no-cpu", action="store_true", help="GPU rows only (the CPU runs take longest)")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA GPU here (torch.cuda.is_available() is False); nothing measured")
        return 0
    gpu = torch.cuda.get_device_name(0)
    lines = [
        "| case | device | precision | time to target | epochs to target | training time (epochs run) | test |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in args.cases:
        _, _, metric, target, mode = CASES[case]
        for device, precision in settings(not args.no_cpu):
            try:
                row = run_case(case, device, precision)
            except NNJError as err:  # missing data: say so and go on
                print(f"{case}: skipped ({err})", flush=True)
                lines.append(f"| {case} | {device} | {precision} | skipped: {err} | | | |")
                break
            reached = f"**{row['reached'][0]:.1f} s**" if row["reached"] else "not reached"
            epoch = str(row["reached"][1]) if row["reached"] else "-"
            lines.append(
                f"| {case} ({metric} {'>=' if mode == 'max' else '<='} {target}) | {device} | {precision} | "
                f"{reached} | {epoch} | {row['train_s']:.1f} s ({row['epochs']}) | "
                f"{row['test_metric']} {row['test']:.4f} |"
            )
            print(lines[-1], flush=True)
    md = (
        f"`benchmarks/gpu.py {' '.join(args.cases)}` on {gpu}, torch {torch.__version__}; {machine_line()}.\n\n"
        + "\n".join(lines)
    )
    print(md)
    if args.write:
        write_block("gpu-precision", md, "## GPU and precision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
