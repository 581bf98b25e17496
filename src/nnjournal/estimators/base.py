"""What every estimator shares: the config and data bundle that `train_one` trains from (so an
estimator's training is a run's training: seed -> build -> fit), and turning a config
section's refusal into the one-sentence `ValueError` scikit-learn expects from `fit`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from sklearn.base import BaseEstimator

from nnjournal.config import RunConfig, TrainingConfig
from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.preprocessing import Preprocessing


def as_tensor(x: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A user's array as a tensor, sharing its memory where it can. A read-only array (a pandas
    DataFrame's under copy-on-write, a memory map) is copied first: torch cannot share it and
    warns about it on every first use."""
    return torch.as_tensor(x if x.flags.writeable else x.copy(), dtype=dtype)


def run_config(model: Any, training: TrainingConfig, seed: int) -> RunConfig:
    """The parts of a recipe `train_one` reads (`seed`, `model`, `training`); the rest keep
    their defaults and are never used: an estimator has no data section or journal."""
    return RunConfig(seed=seed, model=model, training=training)


def array_bundle(train: Split, val: Split | None, info: DataInfo) -> DataBundle:
    """`train`/`val` as a `DataBundle`. The test split is empty: scoring held-out data is the
    caller's (`cross_val_score`, `score`), and the inputs arrive already preprocessed."""
    empty = Split(train.x[:0], train.y[:0])
    return DataBundle(train, val, empty, info, Preprocessing(info.input_shape))


@contextmanager
def checked_parameters(estimator: BaseEstimator, names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise a config section's `ValidationError` (several lines, in config terms) as one
    sentence naming the estimator's parameter. `names` maps a config field to the parameter
    when they differ (a VAE's `latent` is the estimator's `code_size`)."""
    try:
        yield
    except ValidationError as err:
        raise invalid_parameter(estimator, err, names or {}) from None


def invalid_parameter(estimator: BaseEstimator, err: ValidationError, names: Mapping[str, str]) -> ValueError:
    first = err.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
    fields = [str(part) for part in first["loc"] if isinstance(part, str)]
    name = type(estimator).__name__
    if not fields:
        return ValueError(f"{name}: {message}.")
    param = names.get(fields[-1], fields[-1])
    if param in estimator.get_params(deep=False):
        return ValueError(f"{name}: {param}={getattr(estimator, param)!r} is invalid: {message}.")
    return ValueError(f"{name}: {'.'.join(fields)} is invalid: {message}.")
