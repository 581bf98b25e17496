"""One trial: the recipe with the trial's parameters, trained by `train_one` with a seed drawn
from the study seed and the trial's number, scored on the validation split (or by k-fold
cross-validation of train + val). The test split is never handed to a trial."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nnjournal.config import RunConfig, validate_config
from nnjournal.data.bundle import DataBundle, Split
from nnjournal.errors import NNJError
from nnjournal.tasks import Task, build_task
from nnjournal.tasks.base import direction
from nnjournal.training.callbacks import Callback
from nnjournal.training.guard import NonFiniteError
from nnjournal.training.trainers import train_one
from nnjournal.tuning.resume import DIVERGED
from nnjournal.tuning.space import base_raw, with_params


def trial_seed(study_seed: int, number: int) -> int:
    """A trial's training seed: a function of the study seed and the trial number only, so a
    trial's numbers do not depend on which worker ran it or when."""
    return int(np.random.SeedSequence([study_seed, number]).generate_state(1)[0])


def objective_metric(cfg: RunConfig, task: Task) -> tuple[str, str]:
    """(metric, "minimize" | "maximize"): `search.metric` or the task's headline, its
    direction from `task.directions` (an undeclared metric is an error)."""
    metric = (cfg.search.metric if cfg.search and cfg.search.metric else task.headline).removeprefix("val_")
    try:
        way = direction(task, metric)
    except KeyError as err:
        raise NNJError(f"search.metric: {err.args[0]}") from None
    return metric, "minimize" if way == "min" else "maximize"


class PruningCallback(Callback):
    """Reports the epoch's validation metric to the trial and stops a hopeless one by raising
    `optuna.TrialPruned` (the trainer lets it through)."""

    def __init__(self, trial: Any, key: str) -> None:
        self.trial, self.key = trial, key

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Any) -> None:
        import optuna

        if self.key not in record:
            return
        self.trial.report(float(record[self.key]), epoch)
        if self.trial.should_prune():
            self.trial.set_user_attr("epochs", epoch + 1)
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}: {self.key} = {record[self.key]:.4g}")


@dataclass
class Objective:
    """Callable by `study.optimize`: (trial) -> the validation metric."""

    cfg: RunConfig
    bundle: DataBundle  # as loaded for `cfg` (its test split is dropped before training)
    metric: str
    prune: bool
    _pool: Any = field(default=None, init=False, repr=False)  # cross-validation's rows, read once

    def __call__(self, trial: Any) -> float:
        params = {path: suggest(trial, path, dim) for path, dim in self.cfg.search.space.items()}
        cfg = validate_config(with_params(base_raw(self.cfg), params))
        seed = trial_seed(self.cfg.seed, trial.number)
        trial.set_user_attr("seed", seed)
        if self.cfg.search.cv > 1:
            scores = self._cross_validate(cfg, trial, seed)
            trial.set_user_attr("cv_scores", scores)
            trial.set_user_attr("cv_std", float(np.std(scores)))
            return float(np.mean(scores))
        bundle = DataBundle(self.bundle.train, self.bundle.val, _empty(self.bundle.train), self.bundle.info,
                            self.bundle.preprocessing)
        if bundle.val is None or len(bundle.val) == 0:
            raise NNJError("nnj tune scores trials on the validation split: set data.val_fraction > 0 or search.cv")
        return self._train_and_score(cfg, bundle, trial, seed, report=True)

    def _train_and_score(self, cfg: RunConfig, bundle: DataBundle, trial: Any, seed: int, report: bool) -> float:
        task = build_task(cfg.task, bundle.info, bundle)
        bundle = task.prepare_data(bundle, cfg)
        key = f"val_{self.metric}"
        callbacks = [PruningCallback(trial, key)] if self.prune and report and self.metric in task.logged else []
        # A diverged trial is finished (failed), unlike one a Ctrl-C stopped: a resume keeps it.
        try:
            model, history = train_one(cfg, bundle, task, seed=seed, callbacks=callbacks)
        except NonFiniteError as err:
            trial.set_user_attr(DIVERGED, str(err)[:300])
            raise
        trial.set_user_attr("epochs", len(history.records))
        return float(task.evaluate(model, bundle.val)[self.metric])

    def _cross_validate(self, cfg: RunConfig, trial: Any, seed: int) -> list[float]:
        """k folds of train + val (stratified for class labels); each fold's held-out part is
        its validation split (early stopping and the score), and the loader's preprocessing (a
        CSV's imputation, one-hot and scaling; feature standardisation; pixel statistics) is
        fitted again on the fold's training rows, so no held-out row shapes what the network
        sees. Only the first fold reports to the pruner."""
        from nnjournal.evaluation.cross_validation import fold_indices, pool_without_test

        if self._pool is None:  # the same rows and folds for every trial
            self._pool = pool_without_test(self.cfg, self.bundle)
        pool, rows = self._pool
        folds = fold_indices(pool.y[rows], self.cfg.search.cv, self.cfg.seed, pool.classification)
        scores = []
        for i, (tr, va) in enumerate(folds):
            fold = pool.build(rows[tr], rows[va], rows[:0], self.cfg.seed)
            scores.append(self._train_and_score(cfg, fold, trial, seed + i, report=i == 0))
        return scores


def suggest(trial: Any, path: str, dim: Any) -> Any:
    """The trial's value for one dimension (a list choice comes back decoded)."""
    if dim.choices is not None:
        return decode(dim, trial.suggest_categorical(path, stored_choices(dim)))
    if dim.is_int:
        return trial.suggest_int(path, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return trial.suggest_float(path, float(dim.low), float(dim.high), step=dim.step, log=dim.log)


def _primitive(choices: list[Any]) -> bool:
    return all(c is None or isinstance(c, (bool, int, float, str)) for c in choices)


def stored_choices(dim: Any) -> list[Any]:
    """Choices as Optuna stores them: None/bool/int/float/str as they are, anything else (a
    list such as model.hidden) as JSON text."""
    return list(dim.choices) if _primitive(dim.choices) else [json.dumps(c) for c in dim.choices]


def decode(dim: Any, value: Any) -> Any:
    return value if dim.choices is None or _primitive(dim.choices) else json.loads(value)


def decoded_params(params: dict[str, Any], search: Any) -> dict[str, Any]:
    """A trial's stored parameters as recipe values."""
    return {path: decode(search.space[path], v) for path, v in params.items() if path in search.space}


def grid_space(search: Any) -> dict[str, list[Any]]:
    """The grid sampler's search space, in stored form."""
    return {
        path: stored_choices(dim) if dim.choices is not None else dim.grid() for path, dim in search.space.items()
    }


def _empty(split: Split) -> Split:
    return split.take(torch.zeros(0, dtype=torch.long, device=split.x.device))
