"""Optimizers and learning-rate schedules from their config sections."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

from nnjournal.config import OptimizerConfig, ScheduleConfig


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    p, lr, wd = list(params), cfg.lr, cfg.weight_decay
    if cfg.name == "sgd":
        return torch.optim.SGD(p, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=wd)
    if cfg.name == "adagrad":
        return torch.optim.Adagrad(p, lr=lr, weight_decay=wd)
    if cfg.name == "adadelta":
        return torch.optim.Adadelta(p, lr=lr, weight_decay=wd)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(p, lr=lr, momentum=cfg.momentum, weight_decay=wd)
    if cfg.name == "adam":
        return torch.optim.Adam(p, lr=lr, betas=cfg.betas, weight_decay=wd)
    if cfg.name == "adamw":
        return torch.optim.AdamW(p, lr=lr, betas=cfg.betas, weight_decay=wd)
    raise ValueError(f"unknown optimizer {cfg.name!r}")


def describe_weight_decay(cfg: OptimizerConfig) -> str:
    if cfg.weight_decay == 0:
        return "none"
    if cfg.name == "adamw":
        return f"{cfg.weight_decay:g}, decoupled from the gradient (AdamW)"
    return f"{cfg.weight_decay:g}, coupled: added to the gradient as an L2 term ({cfg.name})"


def make_schedule(
    optimizer: torch.optim.Optimizer,
    cfg: ScheduleConfig,
    epochs: int,
    steps_per_epoch: int,
    minimize: bool = True,
    min_delta: float = 0.0,
) -> tuple[torch.optim.lr_scheduler.LRScheduler | ReduceLROnPlateau | None, bool]:
    """The scheduler and whether it steps every batch (one-cycle) rather than every epoch.
    `plateau` watches the early-stopping monitor and is stepped with its value
    (`step_schedule`); `minimize` and `min_delta` are early stopping's, so both agree on
    which epochs improved."""
    if cfg.name == "none":
        return None, False
    if cfg.name == "plateau":
        return ReduceLROnPlateau(
            optimizer,
            "min" if minimize else "max",
            factor=cfg.gamma,
            patience=cfg.patience,
            threshold=min_delta,
            threshold_mode="abs",
            min_lr=cfg.min_lr,
        ), False
    if cfg.name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, cfg.step_size, cfg.gamma), False
    if cfg.name == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, cfg.gamma), False
    if cfg.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs, eta_min=cfg.min_lr), False
    if cfg.name == "onecycle":
        base_lr = optimizer.param_groups[0]["lr"]
        sched = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.max_lr or 10 * base_lr, total_steps=epochs * steps_per_epoch
        )
        return sched, True
    raise ValueError(f"unknown schedule {cfg.name!r}")


def step_schedule(scheduler: torch.optim.lr_scheduler.LRScheduler | ReduceLROnPlateau, monitored: float) -> None:
    """An epoch's end: a plateau schedule is told the monitored value, the others only step."""
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(monitored)
    else:
        scheduler.step()
