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

import torch
from torch import nn

from nnjournal.config import EnsembleConfig, TrainingConfig
from nnjournal.data.bundle import Split
from nnjournal.tasks.base import Task
from nnjournal.training.fit import fit
from nnjournal.training.history import History
from nnjournal.training.seeding import seed_everything
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
        vectorized = should_vectorize(training.vectorize, members)
        if vectorized:
            histories = fit_vectorized(
                members, train, val, task=task, config=training, seeds=seeds, rows=rows
            )
        else:
            histories = []
            for i, (m, s) in enumerate(zip(members, seeds, strict=True)):
                data = train if rows is None else Split(train.x[rows[i]], train.y[rows[i]])
                seed_everything(s)
                histories.append(fit(m, data, val, task=task, config=training, seed=s))
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
    kicks the model out of the minimum it found); a copy is kept at the end of every cycle."""
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
