"""Run by torchrun from tests/test_distributed.py: one data-parallel step's gradients against
the one-process gradient of the same global batch, on each rank; writes the largest
difference per batch size to OUT/rank-R.json."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn

from nnjournal.data.bundle import Split
from nnjournal.tasks import task_for_arrays
from nnjournal.training import distributed


def main(out: Path) -> None:
    torch.set_num_threads(1)
    digits = load_digits()
    x = torch.tensor(digits.data[:64], dtype=torch.float32) / 16
    y = torch.tensor(digits.target[:64])
    task = task_for_arrays("classification", x, y)
    torch.manual_seed(0)  # the same weights on every rank
    model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    diffs = {}
    with distributed.process_group("gloo") as group, distributed.active(group):
        single = copy.deepcopy(model)
        ddp = group.wrap(model, seed=0)
        split = Split(x, y)
        for size in (64, 7):  # an even global batch, and an uneven one (4 + 3 rows)
            idx = torch.arange(size)
            single.zero_grad()
            task.training_step(single, split.take(idx), None).loss.backward()
            model.zero_grad()
            (mine,) = list(group.shard(iter([idx])))
            task.training_step(ddp, split.take(mine), None).loss.backward()
            diffs[size] = max(
                float((a.grad - b.grad).abs().max())
                for a, b in zip(model.parameters(), single.parameters(), strict=True)
            )
            diffs[f"{size}_rows"] = len(mine)
    (out / f"rank-{group.rank}.json").write_text(json.dumps(diffs))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    os._exit(0)
