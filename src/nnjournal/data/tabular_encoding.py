"""From raw table columns to a float matrix: what each column is (numeric, boolean-like,
categorical), and the fitted encoding (imputation, optional missing indicators, one-hot,
standard scaling) saved as JSON with the model so `nnj predict` replays it exactly.

Statistics (medians, means, most frequent values, the category lists) are fitted on the
training rows only; the kind of a column is read from the whole file, since it describes
the schema rather than the data's distribution."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nnjournal.errors import NNJError

# Common spellings of "no value" in exported spreadsheets (compared lower-cased, stripped).
# Words that mean a blank cell: pandas' defaults (its `na_values`; nat: its missing date), "?"
# (the UCI files), and the error values Excel writes into a cell whose formula failed.
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "-nan", "nat", "null", "none", "<na>", "#n/a", "#n/a n/a", "#na", "?",
     "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan",
     "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!", "#spill!", "#calc!", "#getting_data"}
)  # fmt: skip
TRUE_TOKENS = frozenset({"yes", "true", "y", "t"})
FALSE_TOKENS = frozenset({"no", "false", "n", "f"})
# An ISO date, with an optional time: 2023-01-05, 2023-01, 2023-01-05T10:30, 2023-01-05 10:30:00
_ISO_DATE = re.compile(r"\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)?")
SECONDS_PER_DAY = 86_400
_FIX_CELL = "fix the cell, or blank it to have it filled in as the training blanks were"
DATE_FEATURES = ("days", "month sin", "month cos", "weekday sin", "weekday cos")
OTHER = "(other)"
MISSING = "(missing)"  # a categorical's gaps, kept as a category of their own


def is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING_TOKENS


def parse_number(value: str) -> float | None:
    try:
        x = float(value)
    except ValueError:
        return None
    return x if np.isfinite(x) else None


def is_infinite(value: str) -> bool:
    """`inf`, `-Infinity`, `1e999`: a number too large for a float. Numeric columns treat such
    cells as missing (imputed like blanks) rather than turning the column categorical."""
    try:
        return bool(np.isinf(float(value)))
    except ValueError:
        return False


def parse_boolean(value: str) -> float | None:
    low = value.strip().lower()
    if low in TRUE_TOKENS:
        return 1.0
    if low in FALSE_TOKENS:
        return 0.0
    x = parse_number(value)
    return x if x in (0.0, 1.0) else None


def parse_dates(values: Sequence[str]) -> np.ndarray | None:
    """ISO dates (and date-times) as float days since 1970-01-01; None unless every value is one."""
    if not values or not all(_ISO_DATE.fullmatch(v) for v in values):
        return None
    try:
        stamps = np.array(values, dtype="datetime64[s]")
    except ValueError:  # 2023-13-01
        return None
    return stamps.astype(np.int64) / SECONDS_PER_DAY


def date_features(days: np.ndarray) -> np.ndarray:
    """(n, 5): the days themselves, and the month and the day of the week as points on a circle
    (sine, cosine), so December sits next to January and Sunday next to Monday."""
    stamps = (days * SECONDS_PER_DAY).astype("datetime64[s]")
    months = stamps.astype("datetime64[M]").astype(np.int64) % 12
    weekdays = (np.floor(days).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    month_angle, day_angle = 2 * np.pi * months / 12, 2 * np.pi * weekdays / 7
    return np.stack([days, np.sin(month_angle), np.cos(month_angle), np.sin(day_angle), np.cos(day_angle)], axis=1)


def infer_kinds(
    columns: Mapping[str, list[str]],
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> dict[str, str]:
    """`{column: "numeric" | "boolean" | "date" | "categorical"}`. Declared numeric columns must
    hold only numbers (or blanks); a column that is almost all numbers with a stray word is an
    error too, because silently one-hot encoding it would hide a data problem. A column of ISO
    dates is a "date"."""
    kinds = {}
    for name, values in columns.items():
        # each distinct value is judged once: a categorical column of 200,000 rows has a few
        distinct = set(values)
        gap = {v for v in distinct if is_missing(v)}
        present = [(i, v) for i, v in enumerate(values) if v not in gap]
        if name in categorical:
            kinds[name] = "categorical"
            continue
        words = {v for v in distinct - gap if parse_number(v) is None and not is_infinite(v)}
        bad = [(i, v) for i, v in present if v in words]
        if name in numeric:
            if bad:
                i, v = bad[0]
                raise NNJError(
                    f"column {name!r} is declared numeric but data row {i + 1} holds {v!r} "
                    f"({len(bad)} non-numeric value(s)); fix or blank them, or remove it from data.numeric"
                )
            kinds[name] = "numeric"
        elif present and all(parse_boolean(v) is not None for v in distinct - gap):  # no inf: not boolean
            kinds[name] = "boolean"
        elif present and not bad:
            kinds[name] = "numeric"
        elif len(bad) == len(present) and parse_dates(sorted(distinct - gap)) is not None:
            kinds[name] = "date"
        elif present and len(bad) <= 0.02 * len(present) and len({v for _, v in bad}) <= 2:
            i, v = bad[0]
            raise NNJError(
                f"column {name!r} holds numbers except {len(bad)} value(s) such as {v!r} (data row {i + 1}); "
                "fix or blank them, or list the column in data.categorical"
            )
        else:
            kinds[name] = "categorical"
    return kinds


@dataclass
class ColumnEncoding:
    """How one raw column becomes one or more features."""

    name: str
    kind: str  # numeric | boolean | date | categorical
    fill: float | str  # imputed for missing values (train median / most frequent; a date: median days)
    mean: float = 0.0  # numeric: standard scaling
    std: float = 1.0
    categories: list[str] = field(default_factory=list)  # categorical: one-hot order
    indicator: bool = False  # add a 0/1 "missing" feature
    # numeric: the training values' range, where a filled-in blank is kept (data/filled_table.py);
    # None in files written before it was kept
    low: float | None = None
    high: float | None = None

    def is_gap(self, value: str) -> bool:
        """Missing, or (numeric columns) infinite: imputed with `fill`."""
        return is_missing(value) or (self.kind == "numeric" and is_infinite(value))

    def _scale(self, col: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            out = ((col - self.mean) / self.std).astype(np.float32)
            if not np.isfinite(out).all():  # values near 1e308: col - mean overflows, col / std may not
                out = (col / self.std - self.mean / self.std).astype(np.float32)
        if not np.isfinite(out).all():
            i = int(np.flatnonzero(~np.isfinite(out))[0])
            raise NNJError(
                f"column {self.name!r}, data row {i + 1}: {col[i]:.6g} is too far from the training values "
                f"(mean {self.mean:.6g}, std {self.std:.6g}) to encode as a 32-bit float; check the value"
            )
        return out

    def feature_names(self) -> list[str]:
        if self.kind == "categorical":
            names = [f"{self.name}={c}" for c in self.categories]
        elif self.kind == "date":
            names = [f"{self.name} ({f})" for f in DATE_FEATURES]
        else:
            names = [self.name]
        return names + ([f"{self.name} (missing)"] if self.indicator else [])

    def unseen(self, values: list[str]) -> list[str]:
        """A categorical column's values that are none of the categories it learned (encode
        gives them the "(other)" bucket, or all zeros where there is none)."""
        if self.kind != "categorical":
            return []
        known = set(self.categories)
        return [v for v in values if v not in known and not self.is_gap(v)]

    def encode(self, values: list[str]) -> np.ndarray:
        """(n, width) float32 features for this column's raw values."""
        missing = np.array([self.is_gap(v) for v in values], dtype=bool)
        if self.kind == "categorical":
            index = {c: j for j, c in enumerate(self.categories)}
            other = index.get(OTHER)
            out = np.zeros((len(values), len(self.categories)), dtype=np.float32)
            for i, v in enumerate(values):
                j = index.get(str(self.fill) if missing[i] else v, other)
                if j is not None:  # an unseen category with no "(other)" bucket: all zeros
                    out[i, j] = 1.0
        elif self.kind == "date":
            days, present = np.full(len(values), float(self.fill)), np.flatnonzero(~missing)
            parsed = parse_dates([values[i] for i in present]) if len(present) else np.zeros(0)
            if parsed is None:  # name the first cell that is no date
                i = next(i for i in present if parse_dates([values[i]]) is None)
                raise NNJError(
                    f"column {self.name!r}, data row {i + 1}: expected a date (YYYY-MM-DD), got {values[i]!r}; "
                    f"{_FIX_CELL}"
                )
            days[present] = parsed
            out = date_features(days)
            out[:, 0] = (out[:, 0] - self.mean) / self.std  # the sines and cosines are in [-1, 1] already
            out = out.astype(np.float32)
        else:
            parse = parse_number if self.kind == "numeric" else parse_boolean
            col = np.empty(len(values), dtype=np.float64)
            for i, v in enumerate(values):
                x = float(self.fill) if missing[i] else parse(v)
                if x is None:
                    expected = "a number" if self.kind == "numeric" else "yes/no, true/false or 0/1"
                    raise NNJError(
                        f"column {self.name!r}, data row {i + 1}: expected {expected}, got {v!r}; {_FIX_CELL}"
                    )
                col[i] = x
            out = self._scale(col)[:, None]
        if self.indicator:
            out = np.concatenate([out, missing.astype(np.float32)[:, None]], axis=1)
        return out


