"""Stratified k-fold cross-validation of the whole tabular pipeline: on every fold the
encoding (imputation, one-hot, scaling) is refitted on that fold's training rows, a fresh
network is trained (with a validation part carved from the training rows for early
stopping), and the network and its baselines are scored on the held-out fold."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from nnjournal.config import RunConfig
from nnjournal.data.tabular import bundle_from_indices, read_prepared
from nnjournal.errors import NNJError
from nnjournal.tasks import build_task, task_class
from nnjournal.training.trainers import train_one

SHOWN = ("accuracy", "roc_auc", "f1", "rmse", "r2")


def check_folds(k: int, y: np.ndarray, class_names: list[str] | None) -> None:
    """An `NNJError` when `k` (stratified) folds cannot be cut from targets `y`: every fold
    needs a row of every class, so the smallest class needs at least `k` rows."""
    if k > len(y):
        raise NNJError(f"evaluation.cv = {k} folds need at least {k} rows; the file has {len(y)}: lower evaluation.cv")
    if class_names is not None:
        counts = np.bincount(y, minlength=len(class_names))
        smallest = int(np.argmin(counts))
        if counts[smallest] < k:
            raise NNJError(
                f"evaluation.cv = {k} stratified folds need at least {k} rows of every class; class "
                f"{class_names[smallest]!r} has {counts[smallest]}: lower evaluation.cv (or set it to 0)"
            )


def check_cv(cfg: RunConfig) -> None:
    """Refuse, before anything trains, `evaluation.cv` folds the data cannot give."""
    prepared = read_prepared(cfg.data, task_class(cfg.task).data_kind)
    check_folds(cfg.evaluation.cv, prepared.y, prepared.class_names)


def cross_validate(cfg: RunConfig) -> dict[str, Any]:
    """Mean and std over `cfg.evaluation.cv` folds of each model's test metrics (the network
    and the recipe's baselines, each refitted on every fold with its own encoding)."""
    k = cfg.evaluation.cv
    if cfg.data.name != "csv":
        raise NNJError(
            f"evaluation.cv needs data.name='csv' (got {cfg.data.name!r}); other loaders split once"
        )
    prepared = read_prepared(cfg.data, task_class(cfg.task).data_kind)
    check_folds(k, prepared.y, prepared.class_names)
    y = prepared.y
    strat = prepared.classification
    splitter = (
        StratifiedKFold(k, shuffle=True, random_state=cfg.seed)
        if strat
        else KFold(k, shuffle=True, random_state=cfg.seed)
    )
    per_model: dict[str, list[dict[str, float]]] = {}
    val_part = cfg.data.val_fraction / max(1e-9, 1.0 - cfg.data.test_fraction)
    for fold, (rest, test) in enumerate(splitter.split(np.zeros(len(y)), y if strat else None)):
        train, val = rest, rest[:0]
        if val_part > 0:
            train, val = train_test_split(
                rest, test_size=val_part, random_state=cfg.seed + fold, stratify=y[rest] if strat else None
            )
        bundle = bundle_from_indices(prepared, cfg.data, train, val, test, cfg.seed + fold)
        task = build_task(cfg.task, bundle.info, bundle)
        model, _ = train_one(cfg, bundle, task, seed=cfg.seed + fold)
        scores = {"network": task.evaluate(model, bundle.test)}
        baseline_cfg = cfg.model_copy(
            update={"evaluation": cfg.evaluation.model_copy(update={"baselines": [b for b in cfg.evaluation.baselines if b != "dummy"]})}
        )
        scores.update(task.baselines(bundle, baseline_cfg)[1])
        for name, metrics in scores.items():
            per_model.setdefault(name, []).append(metrics)
    summary = {}
    for name, folds in per_model.items():
        summary[name] = {
            m: {"mean": float(np.mean([f[m] for f in folds])), "std": float(np.std([f[m] for f in folds]))}
            for m in SHOWN
            if all(m in f for f in folds)
        }
    return {"folds": k, "stratified": strat, "models": summary}
