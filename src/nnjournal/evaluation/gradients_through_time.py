"""How much gradient reaches each time step: the vanishing gradient made visible.

Back-propagation through time multiplies one Jacobian per step; in an Elman network their
product shrinks (or grows) geometrically with the distance from the loss, so early inputs
barely affect learning. The LSTM's additive cell state and the GRU's interpolation give the
gradient a path that need not shrink. This measures ||dL/dx_t|| for every input step t of a
batch, where the loss reads the output at the last step (a many-to-one task).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def input_gradient_norms(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """(T,) the norm of the loss's gradient with respect to each step's input, averaged over
    the batch. `model` maps inputs (B, T, I) to outputs; `loss_fn` maps those to a scalar;
    `embed` turns token ids into the (B, T, I) inputs first (the gradient is then measured at
    the embeddings). Parameters' `.grad` are left untouched (only the inputs' gradient is taken)."""
    inputs = (embed(x) if embed is not None else x.float()).detach().requires_grad_(True)
    loss = loss_fn(model(inputs))
    (grad,) = torch.autograd.grad(loss, inputs)
    return grad.flatten(2).norm(dim=2).mean(0)  # (T,)
