"""Regularization: weight penalties (L1, L2, elastic net). Early stopping lives in the trainer
(`training.early_stopping`), dropout and normalization in the model builders."""

from nnjournal.regularization.penalties import WeightPenalty, near_zero_fraction

__all__ = ["WeightPenalty", "near_zero_fraction"]
