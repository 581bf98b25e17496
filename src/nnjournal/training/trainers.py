"""Which trainer a task uses, and `train_one`: seed -> build -> train, the one sequence every
run, study, cross-validation fold, ensemble member and estimator goes through."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from nnjournal import models
from nnjournal.training.adversarial import train_adversarial
from nnjournal.training.callbacks import Callback
from nnjournal.training.fit import fit
from nnjournal.training.history import History
from nnjournal.training.seeding import seed_everything

# A trainer: (model, train, val, *, task, config, seed, quiet, callbacks, checkpoint, resume)
# -> History. A task names its own in `Task.trainer`.
TRAINERS: dict[str, Any] = {
    "supervised": fit,
    "adversarial": train_adversarial,  # GAN (issue 13): training/adversarial.py
}


def train_one(
    cfg: Any,
    bundle: Any,
    task: Any,
    *,
    seed: int | None = None,
    model: nn.Module | None = None,
    quiet: bool = True,
    callbacks: Sequence[Callback] = (),
    checkpoint: Path | None = None,
    resume: bool = False,
) -> tuple[nn.Module, History]:
    """Seed with `seed` (default `cfg.seed`), build `cfg.model` for the data (unless `model`
    is given: then it is trained as built), and train it with the task's trainer on
    `bundle.train` / `bundle.val` under `cfg.training`. Returns (model, history)."""
    seed = cfg.seed if seed is None else seed
    seed_everything(seed)
    if model is None:
        model = models.build(cfg.model, bundle.info, task.out_features)
    trainer = TRAINERS[task.trainer]
    history = trainer(
        model,
        bundle.train,
        bundle.val,
        task=task,
        config=cfg.training,
        seed=seed,
        quiet=quiet,
        callbacks=callbacks,
        checkpoint=checkpoint,
        resume=resume,
    )
    return model, history
