"""The learning-rate range test: train for a short while with the learning rate growing
exponentially every mini-batch, watch the (smoothed) loss, and read a good rate off the curve.

The step is the task's own (`task.training_step`), with the recipe's optimizer; the model,
the optimizer's state and the random state are put back bit for bit afterwards, so a sweep
leaves nothing behind."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nnjournal.data.bundle import Split


@dataclass
class RangeTest:
    """What a sweep saw: the rate and the raw and smoothed loss of every step taken, why it
    stopped, and the two suggestions (`steepest`: where the smoothed loss falls fastest per
    decade of rate; `min_over_10`: a tenth of the rate at the smoothed minimum), both read
    off the zero-lag `centered` curve."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)  # online moving average: decides the stop
    centered: list[float] = field(default_factory=list)  # zero-lag average: the suggestions' curve
    stopped: str = ""
    steepest: float | None = None
    min_over_10: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lrs": self.lrs,
            "losses": self.losses,
            "smoothed": self.smoothed,
            "centered": self.centered,
            "stopped": self.stopped,
            "steepest": self.steepest,
            "min_over_10": self.min_over_10,
        }


def lr_range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: Split,
    task: Any,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    batch_size: int = 64,
    beta: float = 0.9,
    diverge: float = 4.0,
    seed: int = 0,
) -> RangeTest:
    """Sweep the rate from `start_lr` to `end_lr` over `steps` mini-batches (geometrically),
    stopping early once the smoothed loss exceeds `diverge` times its best or the loss is not
    finite. `beta` is the exponential moving average's weight (bias-corrected, as in Smith
    2017 and fastai). The model and optimizer are restored exactly afterwards."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    saved_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_opt = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    device = next(model.parameters()).device
    train = train.to(device)
    result = RangeTest()
    factor = (end_lr / start_lr) ** (1.0 / max(1, steps - 1))
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            _sweep(model, optimizer, train, task, result, start_lr, factor, steps, batch_size, beta, diverge, seed)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        model.train(was_training)
        optimizer.zero_grad(set_to_none=True)
    result.steepest, result.min_over_10 = suggest(result.lrs, result.losses, beta)
    result.centered = centered(result.losses, beta).tolist() if result.losses else []
    return result


def _sweep(
    model: nn.Module, optimizer: torch.optim.Optimizer, train: Split, task: Any, result: RangeTest,
    lr: float, factor: float, steps: int, batch_size: int, beta: float, diverge: float, seed: int,
) -> None:
    generator = torch.Generator().manual_seed(seed)
    model.train()
    avg, best = 0.0, math.inf
    step = 0
    while True:  # epochs over the training split until `steps` batches are done
        for idx in train.batch_indices(min(batch_size, len(train)), generator, train.x.device):
            for group in optimizer.param_groups:
                group["lr"] = lr
            out = task.training_step(model, train.take(idx), None)
            loss = float(out.loss.detach())
            if not math.isfinite(loss):
                result.stopped = f"the loss became {loss} at lr {lr:.3g}"
                return
            out.loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            avg = beta * avg + (1 - beta) * loss
            smooth = avg / (1 - beta**step)
            result.lrs.append(lr)
            result.losses.append(loss)
            result.smoothed.append(smooth)
            best = min(best, smooth)
            if step > 1 and smooth > diverge * best:
                result.stopped = f"the smoothed loss passed {diverge:g}x its best at lr {lr:.3g}"
                return
            if step >= steps:
                result.stopped = f"all {steps} steps done"
                return
            lr *= factor


def centered(losses: list[float], beta: float) -> np.ndarray:
    """A zero-lag moving average of the raw losses over the moving average's span
    (2 / (1 - beta) - 1 steps: 19 for 0.9; edges padded). The online average that decides
    when to stop lags ~1 / (1 - beta) steps behind, which would move the steepest point to
    rates up to a decade too high."""
    w = max(1, int(round(2 / (1 - beta))) - 1) | 1
    w = min(w, len(losses) // 2 * 2 - 1) if len(losses) > 2 else 1
    padded = np.pad(np.asarray(losses, dtype=float), (w // 2, w // 2), mode="edge")
    return np.convolve(padded, np.ones(w) / w, mode="valid")


def suggest(lrs: list[float], losses: list[float], beta: float = 0.9) -> tuple[float | None, float | None]:
    """(steepest descent, minimum / 10), read off the zero-lag smoothed loss. The steepest
    point is the most negative slope against log10(rate), searched before the minimum (past
    it the loss is already rising); the first tenth of the steps is left out."""
    if len(lrs) < 3:
        return None, None
    loss = centered(losses, beta)
    log_lr = np.log10(np.asarray(lrs))
    lowest = int(np.argmin(loss))
    min_over_10 = float(lrs[lowest]) / 10
    skip = min(len(lrs) // 10, max(0, lowest - 2))
    grad = np.gradient(loss, log_lr)
    window = grad[skip : max(lowest, skip + 1) + 1]
    steepest = float(lrs[skip + int(np.argmin(window))])
    return steepest, min_over_10
