"""The training loop.

One step, in order: (perturb the weights ->) forward -> data loss (+ weight penalty) ->
backward (-> restore the clean weights) -> clip -> optimizer step -> zero grads (-> max-norm
constraint) (-> per-batch lr schedule). Batches are index slices of tensors already on the
device; per-batch numbers stay on the device and are read once per epoch, so the loop costs
about what a hand-written PyTorch loop costs (benchmarks/trainer_overhead.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from torch import nn

from nnjournal.config import TrainingConfig, deep_merge, format_validation_error
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.evaluation.metrics import lower_is_better
from nnjournal.models.mlp import weight_parameters
from nnjournal.regularization.label_smoothing import smoothed_loss
from nnjournal.regularization.max_norm import apply_max_norm
from nnjournal.regularization.penalties import WeightPenalty
from nnjournal.regularization.weight_noise import perturbed_weights
from nnjournal.tasks import Task
from nnjournal.tasks import get as get_task
from nnjournal.training.checkpoint import (
    load_checkpoint,
    optimizer_state_from_checkpoint,
    save_checkpoint,
)
from nnjournal.training.optim import make_optimizer, make_schedule
from nnjournal.training.progress import EpochProgress
from nnjournal.training.seeding import select_device

EpochCallback = Callable[[int, dict[str, Any]], None]


@dataclass
class History:
    """Per-epoch records (train/val loss and metrics, lr, time) and how training ended."""

    records: list[dict[str, Any]] = field(default_factory=list)
    monitor: str = "val_loss"
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    restored_best: bool = False
    train_time_s: float = 0.0

    def series(self, key: str) -> list[float]:
        return [r[key] for r in self.records if key in r]

    def to_dict(self) -> dict[str, Any]:
        """How training ended; deterministic for a seed (the wall time is kept apart)."""
        return {
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stopped_early": self.stopped_early,
            "restored_best": self.restored_best,
            "epochs_run": len(self.records),
        }


def fit(
    model: nn.Module,
    train: Split | tuple[torch.Tensor, torch.Tensor],
    val: Split | tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    task: Task | str = "classification",
    config: TrainingConfig | None = None,
    seed: int = 0,
    quiet: bool = True,
    on_epoch_end: Sequence[EpochCallback] = (),
    checkpoint: Path | None = None,
    resume: bool = False,
    augment: Callable[[torch.Tensor], torch.Tensor] | dict[str, Any] | None = None,
    **overrides: Any,
) -> History:
    """Train `model` in place and return its `History`.

    `config` is a `TrainingConfig`; keyword overrides set its fields, e.g.
    `fit(model, (x, y), epochs=20, optimizer={"name": "sgd", "lr": 0.1})`. With a validation
    split the best epoch (by `early_stopping.monitor`) is remembered and its weights are
    restored at the end (`early_stopping.restore_best`), also when training runs all epochs.
    `checkpoint` is a path stem: state is saved there atomically every
    `checkpoint_every_s` seconds, and `resume=True` continues from it. `augment` transforms
    each training batch's inputs: a function, or the `augment` config section as a dict
    (default: built from `config.augment`).
    """
    if isinstance(augment, dict):  # `augment={...}` is the config section, like every other keyword
        overrides["augment"], augment = augment, None
    cfg = _resolve_config(config, overrides)
    train, val = _as_split(train), (_as_split(val) if val is not None else None)
    augment = augment if augment is not None else build_augment(cfg.augment)
    if isinstance(task, str):
        task = _task_for(task, train)
    device = select_device(cfg.device)
    model.to(device)
    x, y = train.x.to(device), train.y.to(device)
    val = val.to(device) if val is not None else None
    n = len(x)
    if n == 0:
        raise ValueError("the training split is empty")

    batch_size = {"batch": n, "stochastic": 1}.get(cfg.regime, min(cfg.batch_size, n))
    steps_per_epoch = math.ceil(n / batch_size)
    optimizer = make_optimizer(model.parameters(), cfg.optimizer)
    scheduler, schedule_per_batch = make_schedule(optimizer, cfg.schedule, cfg.epochs, steps_per_epoch)
    penalty = WeightPenalty(cfg.penalty.l1, cfg.penalty.l2)
    train_loss = smoothed_loss(task, cfg.label_smoothing) if cfg.label_smoothing else task.loss
    max_norm_weights = weight_parameters(model) if cfg.max_norm is not None else []
    noisy_weights = weight_parameters(model) if cfg.weight_noise > 0 else []
    monitor = cfg.early_stopping.monitor if val is not None else "train_loss"
    check_monitor(monitor, task, val is not None)
    minimize = (
        lower_is_better(monitor) if cfg.early_stopping.mode == "auto" else cfg.early_stopping.mode == "min"
    )
    grad_names = [name for name, p in model.named_parameters() if p.requires_grad and p.dim() > 1]

    generator = torch.Generator().manual_seed(seed)  # batch order, independent of model init
    history = History(monitor=monitor)
    best_state: dict[str, torch.Tensor] | None = None
    waited, start_epoch, elapsed_before = 0, 0, 0.0
    if resume and checkpoint is not None and checkpoint.with_suffix(".json").exists():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(optimizer_state_from_checkpoint(state["optimizer"]))
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = History(**state["history"])
        best_state = state.get("best_state")
        waited, start_epoch = state["waited"], len(history.records)
        elapsed_before = history.train_time_s

    progress = EpochProgress(cfg.epochs, "training", quiet)
    last_save = time.perf_counter()
    t0 = time.perf_counter()
    try:
        for epoch in range(start_epoch, cfg.epochs):
            epoch_start = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=generator).to(device)
            loss_sum = torch.zeros((), device=device)
            penalty_sum = torch.zeros((), device=device)
            score_sum = torch.zeros((), device=device)
            grad_sq = torch.zeros(len(grad_names), device=device) if cfg.log_grad_norms else None
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                xb, yb = x[idx], y[idx]
                if augment is not None:
                    xb = augment(xb)
                with perturbed_weights(noisy_weights, cfg.weight_noise):
                    outputs = model(xb)
                    data_loss = train_loss(outputs, yb)
                    loss = data_loss
                    if penalty:
                        pen = penalty(model)
                        loss = data_loss + pen
                        penalty_sum += pen.detach() * len(idx)
                    loss.backward()
                if grad_sq is not None:
                    grad_sq += _grad_norms_sq(model, grad_names)
                if cfg.clip.value is not None:
                    nn.utils.clip_grad_value_(model.parameters(), cfg.clip.value)
                if cfg.clip.norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.clip.norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if max_norm_weights:
                    apply_max_norm(max_norm_weights, cfg.max_norm)
                if schedule_per_batch:
                    scheduler.step()
                loss_sum += data_loss.detach() * len(idx)
                score = task.batch_score(outputs.detach(), yb)
                if score is not None:
                    score_sum += score

            record: dict[str, Any] = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
            record["train_loss"] = float(loss_sum) / n
            if penalty:
                record["train_penalty"] = float(penalty_sum) / n
            if task.score_name is not None:
                record[f"train_{task.score_name}"] = float(score_sum) / n
            if val is not None:
                record.update(_validate(model, task, val))
            if grad_sq is not None:
                norms = (grad_sq / steps_per_epoch).sqrt().tolist()
                record["grad_norm"] = dict(zip(grad_names, norms, strict=True))
            if scheduler is not None and not schedule_per_batch:
                scheduler.step()
            record["time_s"] = time.perf_counter() - epoch_start
            history.records.append(record)

            value = record[monitor]  # check_monitor made sure every epoch records it
            if _improved(value, history.best_value, minimize, cfg.early_stopping.min_delta):
                history.best_epoch, history.best_value, waited = epoch + 1, value, 0
                if cfg.early_stopping.restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
            for callback in on_epoch_end:
                callback(epoch, record)
            progress.update(epoch, record)
            stop = cfg.early_stopping.patience is not None and waited >= cfg.early_stopping.patience
            history.stopped_early = stop and epoch + 1 < cfg.epochs
            history.train_time_s = elapsed_before + time.perf_counter() - t0
            if checkpoint is not None and (
                stop or epoch + 1 == cfg.epochs or time.perf_counter() - last_save >= cfg.checkpoint_every_s
            ):
                save_checkpoint(
                    checkpoint,
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict() if scheduler is not None else None,
                        "generator": generator.get_state(),
                        "torch_rng": torch.get_rng_state(),
                        "history": _history_state(history),
                        "best_state": best_state,
                        "waited": waited,
                    },
                )
                last_save = time.perf_counter()
            if stop:
                break
    finally:
        progress.close()

    if best_state is not None and history.best_epoch != len(history.records):
        model.load_state_dict(best_state)
        history.restored_best = True
    history.train_time_s = elapsed_before + time.perf_counter() - t0
    return history


@torch.inference_mode()
def predict_outputs(model: nn.Module, x: torch.Tensor, batch_size: int = 8192) -> Any:
    """Model outputs in evaluation mode (dropout off, batch norm uses running estimates): a
    tensor, or a NamedTuple of tensors for models that return one (autoencoders)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunks = [model(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)]
    model.train(was_training)
    if chunks and isinstance(chunks[0], tuple):
        # Structured outputs (an autoencoder's reconstruction, code, penalty): join field by field.
        return type(chunks[0])(*(torch.cat(parts) for parts in zip(*chunks, strict=True)))
    return torch.cat(chunks) if chunks else torch.empty(0)


