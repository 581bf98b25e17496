"""An autoencoder that takes blanks: NaN inputs are set to 0 and flagged by a 0/1 indicator
per feature, the inner dense autoencoder sees (values, indicators) and its first n_features
outputs are the reconstruction. Trained with random cells hidden (the `imputation` task,
`data.imputer = "autoencoder"`), it learns to fill a blank from the rest of the row; the
indicator tells a hidden value from a real 0 (a standardized mean, a "no")."""

from __future__ import annotations

import torch
from torch import nn

from nnjournal.models.autoencoders import AEOutput


class MaskedInputAutoencoder(nn.Module):
    def __init__(self, inner: nn.Module, n_features: int) -> None:
        super().__init__()
        self.inner = inner
        self.n_features = n_features

    def forward(self, x: torch.Tensor) -> AEOutput:
        gap = torch.isnan(x)
        out = self.inner(torch.cat([x.masked_fill(gap, 0.0), gap.to(x.dtype)], dim=1))
        return AEOutput(out.recon[:, : self.n_features], out.code, out.penalty)
