"""Data augmentation applied to each training batch on the device (never at evaluation).

Labels are unchanged. Each function takes a batch `x` (n, ...) and returns a new tensor;
random draws use the global torch RNG, which `seed_everything` seeds."""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnjournal.config import AugmentConfig
from nnjournal.data.corruption import corruption_steps

Augment = Callable[[torch.Tensor], torch.Tensor]


def gaussian_noise(std: float) -> Augment:
    """Additive N(0, std^2) noise on every input feature (inputs are standardized, so std is
    in units of one feature's spread)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x + std * torch.randn_like(x)

    return apply


def feature_dropout(p: float) -> Augment:
    """Zero a random fraction `p` of each example's input features (no rescaling: a missing
    feature reads as its mean after standardization)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x * (torch.rand_like(x) >= p)

    return apply


def build_augment(cfg: AugmentConfig) -> Augment | None:
    """One function applying every augmentation the config switches on, or None."""
    steps: list[Augment] = []
    if cfg.feature_dropout > 0:
        steps.append(feature_dropout(cfg.feature_dropout))
    if cfg.noise_std > 0:
        steps.append(gaussian_noise(cfg.noise_std))
    steps += corruption_steps(cfg)  # denoising corruptions and clipping (data/corruption.py)
    if not steps:
        return None

    def apply(x: torch.Tensor) -> torch.Tensor:
        for step in steps:
            x = step(x)
        return x

    return apply
