"""Does data augmentation help a CNN trained from scratch on a few hundred real photos?

Runs the `flowers-cnn` recipe on an image folder (default: $NNJ_DATA_DIR/images/cats-dogs,
800 train / 88 test photos) with its augmentation and with augmentation switched off, for
several seeds, and prints test accuracy per run and the mean of each.

    NNJ_DATA_DIR=../shared/data python benchmarks/flowers_augmentation.py [--seeds 0 1 2] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from nnjournal import experiment, recipes

NO_AUGMENT = ["training.augment={}"]  # every augmentation off (the config's defaults)


def one_run(args: tuple[str, int, bool, str, list[str]]) -> tuple[bool, int, float, float, int]:
    folder, seed, augment, out, extra = args
    torch.set_num_threads(1)  # one thread per job: several jobs share the cores without oversubscribing
    overrides = [f"data.path={folder!r}".replace("'", '"'), *extra] + ([] if augment else NO_AUGMENT)
    t0 = time.perf_counter()
    result = experiment.run("flowers-cnn", overrides, out=out, seed=seed, quiet=True)
    acc = result.summary["variants"]["cnn"]["test"]["accuracy"]
    epochs = result.summary["variants"]["cnn"]["history"]["epochs_run"]
    return augment, seed, acc, time.perf_counter() - t0, epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("NNJ_DATA_DIR", ".")) / "images" / "cats-dogs"
    parser.add_argument("--folder", type=Path, default=default)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (one thread each)")
    parser.add_argument(
        "--set", dest="extra", action="append", default=[], help="recipe override for both arms"
    )
    args = parser.parse_args()
    recipes.load("flowers-cnn")  # fail early on a broken recipe
    out = tempfile.mkdtemp(prefix="flowers-bench-")
    jobs = [(str(args.folder), s, aug, out, args.extra) for aug in (True, False) for s in args.seeds]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one_run, jobs))
    print(f"flowers-cnn on {args.folder} (runs under {out}), {time.perf_counter() - t0:.0f} s in all")
    print(f"{'augmentation':<14} {'seed':>4} {'test acc':>9} {'epochs':>6} {'time s':>7}")
    for augment, seed, acc, seconds, epochs in rows:
        print(f"{'on' if augment else 'off':<14} {seed:>4} {acc:>9.4f} {epochs:>6} {seconds:>7.0f}")
    on = [r[2] for r in rows if r[0]]
    off = [r[2] for r in rows if not r[0]]
    print(f"mean test accuracy with augmentation:    {statistics.mean(on):.4f} (seeds {args.seeds})")
    print(f"mean test accuracy without augmentation: {statistics.mean(off):.4f}")
    print(f"difference: {100 * (statistics.mean(on) - statistics.mean(off)):+.1f} points")


if __name__ == "__main__":
    main()
