"""Evaluation details a run adds to a model's summary beyond its task's default metrics:
the decision threshold chosen on validation (binary), ranking metrics and results at that
threshold, and permutation importance of the raw input columns (tabular data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nnjournal.config import RunConfig
from nnjournal.data.bundle import DataBundle, Split
from nnjournal.evaluation.binary import at_threshold, ranking_metrics
from nnjournal.evaluation.importance import permutation_importance
from nnjournal.evaluation.threshold import choose_threshold
from nnjournal.training.predict import predict_outputs


def is_binary(task: Any) -> bool:
    """A two-class classifier (one logit): the tasks that have a decision threshold."""
    return bool(getattr(task, "binary", False))


def positive_proba(model: torch.nn.Module, task: Any, x: torch.Tensor) -> np.ndarray:
    return task.proba(predict_outputs(model, x))[:, 1]


def pick_threshold(
    cfg: RunConfig, model: torch.nn.Module, task: Any, bundle: DataBundle
) -> dict[str, Any] | None:
    """The recipe's decision threshold, chosen on the validation split (the training split
    when there is none, which the summary records)."""
    objective = cfg.evaluation.threshold.objective
    if objective == "none" or not is_binary(task):
        return None
    split, name = (
        (bundle.val, "validation") if bundle.val is not None and len(bundle.val) else (bundle.train, "train")
    )
    y = split.y.cpu().numpy()
    chosen = choose_threshold(
        y, positive_proba(model, task, split.x), objective, cfg.evaluation.threshold.min_precision
    )
    chosen["chosen_on"] = name
    return chosen


def binary_details(
    model: torch.nn.Module, task: Any, bundle: DataBundle, threshold: dict[str, Any] | None
) -> dict[str, Any]:
    """Test-split ranking metrics, and results at 0.5 and at the chosen threshold."""
    y = bundle.test.y.cpu().numpy()
    p = positive_proba(model, task, bundle.test.x)
    names = bundle.info.class_names or ["0", "1"]
    out: dict[str, Any] = {"ranking": ranking_metrics(y, p), "at_0.5": at_threshold(y, p, 0.5, names)}
    if threshold is not None:
        out["threshold"] = threshold
        out["at_threshold"] = at_threshold(y, p, threshold["value"], names)
    return out


def column_importance(
    model: torch.nn.Module, task: Any, split: Split, groups: dict[str, list[int]], seed: int
) -> dict[str, Any]:
    """Permutation importance of each raw column on `split`, by ROC-AUC for binary tasks and
    the task's headline metric otherwise (a drop is always 'worse', whichever direction)."""
    metric = "roc_auc" if is_binary(task) else task.headline
    sign = -1.0 if task.directions[metric] == "min" else 1.0
    y = split.y.cpu().numpy()

    def score(x: torch.Tensor) -> float:
        return sign * task.metrics(y, predict_outputs(model, x))[metric]

    return {"metric": metric, "columns": permutation_importance(score, split.x, groups, seed=seed)}
