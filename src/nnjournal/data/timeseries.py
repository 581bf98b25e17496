"""A univariate time series (a CSV of date, value) as windows for forecasting.

The split is chronological: the model is fitted on the past and scored on the future, never on
months shuffled in between (their neighbours would leak the answer). Every fitted transform
(the scaling) sees the training part only. The optional log and seasonal difference turn the
airline series' growing, multiplicative seasonality into a roughly stationary series, which
is what lets a small LSTM compete with SARIMA; predictions are mapped back to the original
units (passengers) before any error is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError

# Cells that mean "no value here" (as in tabular_encoding's missing words): a forecaster needs
# every step, so each is refused by line rather than read as NaN and trained on.
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-", "missing"}


@dataclass
class SeriesFile:
    """A series CSV as read: dates and values, and which columns they came from."""

    dates: list[str]
    values: np.ndarray
    date_column: str
    value_column: str
    columns: list[str]
    gaps: str | None = None  # what `missing_steps` says of the dates, if anything
    written_as: str | None = None  # how the values were written, e.g. "decimal comma" (csv_table reads them)

    def note(self) -> str:
        """Which columns were read, for the report (a file with more columns than two needs it),
        how, and where the dates skip steps."""
        others = [c for c in self.columns if c not in (self.date_column, self.value_column)]
        left = f"; the other column(s) {', '.join(repr(c) for c in others)} are not used (data.value_column chooses)" if others else ""
        comma = f" The values are written with {self.written_as} and were read as numbers." if self.written_as else ""
        gaps = f" {self.gaps}" if self.gaps else ""
        return f"Values from column {self.value_column!r}, dates from {self.date_column!r}{left}.{comma}{gaps}"


MAX_VALUE = 1e150  # squares (RMSE, variances) of errors between values this large stay finite in float64


def read_series_file(
    path: Path,
    date_column: str | None = None,
    value_column: str | None = None,
    delimiter: str | None = None,
    table: Any = None,
) -> SeriesFile:
    """A series CSV with a header row, oldest first: by default the first column is the date
    and the second the value. The file is read as any CSV (`csv_table.read_table`: encoding,
    delimiter, ragged rows), unless the caller has read it already (`table`); every value must
    be a finite number and the dates must increase."""
    from nnjournal.data.csv_table import read_table

    if table is None:
        table = read_table(Path(path), delimiter)
    header = list(table.columns)
    if len(header) < 2:
        raise NNJError(
            f"{path}: one column ({header[0]!r}); a series CSV needs a date column and a value column "
            "(add the dates, or a step number, as the first column)"
        )

    def column(name: str | None, default: int, what: str) -> str:
        if name is None:
            return header[default]
        if name not in header:
            raise NNJError(f"{path}: no {what} column {name!r} (columns: {', '.join(header)}); set data.{what}_column")
        return name

    dname, vname = column(date_column, 0, "date"), column(value_column, 1, "value")
    if _is_number(vname) and _is_number(table.columns[vname][0] if table.rows else ""):
        raise NNJError(
            f"{path}: the first line holds the value {vname!r}, not a column name: the file seems to have no "
            "header row; add one (e.g. date,value)"
        )
    values = np.empty(table.rows)
    for i, cell in enumerate(table.columns[vname]):
        where = f"{path}, line {i + 2}, column {vname!r}"
        if cell.strip().lower() in _MISSING:
            raise NNJError(
                f"{where}: the value is missing ({cell!r}); a forecaster needs every step: fill the gap "
                "(e.g. interpolate) or cut the series before it"
            )
        try:
            values[i] = float(cell)
        except ValueError:
            fix = " (write decimals with a point)" if "," in cell else " (set data.value_column to the numbers' column)"
            raise NNJError(f"{where}: value {cell!r} is not a number{fix}") from None
        if not np.isfinite(values[i]):
            raise NNJError(f"{where}: value {cell!r} is not finite; fill it with a number")
        if abs(values[i]) > MAX_VALUE:
            raise NNJError(
                f"{where}: value {cell!r} is too large to forecast (the squared errors of values beyond "
                f"{MAX_VALUE:.0e} overflow); rescale the column, e.g. to thousands or millions"
            )
    dates = table.columns[dname]
    _check_dates(path, dates, dname, table.as_written.get(dname, dates))
    return SeriesFile(dates, values, dname, vname, header, missing_steps(dates), table.written_numbers.get(vname))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_dates(path: Path, dates: list[str], name: str, written: list[str]) -> None:
    """Refuse a repeated date, and dates that go back in time where they parse as dates (ISO
    forms: 1949, 1949-01, 1949-01-31, with a time; `csv_table` rewrote Jan-49 so): windows cut
    from an unsorted file mix the future into the past. The messages quote the cells as
    `written` in the file."""
    seen: dict[str, int] = {}
    for i, d in enumerate(dates):
        if d in seen:
            raise NNJError(
                f"{path}: date {written[i]!r} (column {name!r}) appears twice, on lines {seen[d] + 2} and {i + 2}; a "
                "series has one value per date: remove or merge the duplicate"
            )
        seen[d] = i
    try:
        stamps = np.array(dates, dtype="datetime64")
    except ValueError:
        return  # dates in another form: their order is the file's
    back = np.flatnonzero(stamps[1:] <= stamps[:-1])
    if len(back):
        i = int(back[0]) + 1
        raise NNJError(
            f"{path}: the dates go back in time at line {i + 2} ({written[i]!r} after {written[i - 1]!r}); a series "
            "must be sorted oldest first: sort the file by its date column"
        )


_UNIT_NAMES = {"Y": "year", "M": "month", "W": "week", "D": "day", "h": "hour", "m": "minute", "s": "second"}


def missing_steps(dates: list[str]) -> str | None:
    """A sentence when dates with one regular step (the most common difference, at least half
    of them: one month, one day, one hour) skip steps somewhere: the windows and the seasonal
    lag count rows, so a skipped month shifts every season after it. None for regular dates and
    for dates that are not ISO dates (their spacing is unknown). A business-day series (one-day
    steps and weekend jumps, at least a tenth of the steps) counts the business days it skips."""
    try:
        stamps = np.array(dates, dtype="datetime64")
    except ValueError:
        return None
    if len(stamps) < 3:
        return None
    diffs = np.diff(stamps).astype(np.int64)
    values, counts = np.unique(diffs, return_counts=True)
    step = int(values[counts.argmax()])
    if step <= 0 or counts.max() < 0.5 * len(diffs):
        return None
    unit, per = np.datetime_data(stamps.dtype)
    size, name = step * per, _UNIT_NAMES.get(unit, unit)
    for small, big, factor in (("second", "minute", 60), ("minute", "hour", 60), ("hour", "day", 24)):
        if name == small and size % factor == 0:  # 60 minutes -> one hour
            size, name = size // factor, big
    business = unit == "D" and step == 1 and np.isin(diffs, (2, 3)).sum() >= 0.1 * len(diffs)
    if business:  # weekends are not gaps; the business days between two dates are
        skipped = np.busday_count(stamps[:-1] + 1, stamps[1:])
        gaps, missing, step_text = np.flatnonzero(skipped > 0), int(skipped.sum()), "one business day"
    else:
        gaps = np.flatnonzero(np.rint(diffs / step) >= 2)  # (a 92-day quarter after 91-day ones skips nothing)
        missing = int(np.rint(diffs[gaps] / step).sum()) - len(gaps)
        step_text = f"one {name}" if size == 1 else f"{size} {name}s"
    if not len(gaps):
        return None
    i = int(gaps[0])
    first = f"{dates[i]!r} to {dates[i + 1]!r}, lines {i + 2}-{i + 3}"
    where = f"in {len(gaps)} places (first: {first})" if len(gaps) > 1 else f"({first})"
    if all(d.strip().isdigit() and len(d.strip()) < 4 for d in dates):  # step numbers, not years
        return (
            f"The step numbers skip {missing} value(s) {where}: the models read the rows as evenly spaced; if "
            "values are missing there, fill them (e.g. interpolate) so the numbers go up by one."
        )
    return (
        f"The dates skip {missing} step(s) of {step_text} {where}: the models read the rows as evenly spaced, "
        f"one step each; if values are missing there, fill them (e.g. interpolate) so each row is {step_text}."
    )


def read_series(path: Path, date_column: str | None = None, value_column: str | None = None) -> tuple[list[str], np.ndarray]:
    """(dates, values) from a series CSV (see `read_series_file`)."""
    f = read_series_file(path, date_column, value_column)
    return f.dates, f.values


@dataclass
class SeriesTransform:
    """values -> (optional) log -> (optional) difference with the value `seasonal_lag` steps
    earlier -> standardized with the training part's mean and std. `inverse` undoes all
    three for forecasts made from known origins."""

    log: bool = False
    seasonal_lag: int = 0  # 0: no differencing; 12: this month minus the same month last year
    scaling: str = "standard"  # "standard" | "minmax" | "none"
    shift_: float = field(default=0.0, init=False)
    scale_: float = field(default=1.0, init=False)

    def _unscaled(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.log:
            bad = np.flatnonzero(v <= 0)
            if len(bad):  # a series that reaches zero or below has no logarithm
                raise NNJError(
                    f"data.log = true needs positive values; the series has {len(bad)} zero or negative value(s), "
                    f"the first {v[bad[0]]:g} at step {bad[0] + 1}: set data.log = false to model the values themselves"
                )
            v = np.log(v)
        if self.seasonal_lag:
            d = np.full_like(v, np.nan)
            d[self.seasonal_lag :] = v[self.seasonal_lag :] - v[: -self.seasonal_lag]
            v = d
        return v

    def fit(self, train_values: np.ndarray) -> SeriesTransform:
        """Scaling statistics of the training part only."""
        u = self._unscaled(train_values)
        u = u[np.isfinite(u)]
        if self.scaling == "standard":
            self.shift_, self.scale_ = float(u.mean()), float(u.std()) or 1.0
        elif self.scaling == "minmax":
            self.shift_, self.scale_ = float(u.min()), float(u.max() - u.min()) or 1.0
        elif self.scaling != "none":
            raise NNJError(f"data.scaling must be standard, minmax or none, got {self.scaling!r}")
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        """(N,) transformed values, NaN for the first `seasonal_lag` (nothing to subtract)."""
        return (self._unscaled(values) - self.shift_) / self.scale_

    def inverse(self, z: np.ndarray, origins: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Forecasts z (n, h), made at `origins` (index of each window's last input), in the
        original units. A seasonal difference is undone with the observed value a season
        earlier when it is known at the origin, else with the forecast already rebuilt for
        that month (horizons longer than a season)."""
        d = np.asarray(z, dtype=np.float64) * self.scale_ + self.shift_  # (n, h)
        if self.seasonal_lag:
            lag = self.seasonal_lag
            with np.errstate(divide="ignore", invalid="ignore"):  # a zero long before the origins is never read
                base = np.log(observed) if self.log else np.asarray(observed, dtype=np.float64)
            level = np.empty_like(d)
            for i, o in enumerate(origins):
                for k in range(d.shape[1]):
                    t = o + 1 + k
                    before = base[t - lag] if t - lag <= o else level[i, k - lag]
                    level[i, k] = d[i, k] + before
            d = level
        return np.exp(d) if self.log else d

    def to_dict(self) -> dict[str, object]:
        return {"log": self.log, "seasonal_lag": self.seasonal_lag, "scaling": self.scaling,
                "shift": self.shift_, "scale": self.scale_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeriesTransform:
        """The fitted transform `to_dict` wrote (a saved forecaster's, in model.json)."""
        t = cls(log=bool(d["log"]), seasonal_lag=int(d["seasonal_lag"]), scaling=str(d["scaling"]))
        t.shift_, t.scale_ = float(d["shift"]), float(d["scale"])
        return t

    def last_window(self, values: np.ndarray, window: int) -> np.ndarray:
        """(window,) the transformed last `window` values of a series, the input of a forecast
        from its end; an `NNJError` when the series is too short or not usable."""
        v = np.asarray(values, dtype=np.float64)
        need = window + self.seasonal_lag
        if v.ndim != 1 or len(v) < need:
            raise NNJError(
                f"a forecast needs the last {need} values of the series (window {window}"
                + (f" + seasonal lag {self.seasonal_lag}" if self.seasonal_lag else "")
                + f"); got {len(v)}: give more of the series' history"
            )
        if not np.isfinite(v).all():
            raise NNJError("the series has a missing or infinite value: fill it before forecasting")
        return self.transform(v[-need:])[-window:]


@dataclass
class ForecastSplit(Split):
    """x (n, window) transformed inputs, y (n, horizon) transformed targets; `origin` (n,)
    is the index in the series of each window's last input, so forecasts map back to dates
    and original units."""

    origin: torch.Tensor = None  # type: ignore[assignment]


@dataclass
class SeriesData:
    train: ForecastSplit
    val: ForecastSplit | None
    test: ForecastSplit
    transform: SeriesTransform
    values: np.ndarray  # the original series
    dates: list[str]
    train_size: int  # values[:train_size] are the training part (validation included)
    fit_size: int  # values[:fit_size] fitted the scaling and gave the training windows
    columns: tuple[str, str] | None = None  # (date, value) columns of the file read; saved with the model

    def to_original(self, z: np.ndarray, split: ForecastSplit) -> np.ndarray:
        return self.transform.inverse(z, split.origin.cpu().numpy(), self.values)

    def targets(self, split: ForecastSplit) -> np.ndarray:
        """(n, horizon) the true future values in original units."""
        h = split.y.shape[1]
        return np.stack([self.values[o + 1 : o + 1 + h] for o in split.origin.cpu().numpy()])


def _windows(z: np.ndarray, origins: list[int], window: int, horizon: int) -> ForecastSplit:
    x = np.stack([z[o - window + 1 : o + 1] for o in origins]) if origins else np.zeros((0, window))
    y = np.stack([z[o + 1 : o + 1 + horizon] for o in origins]) if origins else np.zeros((0, horizon))
    return ForecastSplit(
        torch.as_tensor(x, dtype=torch.float32),
        torch.as_tensor(y, dtype=torch.float32),
        origin=torch.as_tensor(origins, dtype=torch.int64),
    )


def series_windows(
    values: np.ndarray,
    *,
    train_size: int,
    window: int,
    horizon: int = 1,
    val_size: int = 0,
    transform: SeriesTransform | None = None,
    dates: list[str] | None = None,
) -> SeriesData:
    """Windows of `window` past values -> the next `horizon`, split by time:
    train targets in values[:train_size - val_size], validation targets in the `val_size`
    steps before `train_size`, test targets in values[train_size:] (every test origin whose
    whole horizon is observed). Inputs may reach back into an earlier part: at forecast time
    the past is known."""
    n = len(values)
    fit_size = train_size - val_size
    if not 0 < fit_size <= train_size < n or window < 1 or horizon < 1:
        raise NNJError(
            f"data.train_size={train_size}, val_size={val_size}, window={window}, horizon={horizon} "
            f"do not fit a series of {n} values (need 0 < train_size - val_size <= train_size < {n})"
        )
    transform = transform or SeriesTransform()
    first = transform.seasonal_lag + window - 1  # the first origin with a complete window
    origins = range(first, n - horizon)

    def between(lo: int, hi: int) -> list[int]:  # origins whose targets all lie in [lo, hi)
        return [o for o in origins if o + 1 >= lo and o + horizon <= hi - 1]

    train = between(0, fit_size)
    if not train:  # checked before the scaling is fitted: a lag past the training part leaves nothing to fit
        lag = transform.seasonal_lag
        raise NNJError(
            f"no training window: {fit_size} training values cannot hold a window of {window} + "
            f"horizon {horizon}" + (f" + seasonal lag {lag}" if lag else "") + " (= "
            f"{window + horizon + lag}); shorten data.window or data.horizon"
            + (", lower data.seasonal_lag" if lag else "") + ", or raise data.train_size"
        )
    transform.fit(values[:fit_size])
    z = transform.transform(values)
    test = between(train_size, n)
    if not test:
        raise NNJError(
            f"no test window: the {n - train_size} test values are shorter than horizon {horizon}; lower "
            "data.horizon or data.train_size"
        )
    return SeriesData(
        train=_windows(z, train, window, horizon),
        val=_windows(z, between(fit_size, train_size), window, horizon) if val_size else None,
        test=_windows(z, test, window, horizon),
        transform=transform,
        values=np.asarray(values, dtype=np.float64),
        dates=dates or [str(i) for i in range(n)],
        train_size=train_size,
        fit_size=fit_size,
    )
