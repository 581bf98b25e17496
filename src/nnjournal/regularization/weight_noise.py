"""Noise injection on the weights (Graves 2011; Goodfellow et al., Deep Learning §7.5): each
training step takes its forward and backward pass at weights `W + N(0, std^2)`, fresh noise
per step, and the optimizer then updates the clean weights with that gradient. For small noise
this is a penalty on the loss's sensitivity to the weights: it favours flat minima. Nothing
changes at evaluation. Only weight matrices and kernels are perturbed, not biases or
normalization scales, as for the L1/L2 penalties."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch


@contextmanager
def perturbed_weights(weights: Sequence[torch.Tensor], std: float) -> Iterator[None]:
    """Add Gaussian noise of `std` to `weights` in place for the body of the `with` block, then
    put back the exact clean values (a copy, not a subtraction, so no rounding drift)."""
    if std <= 0 or not weights:
        yield
        return
    with torch.no_grad():
        clean = [w.detach().clone() for w in weights]
        for w in weights:
            w.add_(torch.randn_like(w), alpha=std)
    try:
        yield
    finally:
        with torch.no_grad():
            for w, c in zip(weights, clean, strict=True):
                w.copy_(c)
