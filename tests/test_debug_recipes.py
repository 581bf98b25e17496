"""Acceptance of `nnj debug`'s tiny-batch check on the issue's recipes: each memorises 32
training examples (>= 0.99 accuracy, or >= 0.99 of the reconstruction loss removed)."""

from __future__ import annotations

import pytest
from conftest import require_data

from nnjournal import data, recipes, tasks
from nnjournal.debugging.entry import PROFILES
from nnjournal.debugging.overfit import overfit_tiny_batch


@pytest.mark.parametrize(
    "recipe, needs", [("digits-cnn", None), ("telco-churn", "churn"), ("ae-vs-pca", "mnist")]
)
def test_tiny_batch_is_memorised(recipe, needs):
    if needs:
        require_data(needs)
    cfg = next(iter(recipes.load(recipe).variant_configs().values()))
    bundle = data.load(cfg.data, seed=cfg.seed, task=tasks.task_class(cfg.task).data_kind)
    task = tasks.build_task(cfg.task, bundle.info, bundle)
    bundle = task.prepare_data(bundle, cfg)
    result = overfit_tiny_batch(cfg, bundle, task, steps=PROFILES["quick"]["steps"])
    assert result.examples == 32
    assert result.passed and result.score >= 0.99, (result.score, result.diagnosis)
    assert result.last_loss < 0.05 * result.first_loss
    if result.recipe_lr_score is not None:  # it needed the larger step: the report says so
        assert result.diagnosis[0].startswith("the learning rate")
