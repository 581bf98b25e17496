"""The supervised trainer.

One step, in order: the task's step (forward -> data loss), inside the weight-noise context
when it is on (-> weight penalty) -> backward (-> clean weights restored) -> non-finite guard
-> clip -> optimizer step -> zero grads (-> max-norm constraint) (-> per-batch lr schedule).
`training.precision` / `compile` / `channels_last` (training/precision.py, `amp`) wrap the
step in autocast and the backward / step in float16's grad scaler, and nothing else.
The trainer never branches on the task: the task's `training_step` says what a forward pass
and a loss are, the split says how batches are drawn (`Split.batch_indices`), and the task's
`directions` say which way the monitored number is better.

Batches are index slices of tensors already on the device; per-batch sums stay on the device
and are read once per epoch, so the loop costs about what a hand-written PyTorch loop costs
(benchmarks/trainer_overhead.py).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from nnjournal.config import TrainingConfig, deep_merge, format_validation_error
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError
from nnjournal.regularization.label_smoothing import smoothed_loss
from nnjournal.regularization.max_norm import apply_max_norm
from nnjournal.regularization.penalties import WeightPenalty, weight_parameters
from nnjournal.regularization.weight_noise import perturbed_weights
from nnjournal.tasks.base import Task, epoch_total, per_count
from nnjournal.training.callbacks import Callback, as_callbacks, wants_batch_end
from nnjournal.training.checkpoint import (
    CheckpointPolicy,
    has_checkpoint,
    load_checkpoint,
    restore_state,
    save_checkpoint,
    training_state,
)
from nnjournal.training.distributed import replicas as data_parallel
from nnjournal.training.early_stopping import EarlyStopping, check_monitor
from nnjournal.training.guard import NonFiniteError, diverged
from nnjournal.training.history import History
from nnjournal.training.interrupt import InterruptFlag, TrainingInterrupted
from nnjournal.training.optim import make_optimizer, make_schedule, step_schedule
from nnjournal.training.precision import Precision
from nnjournal.training.progress import EpochProgress
from nnjournal.training.seeding import select_device
from nnjournal.training.threads import intra_op_threads, resolve_threads
from nnjournal.training.user_arrays import as_split, check_fits

EpochCallback = Callable[[int, dict[str, Any]], None]
Reduce = Callable[[dict[str, float], float], tuple[dict[str, float], float]]
EVAL_CHUNK = 8192  # examples per evaluation forward pass
NO_NOISE = contextlib.nullcontext()  # the weight-noise context when it is off (cheaper per step)


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
    callbacks: Sequence[Callback] = (),
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
    `checkpoint` is a path stem: state is saved there atomically at epoch ends (every epoch,
    or as often as 1% of the training time allows, or every `checkpoint_every_s` seconds) and
    on Ctrl-C / SIGTERM, and `resume=True` continues from it. `callbacks` are `Callback`s
    (train begin/end, batch end, epoch end, each given the model); `on_epoch_end` takes plain
    functions `fn(epoch, record)`. `augment` transforms each training batch's inputs: a
    function, or the `augment` config section as a dict (default: built from `config.augment`).
    """
    if isinstance(augment, dict):  # `augment={...}` is the config section, like every other keyword
        overrides["augment"], augment = augment, None
    cfg = _resolve_config(config, overrides)
    user_arrays = not isinstance(train, Split)  # checked here; a loader's splits are checked by it
    kind = _task_name(task)
    train = _as_split(train, "training", kind)
    val = _as_split(val, "validation", kind) if val is not None else None
    augment = augment if augment is not None else build_augment(cfg.augment)
    if isinstance(task, str):
        task = _task_for(task, train)
    if cfg.label_smoothing:  # the training loss only; validation keeps the hard targets
        task = copy.copy(task)
        task.train_loss = smoothed_loss(task, cfg.label_smoothing)
    device = select_device(cfg.device)
    model.to(device)
    amp = Precision(cfg, model, device)  # autocast, grad scaler, compile, channels-last (checked here)
    train = train.to(device)
    val = val.to(device) if val is not None and len(val) else None
    if user_arrays:
        check_fits(model, task, train, val)
    n = len(train)
    if n == 0:
        raise NNJError("the training split is empty: check the data and its split fractions")

    batch_size = {"batch": n, "stochastic": 1}.get(cfg.regime, min(cfg.batch_size, n))
    steps_per_epoch = train.n_batches(batch_size)
    optimizer = make_optimizer(model.parameters(), cfg.optimizer)
    monitor = cfg.early_stopping.monitor if val is not None else "train_loss"
    check_monitor(monitor, task, val is not None)
    stopping = EarlyStopping(cfg.early_stopping, monitor, task)
    scheduler, schedule_per_batch = make_schedule(
        optimizer, cfg.schedule, cfg.epochs, steps_per_epoch, stopping.minimize, cfg.early_stopping.min_delta
    )
    penalty = WeightPenalty(cfg.penalty.l1, cfg.penalty.l2)
    max_norm_weights = weight_parameters(model) if cfg.max_norm is not None else []
    noisy_weights = weight_parameters(model) if cfg.weight_noise > 0 else []
    grad_names = [name for name, p in model.named_parameters() if p.requires_grad and p.dim() > 1]
    # Batch norm over features (BatchNorm1d) cannot normalise a batch of one example in training
    # mode; a last mini-batch of one (n = k * batch + 1) is skipped rather than crash the epoch.
    # (BatchNorm2d normalises over the pixels too, so one image is fine and nothing is skipped.)
    skip_singletons = n > 1 and any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    hooks = as_callbacks(callbacks, on_epoch_end)
    if cfg.log_activation_stats:  # first, so the record it fills is what later hooks write out
        from nnjournal.training.activation_stats import ActivationStatsLogger

        hooks.insert(0, ActivationStatsLogger(train.x))
    batch_hooks = [h for h in hooks if wants_batch_end([h])]

    generator = torch.Generator().manual_seed(seed)  # batch order, independent of model init
    history = History(monitor=monitor)
    best_state: dict[str, torch.Tensor] | None = None
    start_epoch, elapsed_before = 0, 0.0
    live = ({"model": model}, {"model": optimizer}, {"model": scheduler})
    if resume and has_checkpoint(checkpoint):
        state = load_checkpoint(checkpoint)
        restore_state(state, *live, generator)
        history = History(**state["history"])
        best_state = state.get("best_state")
        stopping.best_epoch, stopping.best_value = history.best_epoch, history.best_value
        stopping.waited, start_epoch = state["waited"], len(history.records)
        elapsed_before = history.train_time_s
        amp.load_state_dict(state.get("scaler"))

    def save() -> None:
        save_checkpoint(
            checkpoint,
            training_state(
                *live, generator, history=history.state(), best_state=best_state, waited=stopping.waited,
                scaler=amp.state_dict(),
            ),
        )

    def first_batch_step() -> Any:  # only `threads = "auto"` runs it, to count multiply-adds
        idx = next(iter(train.batch_indices(batch_size, torch.Generator().manual_seed(0), device)))
        return _evaluation_step(task, model, train.take(idx))

    threads = resolve_threads(cfg.threads, model, first_batch_step, device)
    saver = CheckpointPolicy(cfg.checkpoint_every_s)
    progress = EpochProgress(cfg.epochs, "training", quiet)
    # Data-parallel (training/distributed.py): in one process all four calls pass through.
    replicas = data_parallel()
    # the one the step calls (DDP syncs its gradients); augmentation and weight noise are drawn per shard
    amp.steps_through(replicas.wrap(model, seed, own_draws=augment is not None or cfg.weight_noise > 0))
    for h in hooks:
        h.on_train_begin(model, optimizer)
    t0 = time.perf_counter()
    step = 0
    with InterruptFlag(enabled=checkpoint is not None) as interrupt, intra_op_threads(threads) as used_threads, amp:
        history.threads = used_threads if device.type == "cpu" else None
        try:
            for epoch in range(start_epoch, cfg.epochs):
                epoch_start = time.perf_counter()
                model.train()
                sums: dict[str, list[Any]] = {}  # per-batch sums, added up at the epoch's end
                count: int | torch.Tensor = 0
                penalty_sum = torch.zeros((), device=device)
                grad_sq = torch.zeros(len(grad_names), device=device) if cfg.log_grad_norms else None
                carried: Any = None  # recurrent state: reset at each epoch's start
                for b, idx in enumerate(replicas.shard(train.batch_indices(batch_size, generator, device))):
                    if interrupt.raised and saver.saved_last_epoch:
                        raise TrainingInterrupted(f"stopped by {interrupt.raised}")
                    if skip_singletons and len(idx) == 1:
                        continue
                    batch = train.take(idx)
                    if augment is not None:
                        batch.x = augment(batch.x)
                    with perturbed_weights(noisy_weights, cfg.weight_noise) if noisy_weights else NO_NOISE:
                        with amp.autocast():
                            out = task.training_step(amp.net, batch, carried)
                        loss = out.loss
                        if penalty:
                            pen = penalty(model)
                            loss = out.loss + pen
                            penalty_sum += pen.detach() * out.count
                        amp.backward(loss)
                    if not math.isfinite(loss.item()):  # the non-finite guard: stop now, say where
                        raise diverged(
                            loss,
                            epoch=epoch + 1,
                            batch=b + 1,
                            lr=optimizer.param_groups[0]["lr"],
                            model=model,
                            step=lambda batch=batch: task.training_step(model, batch, None).loss,
                        )
                    amp.unscale(optimizer)  # (a float16 grad scaler's) before gradients are read
                    if grad_sq is not None:
                        grad_sq += _grad_norms_sq(model, grad_names)
                    if cfg.clip.value is not None:
                        nn.utils.clip_grad_value_(model.parameters(), cfg.clip.value)
                    if cfg.clip.norm is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip.norm)
                    amp.step(optimizer)
                    optimizer.zero_grad(set_to_none=True)
                    if max_norm_weights:
                        apply_max_norm(max_norm_weights, cfg.max_norm)
                    if schedule_per_batch:
                        scheduler.step()
                    for name, value in out.sums.items():
                        sums.setdefault(name, []).append(value)
                    count += out.count
                    carried = out.state
                    step += 1
                    for h in batch_hooks:
                        h.on_batch_end(step, model, out.loss)

                record: dict[str, Any] = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
                totals: dict[str, float] = {}
                for name, values in sums.items():
                    totals[name] = epoch_total(values)
                    if name == "loss" and penalty:
                        totals["penalty"] = float(penalty_sum)
                totals, total = replicas.sum(totals, float(count))  # over every process's rows
                record.update(per_count(task, totals, total, prefix="train_"))
                if val is not None:
                    own_val = replicas.local_part(val)
                    with amp.autocast():
                        record.update(evaluate_split(amp.eval_net, task, own_val, prefix="val_", reduce=replicas.sum))
                    if not math.isfinite(record["val_loss"]):
                        raise NonFiniteError(
                            f"training diverged: the validation loss became {record['val_loss']} at epoch "
                            f"{epoch + 1}; try a lower learning rate or gradient clipping (training.clip.norm)"
                        )
                if grad_sq is not None:
                    norms = (grad_sq / steps_per_epoch).sqrt().tolist()
                    record["grad_norm"] = dict(zip(grad_names, norms, strict=True))
                if scheduler is not None and not schedule_per_batch:
                    step_schedule(scheduler, record[monitor])
                record["time_s"] = time.perf_counter() - epoch_start
                history.records.append(record)

                if stopping.update(epoch + 1, record[monitor]) and cfg.early_stopping.restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                history.best_epoch, history.best_value = stopping.best_epoch, stopping.best_value
                for h in hooks:
                    h.on_epoch_end(epoch, record, model)
                progress.update(epoch, record)
                stop = stopping.should_stop
                history.stopped_early = stop and epoch + 1 < cfg.epochs
                history.train_time_s = elapsed_before + time.perf_counter() - t0
                if checkpoint is not None:
                    last = stop or epoch + 1 == cfg.epochs
                    saver.maybe_save(save, last or interrupt.raised is not None, time.perf_counter() - t0)
                if interrupt.raised:
                    raise TrainingInterrupted(f"stopped by {interrupt.raised}")
                if stop:
                    break
        finally:
            progress.close()

    if best_state is not None and history.best_epoch != len(history.records):
        model.load_state_dict(best_state)
        history.restored_best = True
    history.train_time_s = elapsed_before + time.perf_counter() - t0
    for h in hooks:
        h.on_train_end(model, history)
    return history


