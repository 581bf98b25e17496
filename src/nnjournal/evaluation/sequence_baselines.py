"""Baselines a recurrent network must beat, each fitted on the training part only.

Language models: the unigram and bigram character models' loss in nats per character (a
network that only learned letter frequencies, or one character of context, is no better).
Forecasting: persistence (tomorrow = today), seasonal naive (this month = the same month last
year), Holt-Winters exponential smoothing and SARIMA(0,1,1)(0,1,1)_12 on the logs (the
"airline model" of Box & Jenkins, fitted to exactly this series in their book). The classical
models come from statsmodels, imported only when asked for.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from nnjournal.errors import NNJError


# ---------------------------------------------------------------------------- n-gram models
def _counts(ids: torch.Tensor, vocab_size: int) -> np.ndarray:
    return np.bincount(ids.cpu().numpy(), minlength=vocab_size).astype(np.float64)


def unigram_loss(train_ids: torch.Tensor, eval_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> float:
    """Nats per character of character frequencies with add-`alpha` smoothing."""
    counts = _counts(train_ids, vocab_size) + alpha
    logp = np.log(counts / counts.sum())
    return float(-logp[eval_ids.cpu().numpy()].mean())


def bigram_log_probs(train_ids: torch.Tensor, vocab_size: int, smoothing: str = "kneser_ney",
                     discount: float = 0.75) -> np.ndarray:
    """(V, V) log P(next | previous). `"add_one"` adds one to every pair count;
    `"kneser_ney"` (interpolated, one discount) subtracts `discount` from each seen pair and
    gives the mass to a continuation distribution: how many different characters a
    character follows, a better guess for rare contexts than its raw frequency."""
    a = train_ids[:-1].cpu().numpy()
    b = train_ids[1:].cpu().numpy()
    pairs = np.zeros((vocab_size, vocab_size))
    np.add.at(pairs, (a, b), 1.0)
    if smoothing == "add_one":
        probs = (pairs + 1.0) / (pairs.sum(1, keepdims=True) + vocab_size)
        return np.log(probs)
    if smoothing != "kneser_ney":
        raise NNJError(f"bigram smoothing must be 'add_one' or 'kneser_ney', got {smoothing!r}")
    continuation = (pairs > 0).sum(0) + 1.0  # +1: a character never seen second keeps some mass
    continuation /= continuation.sum()
    context = pairs.sum(1, keepdims=True)  # (V, 1)
    distinct = (pairs > 0).sum(1, keepdims=True)
    safe = np.maximum(context, 1.0)
    lam = np.where(context > 0, discount * distinct / safe, 1.0)  # mass freed by discounting
    probs = np.maximum(pairs - discount, 0.0) / safe + lam * continuation[None, :]
    return np.log(probs)


def bigram_loss(train_ids: torch.Tensor, eval_ids: torch.Tensor, vocab_size: int,
                smoothing: str = "kneser_ney") -> float:
    """Nats per character of a bigram model fitted on `train_ids` (the first evaluation
    character has no context and is scored by the unigram model)."""
    logp = bigram_log_probs(train_ids, vocab_size, smoothing)
    e = eval_ids.cpu().numpy()
    first = -math.log((_counts(train_ids, vocab_size)[e[0]] + 1) / (len(train_ids) + vocab_size))
    return float((first - logp[e[:-1], e[1:]].sum()) / len(e))


# ---------------------------------------------------------------------------- forecasting
def persistence_forecast(series: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(n, horizon): every future value equals the last observed one."""
    return np.repeat(series[origins][:, None], horizon, axis=1)


def seasonal_naive_forecast(series: np.ndarray, origins: np.ndarray, horizon: int, season: int = 12) -> np.ndarray:
    """(n, horizon): each value equals the one a season earlier (the last observed season
    repeated for horizons longer than a season)."""
    out = np.empty((len(origins), horizon))
    for i, o in enumerate(origins):
        for h in range(1, horizon + 1):
            back = o + h - season * math.ceil(h / season)
            out[i, h - 1] = series[back]
    return out


