"""scikit-learn estimators backed by nnjournal's MLP and `fit` loop, for use in `Pipeline`,
`GridSearchCV`, `cross_val_score` and the rest of scikit-learn.

Conventions (scikit-learn's `develop.rst`): `__init__` stores its arguments unchanged,
validation happens in `fit`, fitted attributes end in `_`, `fit` returns `self`, and
`random_state` (None, an int or a RandomState) is stored as given.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from nnjournal.estimators import NeuralClassifier   # or nnjournal.sklearn
    clf = make_pipeline(StandardScaler(), NeuralClassifier(hidden=(64,), epochs=50)).fit(X, y)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnjournal.config import MLPModel, TrainingConfig
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.estimators.base import array_bundle, as_tensor, checked_parameters, run_config
from nnjournal.tasks.classification import Classification
from nnjournal.tasks.regression import Regression
from nnjournal.training.predict import predict_outputs
from nnjournal.training.trainers import train_one


class _NeuralBase(BaseEstimator):
    """Shared parameters and the training call; subclasses say what the targets are."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (64,),
        *,
        activation: str = "relu",
        dropout: float = 0.0,
        epochs: int = 100,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        validation_fraction: float = 0.0,
        patience: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state

    def _check_params(self) -> list[int]:
        """Refuse what the config sections would not say clearly; return `hidden` as a list
        of widths (one int is one layer)."""
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)):
            hidden = (int(hidden),)
        if not all(isinstance(h, (int, np.integer)) and h >= 1 for h in hidden):
            raise ValueError(f"hidden must be a sequence of positive ints, got {self.hidden!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        return [int(h) for h in hidden]

    def _train(
        self, x: np.ndarray, y: np.ndarray, task: Any, hidden: list[int], n_classes: int | None
    ) -> None:
        """Train an MLP on (x, y) through `train_one`, as a recipe's run would be trained."""
        rng = check_random_state(self.random_state)
        # Drawn before the split, as always: the same random_state gives the same network.
        seed = int(rng.randint(np.iinfo(np.int32).max))
        x_t = as_tensor(x, dtype=torch.float32)
        y_t = as_tensor(y)
        train, val = Split(x_t, y_t), None
        if self.validation_fraction > 0 and len(x) >= 10:
            order = rng.permutation(len(x))
            n_val = max(1, int(round(self.validation_fraction * len(x))))
            v, t = order[:n_val], order[n_val:]
            train, val = Split(x_t[t], y_t[t]), Split(x_t[v], y_t[v])
        with checked_parameters(self):
            model = MLPModel(hidden=hidden, activation=self.activation, dropout_hidden=self.dropout)
            training = TrainingConfig(
                epochs=self.epochs,
                batch_size=self.batch_size,
                optimizer={
                    "name": "adamw" if self.weight_decay else "adam",
                    "lr": self.lr,
                    "weight_decay": self.weight_decay,
                },
                early_stopping={"patience": self.patience},
                device="cpu",
                checkpoint_every_s=0.0,
            )
        info = DataInfo("array", (x.shape[1],), n_classes=n_classes)
        self.model_, history = train_one(run_config(model, training, seed), array_bundle(train, val, info), task)
        self.n_iter_ = len(history.records)
        self.loss_curve_ = history.series("train_loss")
        # Predict in float64: float32 matrix products depend slightly on batch size, and
        # scikit-learn expects a row's prediction not to change with the rows around it.
        self.model_.double().eval()

    def _outputs(self, X: Any) -> torch.Tensor:
        check_is_fitted(self, "model_")
        x = validate_data(self, X, reset=False, dtype=np.float64)
        return predict_outputs(self.model_, as_tensor(x))


class NeuralClassifier(ClassifierMixin, _NeuralBase):
    """A multilayer perceptron classifier (binary or multi-class) trained with nnjournal.

    `hidden` lists the hidden layer widths; `validation_fraction` > 0 holds out that share
    of the training rows, tracks validation loss and restores the best epoch's weights
    (with `patience`, training also stops early)."""

    def fit(self, X: Any, y: Any) -> NeuralClassifier:
        hidden = self._check_params()
        x, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"NeuralClassifier needs at least 2 classes in y; got 1 class: {self.classes_[0]!r}"
            )
        self._task = Classification(len(self.classes_))
        self._train(x, encoded.astype(np.int64), self._task, hidden, len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self._task.proba(self._outputs(X))

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class NeuralRegressor(RegressorMixin, _NeuralBase):
    """A multilayer perceptron regressor trained with nnjournal (MSE loss). Targets are
    standardized for training and mapped back, so their scale does not set the learning rate."""

    def fit(self, X: Any, y: Any) -> NeuralRegressor:
        hidden = self._check_params()
        x, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True)
        if y.ndim != 1:
            raise ValueError(f"NeuralRegressor takes a 1-D target, got shape {y.shape}")
        self.y_mean_ = float(np.mean(y))
        self.y_scale_ = float(np.std(y)) or 1.0
        scaled = ((y - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._train(x, scaled, Regression(x.shape[1]), hidden, None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self._outputs(X).squeeze(1).double().numpy()
        return out * self.y_scale_ + self.y_mean_
