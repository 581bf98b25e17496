"""Multilayer perceptron and the single-layer perceptron.

One hidden block is `Linear -> [norm] -> activation -> [noise] -> dropout` (norm placed
`before_activation`, as in the batch-norm paper) or `Linear -> activation -> [norm] ->
dropout` (`after_activation`, which often wins in practice: the lecture notes say both win
on different data). Dropout is inverted (scaled by 1/(1-p) while training), so nothing
changes at test time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nnjournal.models.init import init_weights
from nnjournal.regularization.noise import GaussianNoise

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
}


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class MLP(nn.Sequential):
    """Flatten -> [input dropout] -> hidden blocks -> Linear(out). Outputs are logits (or
    raw values for regression): the task applies sigmoid/softmax inside its loss."""

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        activation: str = "relu",
        init: str = "default",
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        norm: str = "none",
        norm_placement: str = "before_activation",
        noise_hidden: float = 0.0,
        init_std: float | None = None,
        residual: bool = False,
    ) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        if dropout_input > 0:
            layers.append(nn.Dropout(dropout_input))
        width = in_features
        for units in hidden:
            block: list[nn.Module] = [nn.Linear(width, units), make_activation(activation)]
            if norm != "none":
                norm_layer = nn.BatchNorm1d(units) if norm == "batch" else nn.LayerNorm(units)
                block.insert(1 if norm_placement == "before_activation" else 2, norm_layer)
            if noise_hidden > 0:
                block.append(GaussianNoise(noise_hidden))
            if dropout_hidden > 0:
                block.append(nn.Dropout(dropout_hidden))
            # A residual block adds its input back (x + f(x)), so the gradient has a path that
            # skips every layer; where the width changes there is nothing to add.
            layers.extend([Residual(*block)] if residual and units == width else block)
            width = units
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)
        init_weights(self, init, activation, init_std)


class Residual(nn.Sequential):
    """`x + f(x)` for a block `f` that keeps the width."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + super().forward(x)


class Perceptron(nn.Sequential):
    """A single linear layer `z = x.w + b`: a linear decision boundary."""

    def __init__(self, in_features: int, out_features: int, *, init: str = "default") -> None:
        super().__init__(nn.Flatten(), nn.Linear(in_features, out_features))
        init_weights(self, init)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
