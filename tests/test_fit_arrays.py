"""`fit(model, (x, y))` on plain arrays: what a user hands it from numpy, pandas or Keras
habits is read as they mean it, and each mistake is one NNJError naming the array and the fix,
before any training (it was an IndexError, a KeyError or a matrix-shape RuntimeError from
inside the first step, or for a (n, 1) regression target a warning and a wrong loss)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nnjournal import fit
from nnjournal.errors import NNJError

RNG = np.random.default_rng(0)
X = RNG.random((60, 4)).astype(np.float32)
Y = (X[:, 0] * 3).astype(np.int64).clip(0, 2)  # three classes from the first feature


def net(inputs: int = 4, outputs: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(inputs, 8), nn.ReLU(), nn.Linear(8, outputs))


def trained(x, y, task: str = "classification", outputs: int = 3) -> list[torch.Tensor]:
    model = net(outputs=outputs)
    fit(model, (x, y), epochs=3, task=task, seed=1)
    return [p.detach().clone() for p in model.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a, b, strict=True))


def test_whole_float_labels_one_hot_rows_lists_and_frames_train_as_integer_labels():
    reference = trained(X, Y)
    assert same(trained(X, Y.astype(np.float32)), reference)  # as pandas reads a label column with gaps dropped
    assert same(trained(X, np.eye(3)[Y]), reference)  # one-hot rows, as Keras takes them
    assert same(trained(X.tolist(), Y.tolist()), reference)
    assert same(trained(pd.DataFrame(X), pd.Series(Y)), reference)
    assert same(trained(torch.from_numpy(X), torch.from_numpy(Y)), reference)
    assert same(trained(X, Y.astype(object)), reference)  # a pandas column of Python ints


def test_a_column_of_regression_targets_is_one_target_per_row():
    """A (n, 1) target was broadcast against the (n,) predictions into an (n, n) loss."""
    target = X.sum(axis=1)
    assert same(trained(X, target[:, None], "regression", 1), trained(X, target, "regression", 1))


def test_checking_the_model_on_one_row_leaves_the_random_draws_of_training_alone():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    fit(model, (X, Y), epochs=2, seed=1)
    after = torch.rand(1)
    torch.manual_seed(5)
    model2 = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    fit(model2, (torch.from_numpy(X), torch.from_numpy(Y)), epochs=2, seed=1)
    assert torch.equal(after, torch.rand(1))
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), model2.parameters(), strict=True))


BAD = [
    ("rows differ", lambda: ((X, Y[:40]), {}), "the training data has 60 rows in x but 40 in y"),
    ("nan", lambda: ((np.where(X > 0.95, np.nan, X), Y), {}), "the training x holds"),
    ("text labels", lambda: ((X, np.array(list("abc"))[Y]), {}), "text labels ('"),
    ("fractional labels", lambda: ((X, Y + 0.5), {}), "values that are no class numbers, such as 1.5"),
    ("negative label", lambda: ((X, Y - 1), {}), "the label -1"),
    ("labels beyond the outputs", lambda: ((X, Y + 5), {}), "needs 8 for the labels 0..7 in y"),
    ("wrong width", lambda: ((X[:, :3], Y), {}), "cannot take the training rows of shape (3,)"),
    ("validation width", lambda: ((X, Y), {"val": (X[:, :3], Y)}), "the validation x has rows of shape (3,)"),
    ("empty", lambda: ((X[:0], Y[:0]), {}), "the training data has no rows"),
    ("unknown task", lambda: ((X, Y), {"task": "clasification"}), "unknown task 'clasification'; the tasks are"),
    ("2-D regression target", lambda: ((X, X[:, :2]), {"task": "regression"}), "one target per row"),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_mistake_in_the_arrays_is_one_clear_error_before_training(case, make, message):
    data, kwargs = make()
    val = kwargs.pop("val", None)
    model = net(outputs=1 if kwargs.get("task") == "regression" else 3)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(NNJError) as err:
        fit(model, data, val, epochs=1, **kwargs)
    assert message in str(err.value), str(err.value)
    assert same([p.detach() for p in model.parameters()], before)  # nothing trained
