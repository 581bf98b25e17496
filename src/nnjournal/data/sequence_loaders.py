"""Loaders of the recurrent unit's data sets (issue 12): a text as character streams, a time
series as chronological windows, and the generated sequence tasks (dates, adding, copy).

Each returns a `DataBundle` like every loader; what a task needs beyond the splits (the
vocabulary, the raw series) travels in `bundle.source`. The `Preprocessing` is the identity:
ids and already-transformed windows go to the model as they are."""

from __future__ import annotations

from typing import Any

import torch

from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.paths import data_file
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.data.sequences import TokenVocab, adding_problem, copy_task, dates_task
from nnjournal.data.text import char_text, read_text
from nnjournal.data.timeseries import SeriesTransform, read_series_file, series_windows


def load_text(cfg: Any, seed: int) -> DataBundle:
    """The text's contiguous train/val/test chunks as TBPTT streams (no shuffling: order is
    the data). `seed` is unused: nothing here is random."""
    path = data_file(cfg.shared_file, cfg.path)
    text = char_text(
        read_text(path, cfg.max_chars),
        n_streams=cfg.streams,
        bptt=cfg.bptt,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        eval_streams=cfg.eval_streams,
    )
    V = len(text.vocab)
    n_chars = len(text.train_ids) + len(text.test_ids) + (0 if text.val_ids is None else len(text.val_ids))
    info = DataInfo(
        path.stem, (cfg.bptt,), n_classes=V, target_name="next character", vocab_size=V,
        notes=[
            f"{n_chars:,} characters, {V} distinct; train / val / test are contiguous chunks of the text "
            f"in that order ({len(text.train_ids):,} / {0 if text.val_ids is None else len(text.val_ids):,} / "
            f"{len(text.test_ids):,} characters), read as {cfg.streams} parallel streams in windows of "
            f"{cfg.bptt} (truncated BPTT: the state is carried across windows, the gradient is not)."
        ],
    )
    return DataBundle(text.train, text.val, text.test, info, Preprocessing((cfg.bptt,)), source=text)


def load_timeseries(cfg: Any, seed: int) -> DataBundle:
    path = data_file(cfg.shared_file, cfg.path)
    read = read_series_file(path, cfg.date_column, cfg.value_column, cfg.delimiter)
    dates, values = read.dates, read.values
    transform = SeriesTransform(log=cfg.log, seasonal_lag=cfg.seasonal_lag, scaling=cfg.scaling)
    series = series_windows(
        values, train_size=cfg.train_size, window=cfg.window, horizon=cfg.horizon, val_size=cfg.val_size,
        transform=transform, dates=dates,
    )
    series.columns = (read.date_column, read.value_column)  # `nnj predict` reads a new file's the same way
    steps = [t for t, on in (("log", cfg.log), (f"difference at lag {cfg.seasonal_lag}", cfg.seasonal_lag)) if on]
    info = DataInfo(
        path.stem, (cfg.window,), target_name=f"next {cfg.horizon} value(s)", horizon=cfg.horizon,
        notes=[
            f"{len(values)} values from {dates[0]} to {dates[-1]}, split by time: the first {cfg.train_size} "
            f"are the past (validation: its last {cfg.val_size}), the last {len(values) - cfg.train_size} "
            f"the test future. The network sees {' then '.join(steps + ['scaling'])}, fitted on the "
            "training part only; every error is reported in the series' own units.",
            read.note(),
        ],
    )
    return DataBundle(series.train, series.val, series.test, info, Preprocessing((cfg.window,)), source=series)


def _first(split: Split, n: int) -> tuple[Split, Split]:
    return split.take(torch.arange(n)), split.take(torch.arange(n, len(split)))


def load_dates(cfg: Any, seed: int) -> DataBundle:
    train, test, vocab = dates_task(cfg.n_train + cfg.n_val, cfg.n_test, seed)
    val, train = _first(train, cfg.n_val) if cfg.n_val else (None, train)
    info = DataInfo(
        "dates", (int(train.x.shape[1]),), n_classes=len(vocab), target_name="ISO date", vocab_size=len(vocab),
        notes=[f"Generated (seed {seed}): every date appears in one split only, so test pairs are unseen."],
    )
    return DataBundle(train, val, test, info, Preprocessing((int(train.x.shape[1]),)), source=vocab)


def _generated(make: Any, cfg: Any, seed: int) -> tuple[Split, Split | None, Split]:
    """Train, val and test drawn with different seeds from the same generator."""
    train, test = make(cfg.n_train, seed), make(cfg.n_test, seed + 2)
    return train, (make(cfg.n_val, seed + 1) if cfg.n_val else None), test


def load_adding(cfg: Any, seed: int) -> DataBundle:
    train, val, test = _generated(lambda n, s: adding_problem(n, cfg.length, s), cfg, seed)
    info = DataInfo(
        "adding", (cfg.length, 2), target_name="sum",
        notes=[f"The adding problem at length {cfg.length}: predicting the mean (1) scores an MSE of about 1/6."],
    )
    return DataBundle(train, val, test, info, Preprocessing((cfg.length, 2)))


def load_copy(cfg: Any, seed: int) -> DataBundle:
    def make(n: int, s: int) -> Split:
        return copy_task(n, cfg.delay, s, n_symbols=cfg.n_symbols, memory=cfg.memory)

    train, val, test = _generated(make, cfg, seed)
    T = 2 * cfg.memory + cfg.delay
    info = DataInfo(
        "copy", (T,), n_classes=cfg.n_symbols, class_names=[str(i) for i in range(cfg.n_symbols)],
        target_name="symbol", vocab_size=cfg.n_symbols + 2,
        notes=[f"The copy task: {cfg.memory} symbols, a blank delay of {cfg.delay}, then repeat them "
               f"(chance accuracy {1 / cfg.n_symbols:.3f})."],
    )
    return DataBundle(train, val, test, info, Preprocessing((T,)))


__all__ = ["TokenVocab", "load_adding", "load_copy", "load_dates", "load_text", "load_timeseries"]
