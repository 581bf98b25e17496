"""Weight initialization schemes. `zeros` is offered to show why it fails: every unit of a
layer gets the same gradient, so the units never become different (symmetry is not broken)."""

from __future__ import annotations

from torch import nn

INIT_SCHEMES = ("default", "zeros", "normal", "xavier", "he")


def init_weights(model: nn.Module, scheme: str, activation: str = "relu", std: float | None = None) -> None:
    """Re-initialize every Linear/Conv weight of `model` in place; biases start at zero
    (except with `default`, which keeps PyTorch's own initialization). `std`: the `normal`
    scheme's standard deviation (default 0.01)."""
    if scheme == "default":
        return
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {INIT_SCHEMES}, got {scheme!r}")
    nonlinearity = "leaky_relu" if activation in ("leaky_relu", "prelu") else "relu"
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            continue
        w = module.weight
        if scheme == "zeros":
            nn.init.zeros_(w)
        elif scheme == "normal":
            nn.init.normal_(w, mean=0.0, std=0.01 if std is None else std)
        elif scheme == "xavier":
            nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(_gain_name(activation)))
        elif scheme == "he":
            nn.init.kaiming_normal_(w, nonlinearity=nonlinearity)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _gain_name(activation: str) -> str:
    # SELU's recommended gain differs from calculate_gain's; ELU/PReLU have none, so use linear.
    return {
        "sigmoid": "sigmoid",
        "tanh": "tanh",
        "relu": "relu",
        "leaky_relu": "leaky_relu",
        "selu": "selu",
    }.get(activation, "linear")
