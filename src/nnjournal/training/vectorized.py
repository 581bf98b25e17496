"""Vectorized training: K models of one architecture trained together as one.

`torch.func.stack_module_state` stacks the K models' parameters into tensors with a leading
member axis, `vmap(functional_call(...))` runs all K forward passes as one batched pass, and
one optimizer steps the stacked tensors. Every optimizer we offer updates each element from
its own gradient and state, so this is the same arithmetic as K separate `fit` calls (same
seeds, same batch orders) — only the Python and kernel-launch overhead is paid once instead of
K times, which is what dominates small models on a CPU (benchmarks/vectorized.py).

Each member has its own seed (batch order) and may have its own training rows (bagging).
Member-wise early stopping: a member whose patience runs out keeps being stepped with the
others but its best weights are frozen, so with `restore_best` it ends exactly where its own
`fit` would have. Batch norm is not supported (running statistics are updated in place,
which `vmap` cannot batch); `can_vectorize` says whether a model qualifies.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from nnjournal.config import TrainingConfig
from nnjournal.data.augment import build_augment
from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError
from nnjournal.regularization.label_smoothing import smoothed_loss
from nnjournal.regularization.max_norm import apply_max_norm
from nnjournal.regularization.weight_noise import perturbed_weights
from nnjournal.tasks import Task
from nnjournal.training.early_stopping import EarlyStopping, check_monitor
from nnjournal.training.fit import _resolve_config
from nnjournal.training.guard import NonFiniteError
from nnjournal.training.history import History
from nnjournal.training.member_adam import MemberAdam
from nnjournal.training.optim import make_optimizer, make_schedule
from nnjournal.training.precision import precision_switch
from nnjournal.training.seeding import select_device

# Where "auto" vectorizes, from benchmarks/vectorized.py on a 2-core CPU (docs/benchmarks.md):
# tiny MLPs gain 3.4x at K=8 and 7.7x at K=32; 5 MLPs of 9.6k parameters gain 1.7x; 5 of 85k
# parameters are 0.9x (compute, not overhead, dominates), so larger models train one by one.
AUTO_MIN_MEMBERS = 4
AUTO_MAX_PARAMETERS = 50_000


def can_vectorize(model: nn.Module) -> bool:
    """True when `model` has no layer that keeps running statistics (batch norm)."""
    return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def should_vectorize(
    setting: bool | str, models: Sequence[nn.Module], schedule: str = "none", *, training: TrainingConfig | None = None
) -> bool:
    """Resolve `training.vectorize` (true / false / "auto") for these models and lr schedule;
    `training` (the `TrainingConfig`) says whether a precision switch is on."""
    # A plateau schedule lowers each model's rate when its own validation stalls: K models
    # sharing one optimizer cannot follow K different plateaus.
    # The vmapped step has no autocast, compile or channels-last: those models train one by one.
    switch = precision_switch(training) if training is not None else None
    if setting == "auto":
        small = all(sum(p.numel() for p in m.parameters()) <= AUTO_MAX_PARAMETERS for m in models)
        fits = small and schedule != "plateau" and all(can_vectorize(m) for m in models) and switch is None
        return len(models) >= AUTO_MIN_MEMBERS and fits
    if setting and switch is not None:
        raise NNJError(
            f"training.vectorize = true trains models together without {switch}; set training.vectorize "
            "= 'auto' or false to train them one by one"
        )
    if setting and schedule == "plateau":
        raise NNJError(
            "training.vectorize = true cannot follow training.schedule.name = 'plateau' (each model's "
            "validation plateaus at its own epoch); set training.vectorize = 'auto' or false"
        )
    if setting and not all(can_vectorize(m) for m in models):
        raise NNJError(
            "training.vectorize = true cannot train models with batch norm (vmap cannot update running "
            "statistics); set training.vectorize = 'auto' or false"
        )
    return bool(setting)


def fit_vectorized(
    models: Sequence[nn.Module],
    train: Split,
    val: Split | None = None,
    *,
    task: Task,
    config: TrainingConfig | None = None,
    seeds: Sequence[int] | None = None,
    rows: Sequence[torch.Tensor] | None = None,
    members: Mapping[str, Sequence[float]] | None = None,
    randomness: Literal["different", "same"] = "different",
    keep_diverged: bool = False,
    **overrides: Any,
) -> list[History]:
    """Train `models` (same architecture) in place, together; one `History` per member.

    Member k matches `fit(models[k], train_k, val, seed=seeds[k])` where `train_k` is `train`,
    or `train` indexed by `rows[k]` (e.g. a bootstrap sample; all of the same length).

    `members` gives some settings one value per member, for sweeps (the tuning study): `lr`
    and `beta1` (Adam / AdamW without a schedule, stepped by `MemberAdam`) and `l2` (the ridge
    penalty, `training.penalty.l2`). `randomness="same"` draws one dropout mask for all members
    instead of one each, so members that differ only in a swept value see the same noise.
    `keep_diverged`: a member whose loss turns non-finite is recorded (inf / nan) and trained
    on with the others (members are independent) instead of stopping the run."""
    cfg = _resolve_config(config, overrides)
    k = len(models)
    if k == 0:
        raise ValueError("fit_vectorized needs at least one model")
    if not all(can_vectorize(m) for m in models):
        raise ValueError("vectorized training does not support batch norm")
    if precision_switch(cfg) is not None:
        raise ValueError(f"vectorized training has no {precision_switch(cfg)}: train the models one by one (fit)")
    members = dict(members or {})
    unknown = set(members) - {"lr", "beta1", "l2"}
    if unknown or any(len(v) != k for v in members.values()):
        raise ValueError(f"members: one value per model for lr, beta1 or l2; got {sorted(members)}")
    seeds = list(seeds) if seeds is not None else list(range(k))
    device = select_device(cfg.device)
    x, y = train.x.to(device), train.y.to(device)
    val = val.to(device) if val is not None else None
    member_rows = (
        torch.stack([r.to(device) for r in rows]) if rows is not None else None
    )  # (K, n) indices into x
    n = member_rows.shape[1] if member_rows is not None else len(x)
    batch_size = {"batch": n, "stochastic": 1}.get(cfg.regime, min(cfg.batch_size, n))
    steps_per_epoch = math.ceil(n / batch_size)

    for m in models:
        m.to(device)
    params, buffers = stack_module_state(list(models))  # name -> (K, ...) leaf tensors
    base = copy.deepcopy(models[0]).to("meta")  # the architecture; weights come from `params`
    weight_names = [name for name, p in params.items() if p.dim() > 2]  # matrices, not biases
    opt = cfg.optimizer
    member_lrs = list(members.get("lr", [opt.lr] * k))
    if "lr" in members or "beta1" in members:
        if opt.name not in ("adam", "adamw") or cfg.schedule.name != "none":
            raise ValueError("a learning rate or beta1 per member needs optimizer adam/adamw and no schedule")
        optimizer: Any = MemberAdam(
            params.values(), member_lrs, members.get("beta1", [opt.betas[0]] * k), beta2=opt.betas[1],
            weight_decay=opt.weight_decay, decoupled=opt.name == "adamw",
        )
        scheduler, schedule_per_batch = None, False
    else:
        if cfg.schedule.name == "plateau":
            raise ValueError("fit_vectorized cannot follow a plateau schedule: train the models one by one (fit)")
        optimizer = make_optimizer(params.values(), opt)
        scheduler, schedule_per_batch = make_schedule(optimizer, cfg.schedule, cfg.epochs, steps_per_epoch)
    train_loss = smoothed_loss(task, cfg.label_smoothing) if cfg.label_smoothing else task.loss
    augment = build_augment(cfg.augment)
    l1, l2 = cfg.penalty.l1, cfg.penalty.l2
    member_l2 = torch.as_tensor(members["l2"], dtype=torch.float32, device=device) if "l2" in members else None
    noisy_weights = [params[nm] for nm in weight_names] if cfg.weight_noise > 0 else []

    def member_step(p: dict, b: dict, xb: torch.Tensor, yb: torch.Tensor, l2_k: torch.Tensor):
        outputs = functional_call(base, (p, b), (xb,))
        data_loss = train_loss(outputs, yb)
        pen = data_loss.new_zeros(())
        for name in weight_names:
            if l1:
                pen = pen + l1 * p[name].abs().sum()
            if member_l2 is not None:
                pen = pen + l2_k * p[name].pow(2).sum()
            elif l2:
                pen = pen + l2 * p[name].pow(2).sum()
        return data_loss, pen, task.batch_score(outputs.detach(), yb)

    def member_eval(p: dict, b: dict, xv: torch.Tensor, yv: torch.Tensor):
        outputs = functional_call(base, (p, b), (xv,))
        return task.loss(outputs, yv), task.batch_score(outputs, yv)

    # Dropout and hidden noise draw different masks per member, as separate runs would.
    step_all = vmap(member_step, in_dims=(0, 0, 0, 0, 0), randomness=randomness)
    eval_all = vmap(member_eval, in_dims=(0, 0, None, None), randomness=randomness)
    l2_arg = member_l2 if member_l2 is not None else torch.zeros(k, device=device)  # unread without "l2"

    generators = [torch.Generator().manual_seed(s) for s in seeds]
    monitor = cfg.early_stopping.monitor if val is not None else "train_loss"
    check_monitor(monitor, task, val is not None)
    stoppers = [EarlyStopping(cfg.early_stopping, monitor, task) for _ in range(k)]
    histories = [History(monitor=monitor) for _ in range(k)]
    active = [True] * k  # not yet stopped early
    best = (
        {name: p.detach().clone() for name, p in params.items()} if cfg.early_stopping.restore_best else None
    )
    has_score = task.score_name is not None
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        epoch_start = time.perf_counter()
        base.train()
        orders = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)  # (K, n)
        if member_rows is not None:
            orders = torch.gather(member_rows, 1, orders)
        loss_sum = torch.zeros(k, device=device)
        pen_sum = torch.zeros(k, device=device)
        score_sum = torch.zeros(k, device=device)
        for start in range(0, n, batch_size):
            idx = orders[:, start : start + batch_size]  # (K, B)
            xb, yb = x[idx], y[idx]  # (K, B, ...), (K, B)
            if augment is not None:
                xb = augment(xb)
            # Weight noise is drawn for all members at once: the same distribution as K
            # separate fits, not the same numbers (like dropout under vmap).
            with perturbed_weights(noisy_weights, cfg.weight_noise):
                data_loss, pen, score = step_all(params, buffers, xb, yb, l2_arg)  # each (K,)
                # Member losses are independent, so the gradient of the sum is each member's own.
                (data_loss + pen).sum().backward()
            _clip(params, cfg)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if cfg.max_norm is not None:
                apply_max_norm([params[nm] for nm in weight_names], cfg.max_norm, stacked=True)
            if schedule_per_batch:
                scheduler.step()
            b = idx.shape[1]
            loss_sum += data_loss.detach() * b
            pen_sum += pen.detach() * b
            if has_score:
                score_sum += score

        lrs = member_lrs if isinstance(optimizer, MemberAdam) else [optimizer.param_groups[0]["lr"]] * k
        records: list[dict[str, Any]] = [{"epoch": epoch + 1, "lr": lrs[i]} for i in range(k)]
        losses, pens, scores = (loss_sum / n).tolist(), (pen_sum / n).tolist(), (score_sum / n).tolist()
        diverged = [i for i, v in enumerate(losses) if active[i] and not math.isfinite(v)]
        if diverged and not keep_diverged:  # checked once per epoch: the K models train as one, a per-batch sync would cost
            raise NonFiniteError(
                f"training diverged: the loss of model {diverged[0]} (seed {seeds[diverged[0]]}) became "
                f"{losses[diverged[0]]} in epoch {epoch + 1} (learning rate {lrs[diverged[0]]:g}); "
                "try a learning rate 10x lower (training.optimizer.lr) or gradient clipping (training.clip.norm = 1.0)"
            )
        val_losses = val_scores = None
        if val is not None:
            base.eval()
            with torch.no_grad():
                vl, vs = eval_all(params, buffers, val.x, val.y)
            val_losses = vl.tolist()
            val_scores = (vs.float() / len(val)).tolist() if has_score else None
        if scheduler is not None and not schedule_per_batch:
            scheduler.step()
        elapsed = time.perf_counter() - epoch_start
        for i, record in enumerate(records):
            record["train_loss"] = losses[i]
            if l1 or l2 or member_l2 is not None:
                record["train_penalty"] = pens[i]
            if has_score:
                record[f"train_{task.score_name}"] = scores[i]
            if val_losses is not None:
                record["val_loss"] = val_losses[i]
                if val_scores is not None:
                    record[f"val_{task.score_name}"] = val_scores[i]
            record["time_s"] = elapsed / k  # the shared epoch, split evenly
            if not active[i]:
                continue  # stopped: its own run would have ended here
            h = histories[i]
            h.records.append(record)
            stopper = stoppers[i]
            if stopper.update(epoch + 1, record[monitor]) and best is not None:
                for name, p in params.items():
                    best[name][i] = p.detach()[i]
            h.best_epoch, h.best_value = stopper.best_epoch, stopper.best_value
            if stopper.should_stop:
                active[i] = False
                h.stopped_early = epoch + 1 < cfg.epochs
        if not any(active):
            break

    total = time.perf_counter() - t0
    with torch.no_grad():
        for i, (model, h) in enumerate(zip(models, histories, strict=True)):
            use_best = best is not None and h.best_epoch is not None and h.best_epoch != len(h.records)
            source = best if use_best else params
            h.restored_best = use_best
            state = {name: t[i].detach().clone() for name, t in source.items()}
            state.update({name: t[i].clone() for name, t in buffers.items()})
            model.load_state_dict(state)
            h.train_time_s = total / k
    return histories


def _clip(params: dict[str, torch.Tensor], cfg: TrainingConfig) -> None:
    """Gradient clipping per member, as `fit` clips each model on its own."""
    grads = [p.grad for p in params.values() if p.grad is not None]
    if cfg.clip.value is not None:
        for g in grads:
            g.clamp_(-cfg.clip.value, cfg.clip.value)
    if cfg.clip.norm is not None:
        # torch.nn.utils.clip_grad_norm_'s rule, with one norm per member.
        norms = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()  # (K,)
        coef = torch.clamp(cfg.clip.norm / (norms + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))
