"""Cross-validation of the whole pipeline (`evaluation.cv`), for any in-memory data: CSV tables,
digits, MNIST-1D, arrays, image sets. Every example the loader read (its train, validation and
test splits together) is dealt into k folds, stratified by class for classification. On every
fold the preprocessing the loader fits is fitted again on that fold's training rows only (a
CSV's encoding: imputation, one-hot, scaling; the standardisation of feature vectors; images'
per-channel pixel statistics), a fresh network is trained (with a validation part carved from
the training rows for early stopping), and the network and its baselines are scored on the
held-out fold. `evaluation.cv = "loo"` (leave-one-out) holds out one example at a time and
scores the N held-out predictions together: one example has no ROC AUC or R²."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import KFold, LeaveOneOut, StratifiedKFold, train_test_split

from nnjournal import data as data_mod
from nnjournal.config import RunConfig
from nnjournal.data.bundle import DataBundle, Split
from nnjournal.data.images import pixel_statistics
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.data.tabular import bundle_from_indices, read_prepared, split_rows
from nnjournal.errors import NNJError
from nnjournal.tasks import build_task, task_class
from nnjournal.training.predict import predict_outputs
from nnjournal.training.trainers import train_one

# The metrics the cross-validation table shows, in this order, where every fold has them.
SHOWN = ("accuracy", "balanced_accuracy", "f1", "f1_macro", "roc_auc", "log_loss", "rmse", "mae", "r2")
SHOWN += ("imputed_nrmse", "imputed_accuracy")  # the imputation task (tasks/imputation.py)
# Leave-one-out trains one network per example; above this many it is a long way to get
# what 10 folds estimate nearly as well.
LOO_LIMIT = 500


@dataclass
class Pool:
    """Every example of a data set once, and `build(train, val, test, seed)`: a bundle of those
    rows with the loader's preprocessing fitted on `train` only."""

    y: np.ndarray
    class_names: list[str] | None
    build: Callable[[np.ndarray, np.ndarray, np.ndarray, int], DataBundle]

    @property
    def classification(self) -> bool:
        return self.class_names is not None


def pool_of(cfg: RunConfig) -> Pool:
    """The examples `cfg.data` names, ready to be dealt into folds."""
    if cfg.data.name == "csv":  # raw string columns: the encoding itself is refitted per fold
        return _csv_pool(cfg, read_prepared(cfg.data, task_class(cfg.task).data_kind))
    return in_memory_pool(data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind))


def pool_without_test(cfg: RunConfig, bundle: DataBundle) -> tuple[Pool, np.ndarray]:
    """The pool of `cfg`'s examples and the indices in it of `bundle`'s training and validation
    rows: what cross-validation inside a search may deal into folds (the test rows never)."""
    if cfg.data.name == "csv":
        prepared = read_prepared(cfg.data, task_class(cfg.task).data_kind)
        tr, va, _ = split_rows(prepared, cfg.data, cfg.seed)
        return _csv_pool(cfg, prepared), np.concatenate([tr, va])
    pool = in_memory_pool(bundle)  # train, val, test in that order
    n_val = len(bundle.val) if bundle.val is not None else 0
    return pool, np.arange(len(bundle.train) + n_val)


def _csv_pool(cfg: RunConfig, prepared: Any) -> Pool:
    """A CSV's rows as read, each fold's bundle encoded with an encoding fitted on its training rows."""
    return Pool(
        prepared.y,
        prepared.class_names,
        lambda tr, va, te, seed: bundle_from_indices(prepared, cfg.data, tr, va, te, seed),
    )


def in_memory_pool(bundle: DataBundle) -> Pool:
    """A loaded bundle's splits joined. Images keep their uint8 pixels and get the pixel
    statistics of each fold's training rows; feature vectors the loader standardised are taken
    back to raw values (`Preprocessing.inverse`) and standardised on each fold's training rows;
    a fixed transform (digits' /16) is kept as it is, since nothing was fitted."""
    splits = [s for s in (bundle.train, bundle.val, bundle.test) if s is not None and len(s)]
    odd = next((type(s).__name__ for s in splits if type(s) is not Split), None)
    if odd is not None:
        raise NNJError(
            f"evaluation.cv: {bundle.info.name} examples come as {odd} (windows of one stream or sequences "
            "that belong together), which cannot be dealt into folds; set evaluation.cv = 0"
        )
    x = torch.cat([s.x for s in splits]).cpu()
    y = torch.cat([s.y for s in splits]).cpu()
    info, prep = bundle.info, bundle.preprocessing
    images = info.pixel_mean is not None
    raw = prep.inverse(x.numpy()) if not images and getattr(prep, "fitted", False) else None

    def build(tr: np.ndarray, va: np.ndarray, te: np.ndarray, seed: int) -> DataBundle:
        fold_info, fold_prep, fold_x = info, prep, x
        if images:
            mean, std = pixel_statistics(x.numpy(), tr)
            fold_info = replace(info, pixel_mean=mean, pixel_std=std)
        elif raw is not None:
            fold_prep = Preprocessing.standardize(raw[tr], prep.input_shape)
            fold_x = torch.from_numpy(fold_prep.transform(raw))

        def part(idx: np.ndarray) -> Split:
            rows = torch.as_tensor(idx, dtype=torch.long)
            return Split(fold_x[rows], y[rows])

        return DataBundle(part(tr), part(va) if len(va) else None, part(te), fold_info, fold_prep, bundle.source)

    labels = info.n_classes is not None and not y.is_floating_point()
    return Pool(y.numpy(), (info.class_names or [str(c) for c in range(info.n_classes)]) if labels else None, build)


