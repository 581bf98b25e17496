"""Trainer overhead: `nnjournal.fit` against a hand-written PyTorch loop, same process.

Both train the same MLP on the same in-memory tensors with the same seeds, so they must also
end with identical weights (checked). Runs alternate (fit, loop, fit, loop, ...) so machine
load affects both alike, and which of the two goes first alternates too. The ratio of the
fastest run of each is reported (as `timeit` does: slower runs measure interference from other
processes, not the code), with the median of the per-repeat ratios.

    .venv/bin/python benchmarks/trainer_overhead.py [--repeats 7] [--epochs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from nnjournal import data, fit


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )


def hand_loop(model, x, y, xv, yv, epochs: int, batch_size: int, seed: int) -> None:
    """What a practitioner writes: shuffle, slice, step; validation loss once per epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.item() * len(idx)
        if xv is not None:
            model.eval()
            with torch.no_grad():
                F.cross_entropy(model(xv), yv).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle = data.load("digits", seed=0)
    x, y, xv, yv = bundle.train.x, bundle.train.y, bundle.val.x, bundle.val.y
    # Warm up both paths once (first optimizer construction imports torch._dynamo).
    fit(make_model(0), (x, y), epochs=1)
    hand_loop(make_model(0), x, y, None, None, 1, args.batch_size, 0)

    print(
        f"digits: {len(x)} train rows, MLP 64-256-128-10, batch {args.batch_size}, {args.epochs} epochs, "
        f"{args.repeats} alternating repeats, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    for label, with_val in (("no validation", False), ("validation every epoch", True)):
        times = {"fit": [], "loop": []}

        def run_fit(model: nn.Module, r: int, with_val: bool = with_val) -> None:
            fit(
                model,
                (x, y),
                (xv, yv) if with_val else None,
                epochs=args.epochs,
                batch_size=args.batch_size,
                seed=r,
                early_stopping={"restore_best": False},
                threads=args.threads,  # the hand loop's count, not the auto policy's
            )

        def run_loop(model: nn.Module, r: int, with_val: bool = with_val) -> None:
            hand_loop(model, x, y, xv if with_val else None, yv, args.epochs, args.batch_size, r)

        for r in range(args.repeats):
            models = {"fit": make_model(r), "loop": make_model(r)}
            # The second of two back-to-back runs is measurably slower or faster on a VM (about
            # 2% either way): alternate which goes first so neither side always gets the good slot.
            order = (("fit", run_fit), ("loop", run_loop))
            for name, train in order if r % 2 == 0 else order[::-1]:
                t = time.perf_counter()
                train(models[name], r)
                times[name].append(time.perf_counter() - t)
            for p, q in zip(models["fit"].parameters(), models["loop"].parameters(), strict=True):
                torch.testing.assert_close(p, q, rtol=0, atol=0)
        fit_s, loop_s = min(times["fit"]), min(times["loop"])
        paired = statistics.median(f / h for f, h in zip(times["fit"], times["loop"], strict=True))
        print(
            f"{label:24s} fit {fit_s:.3f} s  hand loop {loop_s:.3f} s  ratio {fit_s / loop_s:.3f} "
            f"(target <= 1.05; median of paired ratios {paired:.3f}; weights identical)"
        )


if __name__ == "__main__":
    main()