def fit_column(
    name: str,
    kind: str,
    values: list[str],
    max_categories: int,
    missing_indicator: bool | str = "numbers",
    impute_categories: bool = False,
) -> ColumnEncoding:
    """Fit one column's encoding on its training values. `impute_categories`: a category's
    blanks are filled (by an imputer, data/imputation.py) rather than kept as "(missing)"."""
    present = [v for v in values if not is_missing(v) and not (kind == "numeric" and is_infinite(v))]
    gaps = len(present) < len(values)
    if kind == "categorical":
        # Gaps are a category of their own, "(missing)": that a value is absent often says
        # something, and filling 77% blanks with the most frequent value would invent it.
        counts = Counter(present)
        ranked = sorted(counts, key=lambda c: (-counts[c], c))
        own = gaps and not impute_categories  # the blanks as a category of their own
        fill = MISSING if own else (ranked[0] if ranked else OTHER)
        keep = max_categories - 1 if own else max_categories
        if len(ranked) > keep:
            categories = sorted(ranked[: keep - 1]) + [OTHER]
        else:
            categories = sorted(ranked) or ([] if gaps else [OTHER])
        categories += [MISSING] if own else []
        return ColumnEncoding(name, kind, fill, categories=categories, indicator=gaps and missing_indicator is True)
    # A number's gaps: the median plus (by default, "numbers") a 0/1 indicator, so the network
    # can tell an imputed median from a real one; booleans get one when asked (true).
    wanted = missing_indicator is True or (missing_indicator == "numbers" and kind in ("numeric", "date"))
    indicator = gaps and wanted
    if kind == "date":
        if not present:  # no training dates: the defaults (day 0, unscaled)
            return ColumnEncoding(name, kind, 0.0, indicator=indicator)
        days = parse_dates(present)
        std = float(days.std())
        return ColumnEncoding(
            name, kind, float(np.median(days)), mean=float(days.mean()), std=std if std > 1e-12 else 1.0,
            indicator=indicator, low=float(days.min()), high=float(days.max()),
        )
    parse = parse_number if kind == "numeric" else parse_boolean
    nums = np.array([parse(v) for v in present], dtype=np.float64)
    if kind == "boolean":
        # Most frequent of 0/1; booleans stay 0/1 (not scaled) so they read as yes/no.
        fill = float(nums.mean() > 0.5) if len(nums) else 0.0
        return ColumnEncoding(name, kind, fill, indicator=indicator)
    fill = float(np.median(nums)) if len(nums) else 0.0
    imputed = np.concatenate([nums, np.full(len(values) - len(nums), fill)])
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(imputed.mean()), float(imputed.std())
    if not (np.isfinite(mean) and np.isfinite(std)):
        # Values near 1e308 overflow the sums; the same statistics of the values divided by
        # the largest magnitude do not.
        scale = float(np.abs(imputed).max())
        mean, std = float((imputed / scale).mean()) * scale, float((imputed / scale).std()) * scale
    low, high = (float(nums.min()), float(nums.max())) if len(nums) else (None, None)
    return ColumnEncoding(
        name, kind, fill, mean=mean, std=std if std > 1e-12 else 1.0, indicator=indicator, low=low, high=high
    )


