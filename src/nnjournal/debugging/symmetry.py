"""Symmetry between hidden units: units of a layer whose incoming weights (and bias) are all the
same compute the same feature. Zero initialization leaves them so for ever, since each gets
the same gradient: a layer of 64 such units is one unit, whatever its width."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

IDENTICAL = 1e-6  # largest weight difference between two units still counted as the same unit


def unit_symmetry(model: nn.Module) -> list[dict[str, Any]]:
    """Per hidden Linear layer (all but the last Linear): width, distinct units (incoming
    weights and bias equal to within IDENTICAL count as one), the largest difference from unit
    1's weights (`spread`) and the largest weight (`moved`: how far they went from zero)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)][:-1]
    out = []
    for i, lin in enumerate(linears):
        parts = [lin.weight.detach()] + ([lin.bias.detach()[:, None]] if lin.bias is not None else [])
        w = torch.cat(parts, dim=1).double()
        distinct = len(np.unique(np.round(w.cpu().numpy() / IDENTICAL).astype(np.int64), axis=0))
        out.append({"layer": i + 1, "width": w.shape[0], "distinct": distinct,
                    "spread": float((w - w[:1]).abs().max()), "moved": float(w.abs().max())})
    return out


def symmetric_layers(model: nn.Module) -> list[int]:
    """The hidden Linear layers (1 = first) of more than one unit whose units are all identical."""
    return [s["layer"] for s in unit_symmetry(model) if s["width"] > 1 and s["distinct"] == 1]
