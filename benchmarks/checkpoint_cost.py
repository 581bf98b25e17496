"""What checkpoints cost: the digits-mlp recipe's training through `fit` without a checkpoint,
with the default policy (every epoch unless that takes over 2% of the training time) and with
a checkpoint at every epoch (`checkpoint_every_s = 0`). Runs are interleaved and the median of
each is compared, so machine load affects all three alike.

    .venv/bin/python benchmarks/checkpoint_cost.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nnjournal import data, models, recipes
from nnjournal.tasks import build_task
from nnjournal.training.fit import fit
from nnjournal.training.seeding import seed_everything


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = recipes.load("digits-mlp")
    bundle = data.load(cfg.data, seed=cfg.seed, task="classification")
    task = build_task(cfg.task, bundle.info, bundle)
    times: dict[str, list[float]] = {"none": [], "default (1% budget)": [], "every epoch": []}
    policies = {"none": None, "default (1% budget)": None, "every epoch": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name in times:
                training = cfg.training.model_copy(update={"checkpoint_every_s": policies[name]})
                seed_everything(cfg.seed)
                model = models.build(cfg.model, bundle.info, task.out_features)
                stem = None if name == "none" else Path(tmp) / f"{r}-{len(name)}"
                t = time.perf_counter()
                h = fit(model, bundle.train, bundle.val, task=task, config=training, seed=cfg.seed, checkpoint=stem)
                times[name].append(time.perf_counter() - t)
    base = statistics.median(times["none"])
    print(f"digits-mlp, {len(h.records)} epochs, {args.repeats} interleaved repeats, load {os.getloadavg()[0]:.1f}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:22s} median {med:.3f} s  ratio {med / base:.3f}")


if __name__ == "__main__":
    main()
