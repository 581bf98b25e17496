"""`[evaluation]` settings a run would not use, refused before a run directory exists.

A setting the task, the data or the model cannot act on used to be dropped without a word
(`evaluation.baselines = ["pca"]` on an imputation, a decision threshold for ten classes,
column importance of image pixels): the report then lacks what was asked and says nothing.
Each task declares what it reads (`baseline_names`, `evaluation_options`); values left at
their defaults are never refused, so a run's saved config.toml (every setting written out)
runs again as it is.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from nnjournal.config import EvaluationConfig
from nnjournal.errors import NNJError
from nnjournal.evaluation.details import is_binary
from nnjournal.regularization.mc_dropout import has_dropout

DEFAULTS = EvaluationConfig()
# option -> what it is for, in the message that refuses it
PURPOSE = {
    "downstream": "reconstruction tasks (classifiers fitted on an autoencoder's codes)",
    "pca_components": "reconstruction tasks (the PCA baseline's size)",
    "threshold": "two-class classification (the decision threshold)",
    "permutation_importance": "classifiers and regressors on a table's columns",
    "mc_dropout": "classification (Monte-Carlo dropout)",
}


def refuse_unused_settings(cfg: Any, task: Any, bundle: Any, model: nn.Module) -> None:
    """Raise `NNJError` (what, where, how to fix) for an `[evaluation]` setting changed from
    its default that this task, data set or model would ignore."""
    ev = cfg.evaluation
    _check_baselines(ev.baselines, task)
    options = getattr(task, "evaluation_options", frozenset())
    for option, purpose in PURPOSE.items():
        if getattr(ev, option) != getattr(DEFAULTS, option) and option not in options:
            raise NNJError(
                f"evaluation.{option} is for {purpose}; the {task.name} task does not use it: remove it"
            )
    if ev.threshold.objective != "none" and not is_binary(task):
        raise NNJError(
            f"evaluation.threshold.objective = {ev.threshold.objective!r} chooses a two-class decision threshold; "
            f'this data set has {getattr(task, "n_classes", "more than 2")} classes: set it to "none"'
        )
    if ev.permutation_importance and not hasattr(bundle.preprocessing, "feature_groups"):
        raise NNJError(
            f"evaluation.permutation_importance shuffles a table's columns one at a time; data set "
            f"{bundle.info.name!r} is not a table: set it to false"
        )
    if ev.mc_dropout and not has_dropout(model):
        raise NNJError(
            "evaluation.mc_dropout needs dropout in the model: set model.dropout_hidden (MLP) or "
            "model.dropout_head (CNN) above 0, or evaluation.mc_dropout = 0"
        )


def _check_baselines(asked: list[str], task: Any) -> None:
    if asked == DEFAULTS.baselines:
        return
    known = tuple(getattr(task, "baseline_names", ()))
    unknown = [b for b in asked if b not in known]
    if not unknown:
        return
    if not known:
        raise NNJError(
            f"evaluation.baselines: the {task.name} task reports its own baselines and takes none of "
            f"{', '.join(map(repr, unknown))}: remove evaluation.baselines"
        )
    raise NNJError(
        f"evaluation.baselines: {', '.join(map(repr, unknown))} is not a baseline of the {task.name} task "
        f"(it takes {', '.join(known)}): remove it"
    )
