"""Gradient-boosted trees tuned by a short Optuna search: the strong automated baseline a
tabular network should be compared with (`evaluation.baselines = [..., "tuned_boosted"]`).

Untuned `HistGradientBoosting` is already good; a practitioner's next step is a small search
over its learning rate, tree size, leaf size and L2 strength. `fit(x, y)` holds out a fifth of
the training rows (stratified for classes), runs `n_trials` TPE trials judged on that holdout
(each boosting with early stopping on an inner split of the rest), then refits the best settings on every training row with the number
of iterations the best trial used. The test split is never seen. Seeded: the same data and seed
give the same trees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from nnjournal.errors import NNJError

N_TRIALS = 20
MAX_ITER = 1000


class TunedBoosting(BaseEstimator):
    """HistGradientBoosting{Classifier,Regressor} with hyperparameters from an Optuna search."""

    def __init__(self, classification: bool, n_trials: int = N_TRIALS, seed: int = 0) -> None:
        self.classification = classification
        self.n_trials = n_trials
        self.seed = seed

    def _model(self, params: dict[str, Any], max_iter: int, early: bool) -> Any:
        cls = HistGradientBoostingClassifier if self.classification else HistGradientBoostingRegressor
        return cls(
            max_iter=max_iter,
            early_stopping=early,
            random_state=self.seed,
            # early stopping on an inner fifth of the trial's rows; the holdout judges the trial
            **({"validation_fraction": 0.2, "n_iter_no_change": 30} if early else {}),
            **params,
        )

    def fit(self, x: np.ndarray, y: np.ndarray) -> TunedBoosting:
        try:
            import optuna
        except ImportError:
            raise NNJError(
                "the tuned boosted-trees baseline needs Optuna: pip install 'nnjournal[tune]', "
                "or drop \"tuned_boosted\" from evaluation.baselines"
            ) from None
        stratify = y if self.classification and np.bincount(y.astype(int)).min() >= 2 else None
        x_fit, x_hold, y_fit, y_hold = train_test_split(
            x, y, test_size=0.2, random_state=self.seed, stratify=stratify
        )
        labels = np.unique(y) if self.classification else None

        def objective(trial: Any) -> float:
            params = {
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 128, log=True),
                "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 100, log=True),
                "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 10.0, log=True),
            }
            model = self._model(params, MAX_ITER, early=True).fit(x_fit, y_fit)
            trial.set_user_attr("n_iter", int(model.n_iter_))
            if self.classification:
                return float(log_loss(y_hold, model.predict_proba(x_hold), labels=labels))
            return float(mean_squared_error(y_hold, model.predict(x_hold)))

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=self.seed))
        # One OpenMP thread: 20 fits on a baseline-sized table gain nothing from a second core, and on
        # a busy 2-core machine the default threads made 5 trials take 95 s instead of 20 trials 18 s.
        with threadpool_limits(limits=1, user_api="openmp"):
            study.optimize(objective, n_trials=self.n_trials)
            self.best_params_ = dict(study.best_params)
            self.best_iter_ = int(study.best_trial.user_attrs["n_iter"])
            self.model_ = self._model(self.best_params_, self.best_iter_, early=False).fit(x, y)
        self.classes_ = getattr(self.model_, "classes_", None)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict(x)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(x)

    def describe(self) -> str:
        p = self.best_params_
        return (
            f"learning rate {p['learning_rate']:.3g}, {p['max_leaf_nodes']} leaves, min {p['min_samples_leaf']} "
            f"rows per leaf, L2 {p['l2_regularization']:.3g}, {self.best_iter_} trees ({self.n_trials} TPE trials "
            "on a fifth of the training rows)"
        )