def as_columns(data: Any, names: Collection[str] | None = None) -> dict[str, list[str]]:
    """Raw rows as `{column: [str]}` from a mapping of columns, a list of row dicts, a
    `Table`, or anything with `.columns` and `[name]` (a pandas DataFrame). `names`: only
    those columns are converted (the text conversion is most of the cost on a large table)."""
    if hasattr(data, "columns") and isinstance(data.columns, Mapping):  # csv_table.Table
        data = data.columns
    elif hasattr(data, "columns") and not isinstance(data, Mapping):  # DataFrame-like
        data = {str(c): list(data[c]) for c in data.columns}
    if isinstance(data, Sequence) and not isinstance(data, str) and data and isinstance(data[0], Mapping):
        names = list(dict.fromkeys(k for row in data for k in row))
        data = {k: [row.get(k) for row in data] for k in names}
    if not isinstance(data, Mapping):
        raise NNJError(
            "tabular models take named columns: a dict of columns, a list of row dicts, a DataFrame, "
            f"or a CSV path via `nnj predict`; got {type(data).__name__}"
        )
    return {str(k): [_as_text(v) for v in vals] for k, vals in data.items() if names is None or str(k) in names}


def _as_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return str(v).strip()


@dataclass
class TabularPreprocessing:
    """Raw named columns -> (n, n_features) float32, replaying the fitted encodings."""

    columns: list[ColumnEncoding]
    kind: str = "tabular"
    # Identifier columns of the training file (not features): `nnj predict` copies them from its
    # input to the predictions, so each row can be matched back to its record.
    id_columns: list[str] = field(default_factory=list)
    # data.imputer = "iterative" / "autoencoder": a fitted `data.imputation.TableImputer` that
    # replaces the encoding's fill of every blank cell (None: the median / most frequent stays).
    imputer: Any = None
    # data.missing_values: more words read as blanks (`csv_table.read_table` blanks them)
    missing_values: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        train_columns: Mapping[str, list[str]],
        kinds: Mapping[str, str],
        *,
        max_categories: int = 30,
        missing_indicators: bool | str = "numbers",
        id_columns: Sequence[str] = (),
        impute_categories: bool = False,
    ) -> TabularPreprocessing:
        return cls(
            [
                fit_column(
                    name,
                    kinds[name],
                    train_columns[name],
                    max_categories,
                    missing_indicators,
                    impute_categories,
                )
                for name in kinds
            ],
            id_columns=list(id_columns),
        )

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def feature_names(self) -> list[str]:
        return [n for c in self.columns for n in c.feature_names()]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (len(self.feature_names),)

    def feature_groups(self) -> dict[str, list[int]]:
        """Which encoded feature indices came from each raw column (for permutation importance)."""
        groups, start = {}, 0
        for c in self.columns:
            width = len(c.feature_names())
            groups[c.name] = list(range(start, start + width))
            start += width
        return groups

    def transform(self, data: Any) -> np.ndarray:
        cols = as_columns(data)
        missing = [c for c in self.required_columns if c not in cols]
        if missing:
            shown = ", ".join(missing[:10]) + (f" ... ({len(missing)} in all)" if len(missing) > 10 else "")
            raise NNJError(f"missing required column(s): {shown}")
        n = len(cols[self.columns[0].name]) if self.columns else 0
        if n == 0:
            raise NNJError("no rows to predict")
        parts = [c.encode(cols[c.name]) for c in self.columns]
        x = np.concatenate(parts, axis=1).astype(np.float32)
        return x if self.imputer is None else self.imputer.fill_table(x, self.gap_cells(cols))

    def unseen_categories(self, data: Any) -> dict[str, list[str]]:
        """{column: its values the model never learned as categories}, for columns that have any."""
        categorical = [c for c in self.columns if c.kind == "categorical"]
        cols = as_columns(data, {c.name for c in categorical})
        found = {c.name: c.unseen(cols[c.name]) for c in categorical if c.name in cols}
        return {name: values for name, values in found.items() if values}

    def gap_cells(self, data: Any) -> np.ndarray:
        """(n, n_columns) bool: the blank (or, for numbers, infinite) cells of raw columns."""
        cols = as_columns(data)
        return np.array([[c.is_gap(v) for v in cols[c.name]] for c in self.columns], dtype=bool).T

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "columns": [asdict(c) for c in self.columns], "id_columns": self.id_columns}
        if self.imputer is not None:
            d["imputer"] = self.imputer.to_dict()
        if self.missing_values:
            d["missing_values"] = self.missing_values
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TabularPreprocessing:
        imputer = None
        if d.get("imputer"):
            from nnjournal.data.imputation import imputer_from_dict

            imputer = imputer_from_dict(d["imputer"])
        # Files written before id_columns were kept have none.
        return cls(
            [ColumnEncoding(**c) for c in d["columns"]],
            id_columns=list(d.get("id_columns", [])),
            imputer=imputer,
            missing_values=list(d.get("missing_values", [])),
        )
