"""Sequence regression (many-to-one, a number per sequence): e.g. the adding problem.

Squared error averaged over sequences; the model is called as `model(x, lengths)` when the
batch carries lengths (see `sequence_classification.forward_sequences`) and returns (B, 1).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nnjournal.data.bundle import Split
from nnjournal.tasks.base import Direction, StepOutput, SupervisedTask
from nnjournal.tasks.sequence_classification import forward_sequences
from nnjournal.tasks.step_check import FirstStepCheck, wrong_data
from nnjournal.training.predict import evaluation_mode, split_chunks


class SequenceRegression(FirstStepCheck, SupervisedTask):
    name = "sequence_regression"
    headline = "mse"
    directions: dict[str, Direction] = {"loss": "min", "mse": "min", "rmse": "min", "mae": "min"}
    out_features = 1
    data_kind = "regression"

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> SequenceRegression:
        if bundle is not None and (bundle.train.y.ndim != 1 or not bundle.train.y.is_floating_point()):
            raise wrong_data("sequence-regression", "one number per sequence (e.g. data.name = 'adding')", info)
        return cls()

    def baselines(self, bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from nnjournal.tasks.recurrent_journal import mean_predictor

        return {}, mean_predictor(bundle)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs.squeeze(1), targets)

    def training_step(self, model: torch.nn.Module, batch: Split, state: Any = None) -> StepOutput:
        outputs = forward_sequences(model, batch)
        loss = (self.train_loss or self.loss)(outputs, batch.y)
        return self._step_output(loss, outputs, batch, training=True)

    @torch.no_grad()
    def evaluation_step(self, model: torch.nn.Module, batch: Split) -> StepOutput:
        outputs = forward_sequences(model, batch)
        return self._step_output(self.loss(outputs, batch.y), outputs, batch)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: Split, batch_size: int = 1024) -> dict[str, float]:
        with evaluation_mode(model) as device:
            chunks = split_chunks(split, batch_size, device)
            preds = [forward_sequences(model, b).squeeze(1).float().cpu() for b in chunks]
        err = torch.cat(preds) - split.y.cpu()
        mse = float((err**2).mean())
        return {"loss": mse, "mse": mse, "rmse": mse**0.5, "mae": float(err.abs().mean())}
