"""Gradient check: analytic (autograd) against numeric (central differences) gradients in
float64, on sampled entries of every parameter tensor.

A layer with a wrong backward (a custom `autograd.Function`, a hand-written penalty) shows up
as the parameter tensors whose relative error is far above float64 round-off. Randomness in
the loss (dropout masks, a VAE's sample) is frozen by reseeding before every evaluation, so
the loss is the same function of the weights each time it is called."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

# Central-difference steps, tried in turn: at 1e-6 float64 round-off is ~1e-16 / 1e-6 and the
# truncation error ~1e-12.
STEPS = (1e-6, 1e-7, 1e-5)
TOLERANCE = 1e-5  # a correct float64 gradient agrees to about 1e-8; a wrong one to 1e-1


@dataclass
class ParameterCheck:
    name: str  # the parameter's name in the model, e.g. "features.0.conv.weight"
    shape: tuple[int, ...]
    entries: int  # how many entries were compared
    max_rel_error: float
    max_abs_grad: float

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= TOLERANCE


@dataclass
class GradientCheck:
    rows: list[ParameterCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def failed_layers(self) -> list[str]:
        """The layers (module names) with a parameter whose gradient disagrees."""
        return sorted({r.name.rsplit(".", 1)[0] if "." in r.name else r.name for r in self.rows if not r.passed})

    def table(self) -> tuple[list[str], list[list[str]]]:
        headers = ["parameter", "shape", "entries", "max |grad|", "max relative error", "verdict"]
        rows = [
            [r.name, "x".join(map(str, r.shape)), str(r.entries), f"{r.max_abs_grad:.2e}",
             f"{r.max_rel_error:.2e}", "ok" if r.passed else "WRONG"]
            for r in self.rows
        ]
        return headers, rows


def gradient_check(
    model: nn.Module,
    loss_fn: Callable[[nn.Module], torch.Tensor],
    *,
    entries: int = 6,
    seed: int = 0,
) -> GradientCheck:
    """Compare autograd's gradient of `loss_fn(model)` with central differences on `entries`
    entries of every parameter (half the largest analytic gradients, half at random). The
    model is copied and cast to float64; `loss_fn` gets the copy and must cast its inputs
    with the model (e.g. `x.double()` for float inputs; uint8 images are cast by the model)."""
    net = copy.deepcopy(model).double()
    params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]

    def loss() -> torch.Tensor:
        torch.manual_seed(seed)  # the same dropout mask / latent sample at every evaluation
        return loss_fn(net)

    with torch.random.fork_rng(devices=[]):
        net.zero_grad(set_to_none=True)
        loss().backward()
        analytic = {n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)) for n, p in params}
        gen = torch.Generator().manual_seed(seed)
        result = GradientCheck()
        for name, p in params:
            flat_grad = analytic[name].reshape(-1)
            picks = _sample_entries(flat_grad, entries, gen)
            worst = 0.0
            flat = p.data.view(-1)
            # An entry whose gradient is tiny next to its tensor's largest is all round-off
            # (~1e-11 absolute); the sampled largest entries are where a wrong backward shows.
            floor = max(1e-3 * float(flat_grad.abs().max()), 1e-7)
            # Evaluated with autograd on: a penalty may itself differentiate (Hutchinson's
            # contractive estimator); the entries are changed through .data.
            for i in picks.tolist():
                a = flat_grad[i].item()
                err = 1.0
                # A step that crosses a kink (ReLU at 0, a max-pool tie) spoils one
                # difference; a wrong backward disagrees at every step size.
                for eps in STEPS:
                    old = flat[i].item()
                    flat[i] = old + eps
                    up = loss().item()
                    flat[i] = old - eps
                    down = loss().item()
                    flat[i] = old
                    numeric = (up - down) / (2 * eps)
                    err = min(err, abs(a - numeric) / max(abs(a) + abs(numeric), floor))
                    if err <= TOLERANCE:
                        break
                worst = max(worst, err)
            result.rows.append(
                ParameterCheck(name, tuple(p.shape), len(picks), worst, float(flat_grad.abs().max()))
            )
    return result


def _sample_entries(grad: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    n = grad.numel()
    if n <= k:
        return torch.arange(n)
    top = grad.abs().topk(k // 2).indices
    rand = torch.randperm(n, generator=gen)[: k - len(top)]
    return torch.unique(torch.cat([top, rand]))


def as_float64(batch: object) -> object:
    """A split/batch with every floating-point tensor field in float64 (labels and uint8
    pixels unchanged), for a float64 copy of a model."""
    from dataclasses import fields, replace

    cast = {}
    for f in fields(batch):  # type: ignore[arg-type]
        v = getattr(batch, f.name)
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            cast[f.name] = v.double()
    return replace(batch, **cast)  # type: ignore[type-var]


def check_task_gradients(
    model: nn.Module, task: object, batch: object, *, entries: int = 6, seed: int = 0
) -> GradientCheck:
    """`gradient_check` of the task's own training loss (`task.training_step(...).loss`: the
    data loss plus whatever the model adds, a contractive penalty, a VAE's KL) on `batch`, in
    training mode (batch norm on batch statistics, dropout frozen by the seed)."""
    batch64 = as_float64(batch)

    def loss(net: nn.Module) -> torch.Tensor:
        net.train()
        return task.training_step(net, batch64, None).loss  # type: ignore[attr-defined]

    return gradient_check(model, loss, entries=entries, seed=seed)
