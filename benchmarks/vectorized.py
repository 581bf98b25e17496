"""Vectorized vs one-by-one training of K tiny MLPs (issue 5, acceptance 3).

Trains K=8 and K=32 MLPs (64 -> 32 -> 10 by default, `--hidden` for others, scikit-learn digits, Adam, batch 32) for a few
epochs, once together with `fit_vectorized` and once with K `fit` calls, and prints the wall
time of each and their ratio. Both use the same threads; a warm-up run pays torch.func's
first-call cost outside the timing.

    PYTHONPATH=src python benchmarks/vectorized.py [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch

from nnjournal import data, models, tasks
from nnjournal.config import DigitsData, MLPModel
from nnjournal.training.fit import fit
from nnjournal.training.vectorized import fit_vectorized


def build(k: int, info, out: int, hidden: list[int]) -> list[torch.nn.Module]:
    nets = []
    for s in range(k):
        torch.manual_seed(s)
        nets.append(models.build(MLPModel(hidden=hidden), info, out))
    return nets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--hidden", type=int, nargs="+", default=[32], help="hidden widths of each MLP")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle = data.load(DigitsData(), seed=0, task="classification")
    task = tasks.get("classification", bundle.info)
    kw = {"epochs": args.epochs, "batch_size": 32}
    fit_vectorized(
        build(2, bundle.info, task.out_features, args.hidden), bundle.train, bundle.val, task=task, epochs=1
    )
    load = os.getloadavg()[0]
    n_params = models.count_parameters(build(1, bundle.info, task.out_features, args.hidden)[0])
    print(
        f"MLP hidden {args.hidden} ({n_params:,} parameters), threads {args.threads}, {args.epochs} epochs of {len(bundle.train)} examples, load average {load:.2f}"
    )
    for k in args.sizes:
        nets = build(k, bundle.info, task.out_features, args.hidden)
        copies = [copy.deepcopy(n) for n in nets]
        t = time.perf_counter()
        fit_vectorized(nets, bundle.train, bundle.val, task=task, seeds=range(k), **kw)
        together = time.perf_counter() - t
        t = time.perf_counter()
        for s, net in enumerate(copies):
            fit(net, bundle.train, bundle.val, task=task, seed=s, **kw)
        one_by_one = time.perf_counter() - t
        print(
            f"K={k:3d}: one by one {one_by_one:7.2f} s, vectorized {together:6.2f} s, "
            f"speed ratio {one_by_one / together:5.1f}x"
        )


if __name__ == "__main__":
    main()
