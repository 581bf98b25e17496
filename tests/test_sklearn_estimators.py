"""NeuralClassifier / NeuralRegressor follow scikit-learn's conventions (estimator_checks)
and work inside Pipeline and GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnjournal.sklearn import NeuralClassifier, NeuralRegressor

pytestmark = pytest.mark.usefixtures("one_thread")

# Checks scikit-learn itself skips here, and why (nothing else is skipped or expected to fail):
# - check_array_api_input: needs SCIPY_ARRAY_API=1 and array-API inputs; the estimators take
#   numpy-convertible arrays only (the network runs on torch tensors made from them).
# - check_classifier_data_not_an_array / check_regressor_data_not_an_array: need pandas,
#   which nnjournal does not depend on.


# Few epochs at a higher learning rate keep the ~100 checks fast; check_classifiers_train
# and check_regressors_train still demand a model that has learned (accuracy > 0.83, R^2).
FAST = {"epochs": 20, "lr": 0.01, "random_state": 0}


@parametrize_with_checks([NeuralClassifier(**FAST), NeuralRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_grid_search_over_two_hidden_sizes_in_a_pipeline():
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), NeuralClassifier(epochs=15, random_state=0))
    search = GridSearchCV(pipe, {"neuralclassifier__hidden": [(16,), (64,)]}, cv=3)
    search.fit(x_tr, y_tr)
    assert search.best_params_["neuralclassifier__hidden"] in [(16,), (64,)]
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.score(x_te, y_te) > 0.9  # a broken network stays near 0.1 on ten digits
    assert search.best_estimator_[-1].n_iter_ == 15


def test_same_random_state_same_model_and_params_unchanged():
    x, y = load_digits(return_X_y=True)
    a = NeuralClassifier(hidden=[8], epochs=3, random_state=1).fit(x, y).predict_proba(x[:20])
    b = NeuralClassifier(hidden=[8], epochs=3, random_state=1).fit(x, y).predict_proba(x[:20])
    np.testing.assert_array_equal(a, b)
    assert NeuralClassifier(hidden=[8]).get_params()["hidden"] == [8]  # stored as given


def test_regressor_learns_a_linear_target_in_original_units():
    x, y = make_regression(400, 5, noise=1.0, random_state=0)
    y = y * 1000 + 5e4  # scale and offset the network never sees
    model = NeuralRegressor(hidden=(32,), epochs=60, lr=3e-3, random_state=0).fit(x[:300], y[:300])
    assert model.score(x[300:], y[300:]) > 0.95


def test_invalid_parameters_are_reported_in_fit():
    x, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="hidden must be a sequence of positive ints"):
        NeuralClassifier(hidden=(0,)).fit(x, y)
    # What the config sections refuse comes back as one sentence naming the parameter.
    with pytest.raises(ValueError, match=r"^NeuralClassifier: activation='swish' is invalid: Input should be"):
        NeuralClassifier(activation="swish").fit(x, y)
    with pytest.raises(ValueError, match=r"^NeuralRegressor: lr=0 is invalid: Input should be greater than 0\.$"):
        NeuralRegressor(lr=0).fit(x, y.astype(float))


def test_read_only_arrays_train_and_predict_without_a_warning():
    """A pandas DataFrame under copy-on-write, or a memory map, hands over read-only arrays:
    torch warned "The given NumPy array is not writable" on the first prediction."""
    import warnings

    x, y = make_regression(n_samples=60, n_features=3, noise=0.1, random_state=0)
    x.flags.writeable = False
    y.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = NeuralRegressor(hidden=(8,), epochs=2, random_state=0).fit(x, y)
        pred = model.predict(x)
    assert pred.shape == (60,) and not x.flags.writeable
