"""Ensembles: several models whose predictions are combined — probabilities averaged (or
majority vote) for classification, outputs averaged for regression. Members differ by seed
(initialisation and batch order), by bootstrap sample (bagging), or are snapshots of one
run taken at the end of each cosine learning-rate cycle (snapshot ensembles: several models
for the price of one training).

`Ensemble` is an ordinary `nn.Module` whose output is in the task's own terms (logits whose
softmax/sigmoid is the combined probability; the mean for regression), so metrics, reports
and `predict` treat it like any single model.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from nnjournal.config import EnsembleConfig, TrainingConfig
from nnjournal.data.bundle import Split
from nnjournal.tasks.base import Task
from nnjournal.training.fit import fit
from nnjournal.training.history import History
from nnjournal.training.seeding import seed_everything
from nnjournal.training.trainers import train_one
from nnjournal.training.vectorized import fit_vectorized, should_vectorize


class Ensemble(nn.Module):
    """Members' outputs (M, B, C) combined into one (B, C) output."""

    def __init__(self, members: Sequence[nn.Module], outputs: str, combine: str = "mean_proba") -> None:
        """`outputs` is what the members return: "logits" (classifiers: probabilities are
        combined) or "values" (regressors: outputs are averaged); tasks say which
        (`Task.ensemble_outputs`)."""
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if outputs not in ("logits", "values"):
            raise ValueError(f"Ensemble combines 'logits' or 'values', got {outputs!r}")
        if combine not in ("mean_proba", "vote"):
            raise ValueError(f"combine must be 'mean_proba' or 'vote', got {combine!r}")
        self.members = nn.ModuleList(members)
        self.outputs, self.combine = outputs, combine

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = torch.stack([m(x) for m in self.members])  # (M, B, C)
        if self.outputs == "values":
            return outs.mean(0)
        binary = outs.shape[-1] == 1
        proba = torch.sigmoid(outs) if binary else torch.softmax(outs, dim=-1)
        if self.combine == "vote":
            if binary:
                votes = (proba > 0.5).float().mean(0)
            else:
                votes = nn.functional.one_hot(proba.argmax(-1), proba.shape[-1]).float().mean(0)
            # Ties are broken by the mean probability, which is tiny next to one vote.
            proba = votes + 1e-3 * proba.mean(0)
            proba = proba if binary else proba / proba.sum(-1, keepdim=True)
        else:
            proba = proba.mean(0)
        proba = proba.clamp(1e-7, 1 - 1e-7) if binary else proba.clamp_min(1e-12)
        return torch.logit(proba) if binary else proba.log()


def member_seed(seed: int, i: int) -> int:
    """Seeds of one ensemble's members; runs with neighbouring seeds share no member."""
    return 1000 * seed + i


class _MemberConfig(NamedTuple):
    """What `train_one` reads of a config to train a member it is given (the caller's `build`
    made it, so there is no model section to build from)."""

    seed: int
    training: TrainingConfig
    model: None = None


class _MemberData(NamedTuple):
    """A member's splits for `train_one`: the training rows (a bootstrap sample when bagging)."""

    train: Split
    val: Split | None
    info: None = None


@dataclass
class EnsembleResult:
    model: Ensemble
    members: list[nn.Module]
    histories: list[History]
    vectorized: bool


def train_ensemble(
    build: Callable[[], nn.Module],
    train: Split,
    val: Split | None,
    *,
    task: Task,
    training: TrainingConfig,
    ensemble: EnsembleConfig,
    seed: int = 0,
) -> EnsembleResult:
    """Train `ensemble.size` members built by `build()` (called after seeding) and combine them."""
    size, seeds = ensemble.size, [member_seed(seed, i) for i in range(ensemble.size)]
    if ensemble.method == "snapshot":
        members, histories = _snapshots(build, train, val, task, training, size, seeds[0])
        vectorized = False
    else:
        members = []
        for s in seeds:
            seed_everything(s)
            members.append(build())
        rows = None
        if ensemble.method == "bagging":  # a bootstrap sample (n drawn with replacement) per member
            n = len(train)
            rows = [torch.randint(n, (n,), generator=torch.Generator().manual_seed(s)) for s in seeds]
        vectorized = should_vectorize(training.vectorize, members, training.schedule.name, training=training)
        if vectorized:
            histories = fit_vectorized(
                members, train, val, task=task, config=training, seeds=seeds, rows=rows
            )
        else:
            histories = []
            for i, (m, s) in enumerate(zip(members, seeds, strict=True)):
                data = train if rows is None else Split(train.x[rows[i]], train.y[rows[i]])
                # Built above (all first, for the vectorization decision); train_one re-seeds.
                _, history = train_one(_MemberConfig(s, training), _MemberData(data, val), task, model=m)
                histories.append(history)
    model = Ensemble(members, task.ensemble_outputs, ensemble.combine)
    return EnsembleResult(model, members, histories, vectorized)


def snapshot_cycle_epochs(epochs: int, size: int) -> int:
    """Epochs in each of a snapshot ensemble's `size` cosine cycles (recipes refuse epochs < size)."""
    return max(1, epochs // size)


def _snapshots(
    build: Callable[[], nn.Module],
    train: Split,
    val: Split | None,
    task: Task,
    training: TrainingConfig,
    size: int,
    seed: int,
) -> tuple[list[nn.Module], list[History]]:
    """One model trained through `size` cosine cycles (the lr restarts high each cycle, which
    kicks the model out of the minimum it found); a copy is kept at the end of every cycle.

    Not through `train_one`: it seeds before every training, and here one seeding covers the
    build and all the cycles (dropout and noise draw on in the same stream), so re-seeding
    would change every snapshot ensemble trained with them."""
    seed_everything(seed)
    model = build()
    cycle = training.model_copy(
        update={
            "epochs": snapshot_cycle_epochs(training.epochs, size),
            "schedule": training.schedule.model_copy(update={"name": "cosine"}),
            "early_stopping": training.early_stopping.model_copy(
                update={"patience": None, "restore_best": False}
            ),
        }
    )
    members, histories = [], []
    for i in range(size):
        histories.append(fit(model, train, val, task=task, config=cycle, seed=seed + i))
        members.append(copy.deepcopy(model))
    return members, histories
