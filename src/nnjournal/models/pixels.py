"""The first layer of every model on uint8 images: pixels -> standardized floats, per batch.

Keeping this inside the model (as buffers, saved with the weights) means the data can stay
uint8 on the device, augmentation can work in pixel units, and a saved model standardizes
raw images itself in `nnj predict`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class PixelStandardize(nn.Module):
    """`(x - mean) / std` per channel, for uint8 or float inputs in pixel units (0..255)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("inv_std", 1.0 / torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.mean.dtype) - self.mean) * self.inv_std

    def extra_repr(self) -> str:
        return f"channels={self.mean.shape[1]}"


class ImageModel(nn.Sequential):
    """`pixels` (standardize) then `net` (any model that takes float images)."""

    def __init__(self, pixels: PixelStandardize, net: nn.Module) -> None:
        super().__init__()
        self.add_module("pixels", pixels)
        self.add_module("net", net)
