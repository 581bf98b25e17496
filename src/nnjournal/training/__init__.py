"""Training: the `fit` loop, optimizers and schedules, checkpoints, seeding and devices."""

from nnjournal.training.fit import History, fit, predict_outputs
from nnjournal.training.seeding import seed_everything, select_device

__all__ = ["History", "fit", "predict_outputs", "seed_everything", "select_device"]
