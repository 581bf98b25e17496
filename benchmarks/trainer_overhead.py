"""Trainer overhead: `nnjournal.fit` against a hand-written PyTorch loop, same process.

Both train the same MLP on the same in-memory tensors with the same seeds, so they must also
end with identical weights (checked). Runs alternate (fit, loop, fit, loop, ...) so machine
load affects both alike, and which of the two goes first alternates too. The ratio of the
fastest run of each is reported (as `timeit` does: slower runs measure interference from other
processes, not the code), with the median of the per-repeat ratios.

One process's runs share one memory layout (where the allocator put the weights and batches),
which can favour either side by a few percent for every run in that process: the paired median
of one process moved between 1.02 and 1.07 from process to process with the code unchanged.
`--processes K` measures in K fresh processes and takes the median of their paired medians,
so that bias averages out the way the per-run noise does within a process.

    .venv/bin/python benchmarks/trainer_overhead.py [--repeats 7] [--epochs 20] [--processes 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
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


MODES = (("no validation", False), ("validation every epoch", True))


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """In this process: per mode, the fastest fit and hand-loop runs and the paired median."""
    torch.set_num_threads(args.threads)
    bundle = data.load("digits", seed=0)
    x, y, xv, yv = bundle.train.x, bundle.train.y, bundle.val.x, bundle.val.y
    # Warm up both paths once (first optimizer construction imports torch._dynamo).
    fit(make_model(0), (x, y), epochs=1)
    hand_loop(make_model(0), x, y, None, None, 1, args.batch_size, 0)

    results = {}
    for label, with_val in MODES:
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
        results[label] = {
            "fit_s": min(times["fit"]),
            "loop_s": min(times["loop"]),
            "paired": statistics.median(f / h for f, h in zip(times["fit"], times["loop"], strict=True)),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--processes", type=int, default=1, help="fresh processes to measure in, one after another"
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one worker process's answer
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args)))
        return
    print(
        f"digits: MLP 64-256-128-10, batch {args.batch_size}, {args.epochs} epochs, {args.repeats} alternating "
        f"repeats in each of {args.processes} process(es), torch {torch.__version__}, {args.threads} threads"
    )
    if args.processes == 1:
        for label, r in measure(args).items():
            print(
                f"{label:24s} fit {r['fit_s']:.3f} s  hand loop {r['loop_s']:.3f} s  ratio {r['fit_s'] / r['loop_s']:.3f} "
                f"(target <= 1.05; median of paired ratios {r['paired']:.3f}; weights identical)"
            )
        return
    worker = [sys.executable, __file__, "--json", *sys.argv[1:]]
    per_process = []
    for k in range(args.processes):
        answer = json.loads(subprocess.run(worker, check=True, capture_output=True, text=True).stdout)
        per_process.append(answer)
        print(f"process {k + 1}: " + "  ".join(f"{label} {r['paired']:.3f}" for label, r in answer.items()))
    for label, _ in MODES:
        paired = [answer[label]["paired"] for answer in per_process]
        fastest = [answer[label]["fit_s"] / answer[label]["loop_s"] for answer in per_process]
        print(
            f"{label:24s} median over processes of the paired medians {statistics.median(paired):.3f} "
            f"(target <= 1.05; per process {min(paired):.3f}-{max(paired):.3f}; fastest-run ratios "
            f"{min(fastest):.3f}-{max(fastest):.3f}; weights identical)"
        )


if __name__ == "__main__":
    main()
