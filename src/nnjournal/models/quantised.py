"""A quantised code for compression: each code unit, bounded to 0..1 by a sigmoid, is rounded
to one of 2^bits levels, so an image costs `code_size * bits` bits (fixed-length) or fewer
with an entropy coder (evaluation/compression.py measures both).

Rounding has zero gradient almost everywhere, so training needs a stand-in:
- `noise` (Ballé et al. 2017): add uniform noise of one quantisation step, U(-D/2, D/2) with
  D = 1 / (2^bits - 1), which has the rounding error's spread; the decoder learns to read
  codes that are only known to within a step.
- `ste` (straight-through estimator, Bengio et al. 2013): round in the forward pass, pass the
  gradient through as if the rounding were the identity.
In evaluation mode both round, so test numbers are those of the codes a decoder would get.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from nnjournal.models.autoencoders import AEOutput, DenseAutoencoder

QuantiserMode = Literal["noise", "ste"]


class UniformQuantiser(nn.Module):
    """Rounds values in [0, 1] to the 2^bits levels k / (2^bits - 1), k = 0 .. 2^bits - 1."""

    def __init__(self, bits: int, mode: QuantiserMode = "noise") -> None:
        super().__init__()
        if not 1 <= bits <= 16:
            raise ValueError(f"code_bits must be 1..16, got {bits}")
        if mode not in ("noise", "ste"):
            raise ValueError(f"quantiser must be 'noise' or 'ste', got {mode!r}")
        self.bits, self.mode = bits, mode
        self.top = float(2**bits - 1)  # the largest symbol

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        rounded = torch.round(code * self.top) / self.top
        if not self.training:
            return rounded
        if self.mode == "ste":
            return code + (rounded - code).detach()
        return code + (torch.rand_like(code) - 0.5) / self.top

    def symbols(self, code: torch.Tensor) -> torch.Tensor:
        """The integers 0 .. 2^bits - 1 a quantised code stands for, (n, units) int64."""
        return torch.round(code.clamp(0, 1) * self.top).long()


class QuantisedAutoencoder(nn.Module):
    """A dense autoencoder with a linear code layer, whose code is batch-normalised, bounded
    to (0, 1) by a sigmoid and passed through a `UniformQuantiser` before the decoder. The
    output's `code` is the quantised code (what would be transmitted).

    Why the batch norm: with PyTorch's default initialisation the code layer's pre-activations
    on MNIST spread by ~0.06 across images, so sigmoid codes start at 0.5 +- 0.015, far below
    one 4-bit step; the code carries nothing, and the slope 1/4 of the sigmoid makes the
    gradient that would fix it 16x smaller than a linear code's: training sat on the
    mean-image plateau for epochs (measured: test MSE 0.066 after 3 epochs vs the mean
    image's 0.067). Normalised pre-activations start with unit spread, in the sigmoid's
    sensitive range; at evaluation the running statistics make it a fixed affine map."""

    def __init__(self, autoencoder: DenseAutoencoder, bits: int, mode: QuantiserMode = "noise") -> None:
        super().__init__()
        if autoencoder.enc_acts[-1] != "linear":
            raise ValueError("QuantisedAutoencoder bounds the code itself: give it a linear code layer")
        self.autoencoder = autoencoder
        self.norm = nn.BatchNorm1d(autoencoder.encoder[-1].out_features)
        self.quantiser = UniformQuantiser(bits, mode)

    @property
    def code_bits(self) -> int:
        return self.quantiser.bits

    @property
    def code_size(self) -> int:
        return self.autoencoder.encoder[-1].out_features

    def bounded_code(self, x: torch.Tensor) -> torch.Tensor:
        """The code before rounding, (n, code_size) in (0, 1)."""
        return torch.sigmoid(self.norm(self.autoencoder.encode(x)))

    def forward(self, x: torch.Tensor) -> AEOutput:
        ae = self.autoencoder
        code = self.bounded_code(x)
        penalty = ae.sparsity(code) if self.training else code.new_zeros(code.shape[0])
        q = self.quantiser(code)
        return AEOutput(ae.decode(q), q, penalty)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantiser(self.bounded_code(x))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(code)


def check_quantised_config(cfg: object) -> None:
    """One clear line for a `model.code_bits` set on a model that cannot have a quantised code."""
    from nnjournal.errors import NNJError

    if getattr(cfg, "kind", "dense") != "dense":
        raise NNJError(
            "model.code_bits needs model.kind = 'dense' (a conv code is a feature map); unset code_bits"
        )
    if getattr(cfg, "code_activation", None) != "sigmoid":
        raise NNJError(
            f"model.code_bits needs code values in 0..1: set model.code_activation = 'sigmoid' "
            f"(got {getattr(cfg, 'code_activation', None)!r})"
        )
    if getattr(cfg, "contractive", 0.0) > 0:
        raise NNJError(
            "model.code_bits: the contractive penalty needs the unrounded encoder; set contractive = 0"
        )
