"""The non-finite guard: a loss or gradient that becomes NaN or infinite stops training at
once with a diagnosis, instead of training on garbage and failing later with "Input contains
NaN" (or concluding that the model underfits)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nnjournal.errors import NNJError


class NonFiniteError(NNJError):
    """Training produced a NaN or infinite loss or gradient."""


def first_non_finite_layer(model: nn.Module, step: Any) -> str:
    """Run `step()` (forward + loss) once more with hooks and name the first module whose
    output is non-finite, else the first parameter whose gradient is."""
    found: list[str] = []

    def hook(name: str):
        def check(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tensors = output if isinstance(output, tuple) else (output,)
            for t in tensors:
                floating = isinstance(t, torch.Tensor) and t.is_floating_point()
                if not found and floating and not torch.isfinite(t).all():
                    found.append(f"the output of layer {name!r} ({type(_module).__name__})")

        return check

    handles = [
        m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n and not list(m.children())
    ]
    try:
        loss = step()
        if not found and torch.isfinite(loss).all():
            loss.backward()
            for name, p in model.named_parameters():
                if p.grad is not None and not torch.isfinite(p.grad).all():
                    found.append(f"the gradient of {name!r}")
                    break
    except Exception:  # the diagnosis must never hide the original failure
        pass
    finally:
        for h in handles:
            h.remove()
        model.zero_grad(set_to_none=True)
    if not found:
        bad = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
        if bad:
            return f"the weights of {bad[0]!r} (already non-finite)"
        return "the loss itself (every layer's output is finite: check the targets for NaN or huge values)"
    return found[0]


def check_finite(
    loss: torch.Tensor, *, epoch: int, batch: int, lr: float, model: nn.Module, step: Any
) -> None:
    """Raise `NonFiniteError` with a diagnosis when `loss` is NaN or infinite. `step` re-runs the
    batch's forward and loss for the diagnosis."""
    if not math.isfinite(loss.item()):
        raise diverged(loss, epoch=epoch, batch=batch, lr=lr, model=model, step=step)


def diverged(
    loss: torch.Tensor, *, epoch: int, batch: int, lr: float, model: nn.Module, step: Any
) -> NonFiniteError:
    """The error for a non-finite `loss`, with the first layer or gradient that went non-finite
    (found by re-running `step`). Trainers test `math.isfinite(loss.item())` inline and call this
    only when it fails, so the hot path costs one read of the loss, as in a hand-written loop."""
    value = loss.item()
    where = first_non_finite_layer(model, step)
    return NonFiniteError(
        f"training diverged: the loss became {value} at epoch {epoch}, batch {batch} (learning rate "
        f"{lr:g}); the first non-finite value is {where}. Try a learning rate 10x lower "
        "(training.optimizer.lr), gradient clipping (training.clip.norm = 1.0), or check the inputs "
        "for huge values"
    )