def monitor_choices(task: Task, has_val: bool) -> list[str]:
    """The per-epoch numbers early stopping can watch for this task."""
    splits = ["train", "val"] if has_val else ["train"]
    names = ["loss"] + ([task.score_name] if task.score_name is not None else [])
    return [f"{split}_{name}" for split in splits for name in names]


def check_monitor(monitor: str, task: Task, has_val: bool) -> None:
    """Refuse, before the first epoch, an early-stopping monitor no epoch will record."""
    choices = monitor_choices(task, has_val)
    if monitor not in choices:
        raise NNJError(
            f"training.early_stopping.monitor = {monitor!r} is not recorded for this task; "
            f"choose from {', '.join(choices)}"
        )


def _validate(model: nn.Module, task: Task, val: Split) -> dict[str, float]:
    outputs = predict_outputs(model, val.x)
    out = {"val_loss": float(task.loss(outputs, val.y))}
    if task.score_name is not None:
        out[f"val_{task.score_name}"] = float(task.batch_score(outputs, val.y)) / len(val)
    return out


def _grad_norms_sq(model: nn.Module, names: list[str]) -> torch.Tensor:
    params = dict(model.named_parameters())
    grads = [params[n].grad for n in names]
    return torch.stack([g.pow(2).sum() if g is not None else g.new_zeros(()) for g in grads])


