"""Permutation feature importance: how much a trained network's test score drops when one
raw input column is shuffled across rows (breaking its link to the target while keeping
its distribution)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def permutation_importance(
    score: Callable[[torch.Tensor], float],
    x: torch.Tensor,
    groups: dict[str, list[int]],
    *,
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Drop in `score(x)` when one raw column is shuffled across rows, mean and std over
    `repeats` shuffles. All one-hot features of a categorical column move together, so a
    column is judged as a whole. Sorted, most important first."""
    gen = torch.Generator().manual_seed(seed)
    base = score(x)
    out = {}
    for name, idx in groups.items():
        drops = []
        for _ in range(repeats):
            shuffled = x.clone()
            perm = torch.randperm(len(x), generator=gen)
            shuffled[:, idx] = x[perm][:, idx]
            drops.append(base - score(shuffled))
        out[name] = {"mean": float(np.mean(drops)), "std": float(np.std(drops))}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["mean"]))