@torch.no_grad()
def evaluate_split(
    model: nn.Module, task: Task, split: Split, prefix: str = "", reduce: Reduce | None = None
) -> dict[str, float]:
    """The task's `evaluation_step` summed over the split's `eval_chunks`, in evaluation mode:
    `{prefix + name: sum / count}`. Sums are added in float64, so a one-chunk split gives
    exactly the task's own mean. A task with `stateful = True` gets each chunk's state back.
    `reduce(sums, count)` adds each process's sums before dividing (data-parallel training)."""
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0.0
    stateful = getattr(task, "stateful", False)  # carries state from chunk to chunk (TBPTT streams)
    state: Any = None
    for chunk in split.eval_chunks(EVAL_CHUNK):
        batch = split.take(chunk)
        out = task.evaluation_step(model, batch, state) if stateful else task.evaluation_step(model, batch)
        state = out.state
        for name, value in out.sums.items():
            totals[name] = totals.get(name, 0.0) + float(value)
        count += float(out.count)
    model.train(was_training)
    if reduce is not None:
        totals, count = reduce(totals, count)
    return per_count(task, totals, count, prefix)


def _evaluation_step(task: Task, model: nn.Module, batch: Split) -> Any:
    if getattr(task, "stateful", False):
        return task.evaluation_step(model, batch, None)
    return task.evaluation_step(model, batch)


