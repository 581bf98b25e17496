"""Weight penalties added to the loss (design: a small object, `__call__(model)` -> scalar).

L2 (ridge) adds `l2 * sum w^2`: weights shrink towards zero but rarely reach it. L1 (lasso)
adds `l1 * sum |w|`: its constant pull drives many weights to exactly (or nearly) zero, a
sparse model. Both together are the elastic net. Biases and normalization scales are not
penalised (as in Keras' kernel_regularizer and scikit-learn's MLP)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def weight_parameters(model: nn.Module) -> list[torch.Tensor]:
    """The weights that penalties apply to: matrices and kernels, not biases or norm scales."""
    return [p for p in model.parameters() if p.requires_grad and p.dim() > 1]


class WeightPenalty:
    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        if l1 < 0 or l2 < 0:
            raise ValueError(f"penalty strengths must be >= 0, got l1={l1}, l2={l2}")
        self.l1, self.l2 = float(l1), float(l2)

    def __bool__(self) -> bool:
        return self.l1 > 0 or self.l2 > 0

    def __call__(self, model: nn.Module) -> torch.Tensor:
        weights = weight_parameters(model)
        total = weights[0].new_zeros(())
        if self.l1:
            total = total + self.l1 * sum(w.abs().sum() for w in weights)
        if self.l2:
            total = total + self.l2 * sum(w.pow(2).sum() for w in weights)
        return total

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> WeightPenalty:
        return cls(**cfg)

    def describe(self) -> str:
        if self.l1 and self.l2:
            return f"elastic net (L1 {self.l1:g} + L2 {self.l2:g}) in the loss"
        if self.l1:
            return f"L1 {self.l1:g} in the loss"
        if self.l2:
            return f"L2 {self.l2:g} in the loss"
        return "none"


def near_zero_fraction(model: nn.Module, tol: float = 1e-3) -> float:
    """Fraction of weights with |w| < tol: how sparse L1 made the model."""
    weights = weight_parameters(model)
    total = sum(w.numel() for w in weights)
    small = sum(int((w.detach().abs() < tol).sum()) for w in weights)
    return small / max(total, 1)
