"""Overfit a tiny batch: the recipe's model, regularization off, on ~32 training examples,
must drive the training loss near zero. A model that cannot memorise 32 examples has a bug or
a setting in the way, and the numbers say which: a loss that never moves (learning rate too
small, a frozen layer), one that grows or oscillates (learning rate too large), outputs that
do not fit the loss (e.g. probabilities fed to a logit loss), units that are all dead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nnjournal.config import RunConfig, deep_merge, validate_config
from nnjournal.data.bundle import DataBundle
from nnjournal.debugging.activations import activation_stats

TINY = 32
STEPS = 500
LR_RETRY = 10.0  # a failed fit is tried once more with this many times the learning rate
TARGET = 0.99  # accuracy on the batch, or share of the loss removed for reconstruction
# Model fields that regularize; each set to its "off" value for the tiny batch.
REGULARIZERS = {
    "dropout_input": 0.0, "dropout_hidden": 0.0, "dropout_head": 0.0, "dropout": 0.0,
    "noise_hidden": 0.0, "sparsity": "none", "sparsity_weight": 0.0, "contractive": 0.0,
}


@dataclass
class OverfitResult:
    examples: int
    steps: int
    score_name: str  # "accuracy", or "loss removed" where the task has no accuracy
    score: float
    first_loss: float
    last_loss: float
    losses: list[float] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)
    lr: float = 0.0  # the learning rate of the fit reported (the recipe's, or LR_RETRY times it)
    recipe_lr_score: float | None = None  # when the retry was needed: the score at the recipe's lr

    @property
    def passed(self) -> bool:
        return self.score >= TARGET


def without_regularization(cfg: RunConfig, steps: int = STEPS) -> RunConfig:
    """`cfg` with dropout, noise, penalties, weight decay, augmentation, label smoothing,
    max-norm and early stopping off, trained full-batch for `steps` steps."""
    d = cfg.model_dump(mode="json", exclude={"study", "variants"})
    model = d["model"]
    for key, off in REGULARIZERS.items():
        if key in model:
            model[key] = off
    for block in model.get("blocks", []):
        block["dropout"] = 0.0
    training = {
        "epochs": steps, "regime": "batch", "penalty": {"l1": 0.0, "l2": 0.0}, "augment": {},
        "label_smoothing": 0.0, "max_norm": None, "weight_noise": 0.0, "schedule": {"name": "none"},
        "optimizer": {"weight_decay": 0.0}, "early_stopping": {"patience": None},
        "checkpoint_every_s": None,
    }
    d["training"]["augment"] = {}
    return validate_config(deep_merge(d, {"training": training, "ensemble": {"size": 1}}))


def tiny_batch(bundle: DataBundle, n: int = TINY, seed: int = 0) -> Any:
    """`n` training examples drawn at random (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(bundle.train), generator=gen)[: min(n, len(bundle.train))]
    return bundle.train.take(idx.sort().values)


def overfit_tiny_batch(
    cfg: RunConfig, bundle: DataBundle, task: Any, *, n: int = TINY, steps: int = STEPS,
    model_hook: Callable[[nn.Module], None] | None = None,
) -> OverfitResult:
    """Train the recipe's model (without its dropout and noise layers) on `n` training examples
    with regularization off for `steps` full-batch steps and say whether it memorised them, and
    if not, why. `model_hook(model)` is applied to the model once built."""
    from nnjournal import models
    from nnjournal.training.seeding import seed_everything

    plain = without_regularization(cfg, steps)
    batch = tiny_batch(bundle, n, cfg.seed)
    seed_everything(cfg.seed)
    net = models.build(plain.model, bundle.info, task.out_features)
    if model_hook is not None:
        model_hook(net)
    init = {k: v.detach().clone() for k, v in net.state_dict().items()}
    lr = plain.training.optimizer.lr
    result = _fit_batch(net, batch, task, plain.training, cfg.seed)
    result.lr = lr
    if result.passed:
        return result
    result.diagnosis = diagnose(net, batch, result.losses, init, lr)
    # The cheapest cause to test is the step size: the same start with a larger learning rate.
    net.load_state_dict(init)
    faster = plain.training.model_copy(
        update={"optimizer": plain.training.optimizer.model_copy(update={"lr": lr * LR_RETRY})}
    )
    retry = _fit_batch(net, batch, task, faster, cfg.seed)
    if retry.passed:
        retry.lr, retry.recipe_lr_score = lr * LR_RETRY, result.score
        retry.diagnosis = [
            f"the learning rate: at the recipe's {lr:g} the {result.score_name} reached only {result.score:.4f} "
            f"in {steps} steps, at {lr * LR_RETRY:g} it reaches {retry.score:.4f}"
        ]
        return retry
    result.diagnosis.append(f"{LR_RETRY:g}x the learning rate did not help either ({result.score_name} {retry.score:.4f})")
    net.load_state_dict(init)
    return result


def _fit_batch(net: nn.Module, batch: Any, task: Any, training: Any, seed: int) -> OverfitResult:
    from nnjournal.training.fit import evaluate_split, fit

    before = evaluate_split(net, task, batch)
    history = fit(net, batch, None, task=task, config=training, seed=seed)
    losses = [before["loss"]] + [r["train_loss"] for r in history.records]
    after = evaluate_split(net, task, batch)
    score_name = getattr(task, "score_name", None)
    if score_name == "accuracy":
        score = after["accuracy"]
    else:
        score_name, score = "loss removed", 1.0 - after["loss"] / max(before["loss"], 1e-12)
    return OverfitResult(len(batch), training.epochs, score_name, score, before["loss"], after["loss"], losses)


def diagnose(
    net: nn.Module, batch: Any, losses: list[float], weights0: dict[str, torch.Tensor], lr: float
) -> list[str]:
    # weights0: the state_dict before training (parameters are compared by name)
    """What the numbers of a failed tiny-batch fit point to."""
    out = []
    frozen = [n for n, p in net.named_parameters() if not p.requires_grad]
    still = [n for n, p in net.named_parameters() if p.requires_grad and torch.equal(p.detach(), weights0[n])]
    if frozen or still:
        out.append(f"a frozen layer: {', '.join(frozen + still)} did not change during training")
    dead = {n: s["dead"] for n, s in activation_stats(net, batch.x).items() if s["dead"] is not None}
    for n, share in dead.items():
        if share >= 0.5:
            out.append(f"dead units: {share:.0%} of {n}'s ReLU units never fire on the batch, so no gradient reaches them")
    first, last = losses[0], losses[-1]
    tail = losses[len(losses) // 2 :]
    if not all(map(lambda v: v == v and abs(v) != float("inf"), losses)) or last > first:
        out.append(f"the learning rate is too large: the loss rose from {first:.4g} to {last:.4g}")
    elif max(tail) - min(tail) > 0.5 * (first - last) and first - last > 0:
        out.append(f"the learning rate is too large: the loss oscillates between {min(tail):.4g} and {max(tail):.4g}")
    elif last > 0.9 * first:
        out.append(
            f"the learning rate ({lr:g}) may be too small, or the output does not fit the loss: the loss "
            f"moved only from {first:.4g} to {last:.4g}"
        )
    else:
        out.append(f"the loss fell from {first:.4g} to {last:.4g} but not to zero: more steps or a larger learning rate")
    if first > 0 and min(losses) > 0.5 * first and not still:
        out.append("a loss/output mismatch is likely when weights change but the loss does not: check that "
                   "the model outputs raw logits/values (the task applies sigmoid/softmax)")
    return out