def _grad_norms_sq(model: nn.Module, names: list[str]) -> torch.Tensor:
    params = dict(model.named_parameters())
    grads = [params[n].grad for n in names]
    return torch.stack([g.pow(2).sum() if g is not None else g.new_zeros(()) for g in grads])


def _resolve_config(config: TrainingConfig | None, overrides: dict[str, Any]) -> TrainingConfig:
    if config is None and not overrides:
        return TrainingConfig()
    base = config.model_dump() if config is not None else {}
    try:
        return TrainingConfig.model_validate(deep_merge(base, overrides))
    except ValidationError as err:
        raise NNJError(f"invalid training options: {format_validation_error(err)}") from None


def _as_split(data: Split | tuple[Any, Any], name: str, task: str | None) -> Split:
    return data if isinstance(data, Split) else as_split(data, name, task)


def _task_name(task: Task | str) -> str | None:
    """The task's name (how plain arrays' y are read: class labels, one number per row)."""
    from nnjournal.tasks import TASKS

    if isinstance(task, str):
        if task not in TASKS:
            raise NNJError(f"unknown task {task!r}; the tasks are: {', '.join(sorted(TASKS))}")
        return TASKS[task].name
    return getattr(task, "name", None)


def _task_for(name: str, train: Split) -> Task:
    from nnjournal.tasks import task_for_arrays

    return task_for_arrays(name, train.x, train.y)
