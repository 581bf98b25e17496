"""Sequence classification on real data: MNIST digits read row by row by an LSTM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnjournal.data.bundle import Split
from nnjournal.data.idx import read_idx
from nnjournal.data.sequences import images_as_sequences
from nnjournal.models.rnn import SequenceClassifier
from nnjournal.tasks.base import direction
from nnjournal.tasks.sequence_classification import SequenceClassification
from tests.conftest import require_data

pytestmark = pytest.mark.usefixtures("one_thread")


def test_lstm_reads_mnist_rows_as_time_steps() -> None:
    """3,000 of MNIST's test images, 28 steps of 28 pixels, 6 epochs of an LSTM-64: well
    above chance (0.10) on 1,000 other images in a few seconds (the full recipe aims at 0.97)."""
    folder = require_data("mnist")
    images = torch.from_numpy(np.array(read_idx(folder / "t10k-images-idx3-ubyte.gz"))).unsqueeze(1)
    labels = torch.from_numpy(np.array(read_idx(folder / "t10k-labels-idx1-ubyte.gz"))).long()
    x = images_as_sequences(images)  # (10000, 28, 28)
    train, test = Split(x[:3000], labels[:3000]), Split(x[8000:9000], labels[8000:9000])
    task = SequenceClassification(10)
    assert direction(task, "val_accuracy") == "max"
    torch.manual_seed(0)
    model = SequenceClassifier(10, in_features=28, hidden_size=64, cell="lstm")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    before = task.evaluate(model, test)
    for _ in range(6):
        for idx in train.batch_indices(64, g, "cpu"):
            out = task.training_step(model, train.take(idx))
            assert out.count == len(idx)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
    after = task.evaluate(model, test)
    print(f"MNIST rows LSTM: test accuracy {before['accuracy']:.3f} -> {after['accuracy']:.3f}")
    assert before["accuracy"] < 0.2
    assert after["accuracy"] >= 0.8
    assert after["loss"] < before["loss"] / 2
    assert all(direction(task, k) for k in after)
