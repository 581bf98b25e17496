"""Baselines every supervised journal entry puts next to the network: dummy predictors
(majority class, stratified guess, mean) and a linear model (logistic / linear regression),
fitted on the same training split and preprocessing."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression

from nnjournal.data.bundle import DataBundle
from nnjournal.evaluation.metrics import classification_metrics, regression_metrics


def _flat(x) -> np.ndarray:
    flat = x.detach().cpu().reshape(len(x), -1).numpy()
    # uint8 pixels to [0, 1]: on raw 0..255 values logistic regression converges slowly and worse.
    return flat.astype(np.float32) / 255.0 if flat.dtype == np.uint8 else flat


def run_baselines(
    bundle: DataBundle, task_name: str, kinds: list[str], seed: int
) -> dict[str, dict[str, float]]:
    """Test-split metrics of each baseline, keyed by a readable name."""
    x_tr, y_tr = _flat(bundle.train.x), bundle.train.y.cpu().numpy()
    x_te, y_te = _flat(bundle.test.x), bundle.test.y.cpu().numpy()
    models: dict[str, object] = {}
    if task_name == "classification":
        if "dummy" in kinds:
            models["majority class"] = DummyClassifier(strategy="most_frequent")
            models["stratified guess"] = DummyClassifier(strategy="stratified", random_state=seed)
        if "linear" in kinds:
            models["logistic regression"] = LogisticRegression(max_iter=2000)
    else:
        if "dummy" in kinds:
            models["mean"] = DummyRegressor(strategy="mean")
        if "linear" in kinds:
            models["linear regression"] = LinearRegression()

    results = {}
    k = bundle.info.n_classes or 0
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_tr, y_tr)
        if task_name == "classification":
            proba = np.zeros((len(x_te), k))
            proba[:, model.classes_] = model.predict_proba(x_te)
            results[name] = classification_metrics(y_te, proba)
        else:
            results[name] = regression_metrics(y_te, model.predict(x_te), bundle.info.n_features)
    return results
