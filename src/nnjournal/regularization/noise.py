"""Gaussian noise injection on hidden activations: `h + N(0, std^2)` while training, the
identity at evaluation. Noise on the inputs is data augmentation (`training.augment.noise_std`)."""

from __future__ import annotations

import torch
from torch import nn


class GaussianNoise(nn.Module):
    def __init__(self, std: float) -> None:
        super().__init__()
        if std < 0:
            raise ValueError(f"GaussianNoise std must be >= 0, got {std}")
        self.std = float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"std={self.std:g}"
