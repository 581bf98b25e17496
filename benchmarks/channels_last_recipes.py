"""Channels-last against the usual NCHW layout on this CPU, over whole recipe runs: the
measurement a per-CPU default for `training.channels_last` would need (docs/benchmarks.md,
"Channels-last on an AMD EPYC without AVX-512"). For each case, the two layouts run
interleaved `--repeats` times; per layout the median epoch time (first epoch left out) and
the headline test metric.

    NNJ_DATA_DIR=../shared/data .venv/bin/python benchmarks/channels_last_recipes.py [--repeats 2] [CASE ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

import nnjournal as nnj

OFF = ["journal.plots=false", "training.threads=1"]
CASES: dict[str, tuple[str, list[str]]] = {
    "digits-cnn": ("digits-cnn", OFF),
    "mnist-cnn (3 epochs)": ("mnist-cnn", [*OFF, "training.epochs=3"]),
    "denoising-ae (2,000 digits, 5 epochs)": (
        "denoising-ae",
        [*OFF, "data.max_train=2000", "training.epochs=5", "training.batch_size=32"],
    ),
}
LAYOUTS = {"NCHW": ["training.channels_last=false"], "channels-last": ["training.channels_last=true"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, one thread")
    print("| case | NCHW epoch | channels-last epoch | speed-up | test headline NCHW / channels-last |")
    print("|---|---|---|---|---|")
    for case in args.cases:
        recipe, sets = CASES[case]
        epochs: dict[str, list[float]] = {name: [] for name in LAYOUTS}
        scores: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as out:
            for r in range(args.repeats):
                for name in list(LAYOUTS) if r % 2 == 0 else list(LAYOUTS)[::-1]:
                    result = nnj.run(recipe, [*sets, *LAYOUTS[name]], out=out, quiet=True)
                    variant = next(iter(result.variants.values()))
                    epochs[name] += [rec["time_s"] for rec in variant.history.records[1:]]
                    headline = result.summary["headline"]
                    scores[name] = headline["value"]
        a, b = statistics.median(epochs["NCHW"]), statistics.median(epochs["channels-last"])
        print(
            f"| {case} | {a * 1e3:.0f} ms | {b * 1e3:.0f} ms | **{a / b:.2f}x** | "
            f"{scores['NCHW']:.4f} / {scores['channels-last']:.4f} |"
        )


if __name__ == "__main__":
    main()