def seasonal_drift_forecast(series: np.ndarray, train_size: int, origins: np.ndarray, horizon: int,
                            season: int = 12) -> np.ndarray:
    """(n, horizon): the same month last year times the training part's mean yearly growth
    (a geometric drift). This is what a network on seasonally differenced logs predicts
    when it predicts the mean, so it is the bar such a network has to clear."""
    logs = np.log(np.asarray(series, dtype=float))
    growth = float(np.mean(logs[season:train_size] - logs[: train_size - season]))
    out = np.empty((len(origins), horizon))
    for i, o in enumerate(origins):
        level = list(logs[: o + 1])
        for _ in range(horizon):
            level.append(level[-season] + growth)
        out[i] = np.exp(level[o + 1 :])
    return out


def _statsmodels() -> Any:
    try:
        import statsmodels.api as sm
    except ImportError:
        raise NNJError(
            "the classical forecasting baselines need statsmodels (pip install 'nnjournal[timeseries]')"
        ) from None
    return sm


def fit_sarima(series: np.ndarray, train_size: int, order: tuple[int, int, int] = (0, 1, 1),
               seasonal_order: tuple[int, int, int, int] = (0, 1, 1, 12), log: bool = True) -> Any:
    """statsmodels' SARIMAX results fitted on the first `train_size` values (logs by default)."""
    sm = _statsmodels()
    y = np.log(series) if log else np.asarray(series, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on 96 points
        return sm.tsa.SARIMAX(y[:train_size], order=order, seasonal_order=seasonal_order).fit(disp=False)


def sarima_forecast(series: np.ndarray, train_size: int, origins: np.ndarray, horizon: int,
                    log: bool = True, fitted: Any = None, **orders: Any) -> np.ndarray:
    """(n, horizon) SARIMA forecasts from each origin, in the series' units (default
    SARIMA(0,1,1)(0,1,1)_12; `order=`, `seasonal_order=` change it). Parameters are fitted on
    the first `train_size` values only (or given as `fitted`, from `fit_sarima`); later
    observations update the state (the Kalman filter) but never the parameters, as a model
    deployed at `train_size` would."""
    fitted = fitted if fitted is not None else fit_sarima(series, train_size, log=log, **orders)
    y = np.log(series) if log else np.asarray(series, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # One Kalman pass over the whole series with the fitted parameters; a dynamic
        # prediction from o + 1 uses the observations up to o only (checked in the tests
        # against re-filtering y[:o + 1]).
        full = fitted.apply(y)
        out = np.empty((len(origins), horizon))
        for i, o in enumerate(origins):
            pred = full.get_prediction(start=o + 1, end=o + horizon, dynamic=True).predicted_mean
            out[i] = np.asarray(pred)
    return np.exp(out) if log else out


def holt_winters_forecast(series: np.ndarray, train_size: int, origins: np.ndarray, horizon: int,
                          season: int = 12, seasonal: str = "mul") -> np.ndarray:
    """(n, horizon) Holt-Winters forecasts (additive trend, multiplicative season by default:
    the airline series' swings grow with its level). Smoothing parameters and initial states
    are fitted on the first `train_size` values; from a later origin the same model runs over
    the observations up to it with those parameters fixed."""
    sm = _statsmodels()
    y = np.asarray(series, dtype=float)
    kw = {"trend": "add", "seasonal": seasonal, "seasonal_periods": season}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.tsa.ExponentialSmoothing(y[:train_size], initialization_method="estimated", **kw).fit()
        p = fit.params
        fixed = {
            "smoothing_level": p["smoothing_level"],
            "smoothing_trend": p["smoothing_trend"],
            "smoothing_seasonal": p["smoothing_seasonal"],
        }
        known = {
            "initialization_method": "known",
            "initial_level": p["initial_level"],
            "initial_trend": p["initial_trend"],
            "initial_seasonal": p["initial_seasons"],
        }
        out = np.empty((len(origins), horizon))
        for i, o in enumerate(origins):
            res = fit if o + 1 == train_size else sm.tsa.ExponentialSmoothing(y[: o + 1], **kw, **known).fit(
                optimized=False, **fixed
            )
            out[i] = res.forecast(horizon)
    return out


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(target)) ** 2)))
