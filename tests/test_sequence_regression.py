"""Sequence regression on the adding problem: a GRU learns what the mean predictor cannot."""

from __future__ import annotations

import pytest
import torch

from nnjournal.data.sequences import adding_problem
from nnjournal.models.rnn import SequenceClassifier
from nnjournal.tasks.base import direction
from nnjournal.tasks.sequence_regression import SequenceRegression

pytestmark = pytest.mark.usefixtures("one_thread")


def test_gru_solves_the_adding_problem_at_length_20() -> None:
    """Predicting the mean sum (1.0) scores MSE 1/6; the GRU has to find the two marked
    numbers among 20. Measured: GRU 0.001 after 8 epochs, while an Elman RNN and an LSTM
    of the same size were still at 0.167 (the gradient study's subject)."""
    train, test = adding_problem(2000, 20, seed=0), adding_problem(500, 20, seed=1)
    task = SequenceRegression()
    torch.manual_seed(0)
    model = SequenceClassifier(1, in_features=2, hidden_size=32, cell="gru")  # one output: a number
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(8):
        for idx in train.batch_indices(50, g, "cpu"):
            out = task.training_step(model, train.take(idx))
            opt.zero_grad()
            out.loss.backward()
            opt.step()
    metrics = task.evaluate(model, test)
    mean_predictor = float(((test.y - train.y.mean()) ** 2).mean())
    print(f"adding problem T=20: GRU MSE {metrics['mse']:.4f}, mean predictor {mean_predictor:.4f}")
    assert mean_predictor == pytest.approx(1 / 6, abs=0.03)
    assert metrics["mse"] < mean_predictor / 10
    assert metrics["rmse"] == pytest.approx(metrics["mse"] ** 0.5)
    assert all(direction(task, k) == "min" for k in metrics)