def fold_indices(y: np.ndarray, cv: int | str, seed: int, stratified: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rest, held out) index pairs: `cv` folds (stratified on `y` when asked), or one per
    example for "loo"."""
    placeholder = np.zeros(len(y))
    if cv == "loo":
        return list(LeaveOneOut().split(placeholder))
    splitter = (StratifiedKFold if stratified else KFold)(int(cv), shuffle=True, random_state=seed)
    return list(splitter.split(placeholder, y if stratified else None))


def check_folds(cv: int | str, y: np.ndarray, class_names: list[str] | None, key: str = "evaluation.cv") -> None:
    """An `NNJError` when folds cannot be cut from targets `y`: leave-one-out above
    `LOO_LIMIT` examples; k stratified folds need at least k rows of every class."""
    if cv == "loo":
        if len(y) > LOO_LIMIT:
            raise NNJError(
                f"leave-one-out trains one model per example: {len(y)} examples is over the limit of "
                f"{LOO_LIMIT}; use evaluation.cv = 10"
            )
        return
    k = int(cv)
    if k > len(y):
        raise NNJError(f"{key} = {k} folds need at least {k} rows; the data has {len(y)}: lower {key}")
    if class_names is not None:
        counts = np.bincount(y, minlength=len(class_names))
        smallest = int(np.argmin(counts))
        if counts[smallest] < k:
            raise NNJError(
                f"{key} = {k} stratified folds need at least {k} rows of every class; class "
                f"{class_names[smallest]!r} has {counts[smallest]}: lower {key} (or set it to 0)"
            )


def check_cv(cfg: RunConfig) -> None:
    """Refuse, before anything trains, cross-validation the task or the data cannot give."""
    cv = cfg.evaluation.cv
    kind = task_class(cfg.task)
    if kind.trainer != "supervised":
        raise NNJError(
            f"evaluation.cv: {cfg.task.name} models are not scored on held-out examples by their targets; "
            "set evaluation.cv = 0"
        )
    if cv == "loo" and not hasattr(kind, "pooled_metrics"):
        raise NNJError(
            f"evaluation.cv = 'loo' scores the held-out predictions together, which the {cfg.task.name} task "
            "cannot; use k folds (evaluation.cv = 10)"
        )
    pool = pool_of(cfg)
    check_folds(cv, pool.y, pool.class_names)


def cross_validate(cfg: RunConfig) -> dict[str, Any]:
    """Mean and std over the folds of each model's held-out metrics (the network and the
    recipe's baselines, each refitted on every fold with its own preprocessing), and the
    network's metrics per fold; leave-one-out: the network's pooled held-out metrics."""
    cv = cfg.evaluation.cv
    loo = cv == "loo"
    pool = pool_of(cfg)
    check_folds(cv, pool.y, pool.class_names)
    y, strat = pool.y, pool.classification
    folds = fold_indices(y, cv, cfg.seed, strat)
    val_part = cfg.data.val_fraction / max(1e-9, 1.0 - cfg.data.test_fraction)
    per_model: dict[str, list[dict[str, float]]] = {}
    held_out: list[tuple[Any, np.ndarray, torch.Tensor]] = []  # leave-one-out: (task, y, outputs)
    for fold, (rest, test) in enumerate(folds):
        train, val = _carve_validation(rest, y, val_part, cfg.seed + fold, strat)
        bundle = pool.build(train, val, test, cfg.seed + fold)
        task = build_task(cfg.task, bundle.info, bundle)
        bundle = task.prepare_data(bundle, cfg)
        model, _ = train_one(cfg, bundle, task, seed=cfg.seed + fold)
        if loo:
            held_out.append((task, bundle.test.y.cpu().numpy(), predict_outputs(model, bundle.test.x)))
            continue
        scores = {"network": task.evaluate(model, bundle.test)}
        baseline_cfg = cfg.model_copy(
            update={"evaluation": cfg.evaluation.model_copy(update={"baselines": [b for b in cfg.evaluation.baselines if b != "dummy"]})}
        )
        scores.update(task.baselines(bundle, baseline_cfg)[1])
        for name, metrics in scores.items():
            per_model.setdefault(name, []).append(metrics)
    out: dict[str, Any] = {
        "folds": len(folds),
        "scheme": "loo" if loo else "k-fold",
        "stratified": strat and not loo,
        "examples": len(y),
    }
    if loo:
        pooled = held_out[0][0].pooled_metrics(held_out)
        shown = [m for m in SHOWN if m in pooled and np.isfinite(pooled[m])]
        return {**out, "metrics": shown, "models": {"network": {m: {"mean": pooled[m], "std": None} for m in shown}}}
    shown = [m for m in SHOWN if all(m in f for fs in per_model.values() for f in fs)]
    out["metrics"] = shown
    out["models"] = {
        name: {m: {"mean": float(np.mean([f[m] for f in fs])), "std": float(np.std([f[m] for f in fs]))} for m in shown}
        for name, fs in per_model.items()
    }
    out["per_fold"] = [
        {"n": len(test), **{m: f[m] for m in shown}} for (_, test), f in zip(folds, per_model["network"], strict=True)
    ]
    if strat:
        k = len(pool.class_names or [])
        out["fold_class_counts"] = [np.bincount(y[test], minlength=k).tolist() for _, test in folds]
    return out


def _carve_validation(
    rest: np.ndarray, y: np.ndarray, part: float, seed: int, stratified: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) out of a fold's training rows: the recipe's share of validation rows, for
    early stopping; stratified when it can be (a class with one row left cannot)."""
    if part <= 0:
        return rest, rest[:0]
    try:
        return tuple(train_test_split(rest, test_size=part, random_state=seed, stratify=y[rest] if stratified else None))
    except ValueError:
        return tuple(train_test_split(rest, test_size=part, random_state=seed))
