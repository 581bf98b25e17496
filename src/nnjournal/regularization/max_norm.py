"""Max-norm constraint: after every optimizer step, each unit's vector of incoming weights is
rescaled to an L2 norm of at most `c` (Srivastava et al. pair it with dropout). Unlike a
penalty it never pulls small weights, it only caps large ones."""

from __future__ import annotations

from collections.abc import Iterable

import torch


@torch.no_grad()
def apply_max_norm(weights: Iterable[torch.Tensor], c: float, stacked: bool = False) -> None:
    """Renormalise in place. A weight (out, in, ...) holds one unit's incoming weights per row;
    with `stacked=True` it is (members, out, in, ...) from vectorized training."""
    lead = 2 if stacked else 1
    for w in weights:
        rows = w.view(*w.shape[:lead], -1)
        norms = rows.norm(dim=-1, keepdim=True)
        rows.mul_(torch.clamp(c / (norms + 1e-12), max=1.0))