def _improved(value: float, best: float | None, minimize: bool, min_delta: float) -> bool:
    if best is None:
        return not np.isnan(value)
    return value < best - min_delta if minimize else value > best + min_delta


def _history_state(h: History) -> dict[str, Any]:
    return {
        "records": h.records,
        "monitor": h.monitor,
        "best_epoch": h.best_epoch,
        "best_value": h.best_value,
        "stopped_early": h.stopped_early,
        "train_time_s": h.train_time_s,
    }


def _resolve_config(config: TrainingConfig | None, overrides: dict[str, Any]) -> TrainingConfig:
    if config is None and not overrides:
        return TrainingConfig()
    base = config.model_dump() if config is not None else {}
    try:
        return TrainingConfig.model_validate(deep_merge(base, overrides))
    except ValidationError as err:
        raise NNJError(f"invalid training options: {format_validation_error(err)}") from None


def _as_split(data: Split | tuple[torch.Tensor, torch.Tensor]) -> Split:
    if isinstance(data, Split):
        return data
    x, y = data
    return Split(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y))


def _task_for(name: str, train: Split) -> Task:
    if name == "classification":
        n_classes = int(train.y.max()) + 1
        info = DataInfo("arrays", tuple(train.x.shape[1:]), n_classes=max(n_classes, 2))
    else:
        info = DataInfo("arrays", tuple(train.x.shape[1:]))
    return get_task(name, info)
