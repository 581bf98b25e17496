"""Baselines every supervised journal entry puts next to the network: dummy predictors
(majority class, stratified guess, mean), a linear model (logistic regression / ridge
regression with its strength chosen by cross-validation) and
gradient-boosted trees (scikit-learn's HistGradientBoosting), untuned and, on request, tuned by a
short Optuna search (`tuned_boosting.py`), fitted on the same training split and preprocessing."""

from __future__ import annotations

import importlib.util
import logging
import warnings
from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV

from nnjournal.data.bundle import DataBundle
from nnjournal.evaluation.metrics import classification_metrics, regression_metrics
from nnjournal.evaluation.tuned_boosting import TunedBoosting

log = logging.getLogger(__name__)
RIDGE = "ridge regression (CV alpha)"
TUNED = "boosted trees (tuned)"
RIDGE_ALPHAS = np.logspace(-3, 4, 15)  # 1e-3 .. 1e4: from almost least squares to almost the mean


def _flat(x) -> np.ndarray:
    flat = x.detach().cpu().reshape(len(x), -1).numpy()
    # uint8 pixels to [0, 1]: on raw 0..255 values logistic regression converges slowly and worse.
    return flat.astype(np.float32) / 255.0 if flat.dtype == np.uint8 else flat


KINDS = ("dummy", "linear", "boosted", "tuned_boosted")  # the evaluation.baselines this module makes


def make_baselines(classification: bool, kinds: list[str], seed: int) -> dict[str, Any]:
    """Unfitted baseline estimators by readable name."""
    models: dict[str, Any] = {}
    if "tuned_boosted" in kinds and importlib.util.find_spec("optuna") is None:
        # the shipped tabular recipes ask for it; without the `tune` extra they still run
        log.warning("tuned boosted trees skipped: Optuna is not installed (pip install 'nnjournal[tune]')")
        kinds = [k for k in kinds if k != "tuned_boosted"]
    if classification:
        if "dummy" in kinds:
            models["majority class"] = DummyClassifier(strategy="most_frequent")
            models["stratified guess"] = DummyClassifier(strategy="stratified", random_state=seed)
        if "linear" in kinds:
            models["logistic regression"] = LogisticRegression(max_iter=2000)
        if "boosted" in kinds:
            models["boosted trees"] = HistGradientBoostingClassifier(random_state=seed)
        if "tuned_boosted" in kinds:
            models[TUNED] = TunedBoosting(classification=True, seed=seed)
    else:
        if "dummy" in kinds:
            models["mean"] = DummyRegressor(strategy="mean")
        if "linear" in kinds:
            # Plain least squares on one-hot-heavy data overfits to an R² far below the mean's;
            # ridge with alpha picked by (efficient leave-one-out) CV is what a practitioner fits.
            models[RIDGE] = RidgeCV(alphas=RIDGE_ALPHAS)
        if "boosted" in kinds:
            models["boosted trees"] = HistGradientBoostingRegressor(random_state=seed)
        if "tuned_boosted" in kinds:
            models[TUNED] = TunedBoosting(classification=False, seed=seed)
    return models


def fit_baselines(bundle: DataBundle, classification: bool, kinds: list[str], seed: int) -> dict[str, Any]:
    """Baselines fitted on the training split, by readable name."""
    x_tr, y_tr = _flat(bundle.train.x), bundle.train.y.cpu().numpy()
    models = make_baselines(classification, kinds, seed)
    for model in models.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_tr, y_tr)
    return models


def baseline_proba(model: Any, x: np.ndarray, k: int) -> np.ndarray:
    """(n, k) class probabilities, with zero columns for classes absent from training."""
    proba = np.zeros((len(x), k))
    proba[:, model.classes_] = model.predict_proba(x)
    return proba


def score_baselines(
    models: dict[str, Any], bundle: DataBundle, classification: bool
) -> dict[str, dict[str, float]]:
    """Test-split metrics of each fitted baseline."""
    x_te, y_te = _flat(bundle.test.x), bundle.test.y.cpu().numpy()
    results = {}
    for name, model in models.items():
        if classification:
            results[name] = classification_metrics(
                y_te, baseline_proba(model, x_te, bundle.info.n_classes or 0)
            )
        else:
            results[name] = regression_metrics(y_te, model.predict(x_te), bundle.info.n_features)
    return results


def run_baselines(
    bundle: DataBundle, classification: bool, kinds: list[str], seed: int
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """(fitted baselines, their test-split metrics), keyed by a readable name."""
    fitted = fit_baselines(bundle, classification, kinds, seed)
    return fitted, score_baselines(fitted, bundle, classification)
