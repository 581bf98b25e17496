"""Evaluation: metrics and baselines."""

from nnjournal.evaluation.baselines import run_baselines
from nnjournal.evaluation.metrics import classification_metrics, confusion, regression_metrics

__all__ = ["classification_metrics", "confusion", "regression_metrics", "run_baselines"]
