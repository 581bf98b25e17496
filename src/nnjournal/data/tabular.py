"""The `csv` data loader: any CSV with a header row and a target column.

`read_prepared` turns the file into feature columns (strings), kinds and targets once;
`bundle_from_indices` fits the encoding on the training rows and builds tensors. Keeping
them apart lets cross-validation refit the whole preprocessing on every fold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nnjournal.config import CsvData
from nnjournal.data.bundle import DataBundle, DataInfo, as_split, missing_class_notes, split_indices
from nnjournal.data.csv_table import blank_rows_left_out, read_table
from nnjournal.data.paths import data_file
from nnjournal.data.spelling import closest_name
from nnjournal.data.tabular_encoding import (
    MISSING,
    OTHER,
    TabularPreprocessing,
    infer_kinds,
    is_infinite,
    is_missing,
    parse_boolean,
    parse_number,
)
from nnjournal.data.written_dates import two_digit_years
from nnjournal.data.written_numbers import written_numbers_note
from nnjournal.errors import NNJError

MAX_CLASSES = 50  # more distinct labels than this is almost always a numeric target
MIN_ROWS = 5  # a few rows for each of train / validation / test


@dataclass
class PreparedTable:
    """A CSV read and checked: feature columns as strings, their kinds, encoded targets."""

    name: str
    features: dict[str, list[str]]
    kinds: dict[str, str]
    y: np.ndarray  # int64 class indices or float32 values
    target: str
    class_names: list[str] | None
    notes: list[str] = field(default_factory=list)
    # Identifier columns (declared in data.id_columns, or recognised as such): not features, but
    # saved with the model so `nnj predict` writes them beside each prediction.
    id_columns: list[str] = field(default_factory=list)

    @property
    def classification(self) -> bool:
        return self.class_names is not None


def csv_path(cfg: CsvData):
    if cfg.path is None and cfg.shared_file is None:
        raise NNJError("the csv data set needs a file: --set data.path=FILE.csv")
    return data_file(cfg.shared_file or "", cfg.path)


def read_prepared(cfg: CsvData, task: str) -> PreparedTable:
    path = csv_path(cfg)
    table = read_table(path, cfg.delimiter, cfg.missing_values)
    cols = table.columns
    names = list(cols)
    if cfg.target is None:
        raise NNJError(
            f"{path}: say which column to predict with --set data.target=COLUMN (columns: {names})"
        )
    if cfg.target not in cols:
        if len(names) == 1:
            raise NNJError(
                f"{path}: target column {cfg.target!r} not found: the file was read as the single column "
                f"{names[0]!r} with delimiter {table.delimiter!r}; if its values are separated by another "
                "character, set data.delimiter"
            )
        raise NNJError(
            f"{path}: target column {cfg.target!r} not found{_did_you_mean(cfg.target, names)}; the columns are {names}"
        )
    for key in ("id_columns", "drop", "numeric", "categorical"):
        unknown = [c for c in getattr(cfg, key) if c not in cols and c not in table.index_columns]
        if unknown:
            hint = _did_you_mean(unknown[0], names)
            raise NNJError(f"{path}: data.{key} names column(s) not in the file: {unknown}{hint}")
    notes: list[str] = []
    if table.blank_lines:
        notes.append(f"{blank_rows_left_out(table)}.")
    if table.blanked:
        shown = ", ".join(f"{n} in {name!r}" for name, n in table.blanked.items())
        words = ", ".join(repr(w) for w in cfg.missing_values)
        notes.append(f"Read as blanks (data.missing_values = {words}): {shown} cell(s).")
    if table.written_numbers:
        notes.append(written_numbers_note(table.written_numbers))
    if table.written_dates:
        shown = ", ".join(
            f"{name!r} ({how}{'; two-digit years as 1930-2029' if two_digit_years(how) else ''})"
            for name, how in table.written_dates.items()
        )
        notes.append(f"Read as dates: {shown}.")
    for name in table.ambiguous_dates:
        example = next(v for v in cols[name] if not is_missing(v))
        notes.append(
            f"{name!r} holds dates such as {example!r} whose day and month cannot be told apart (neither is ever "
            "above 12), so they are read as categories; write them as YYYY-MM-DD to have them read as dates."
        )
    for j, name in enumerate(table.index_columns):
        shown = f"headed {name!r}" if name else "with no name"
        notes.append(
            f"Column {j + 1} ({shown}, a distinct value in every row) is a pandas index, not data; left out "
            "(pandas writes it unless told `to_csv(index=False)`)."
        )

    target_values = cols[cfg.target]
    keep = np.array([not is_missing(v) for v in target_values])
    if not keep.all():
        notes.append(f"{int((~keep).sum())} row(s) with a blank target {cfg.target!r} were left out.")
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        raise NNJError(f"{path}: the target column {cfg.target!r} is blank in every row")
    target = [target_values[i] for i in rows]
    if task == "classification" and len(rows) > 1 and len(set(target)) < 2:
        _encode_classes(path, cfg, target)  # says it: a single class
    if len(rows) < MIN_ROWS:
        raise NNJError(
            f"{path}: only {len(rows)} data row(s) with a target {cfg.target!r}; training, validation and test "
            f"splits need at least {MIN_ROWS} rows in all (add rows)"
        )

    left_out = set(cfg.id_columns) | set(cfg.drop) | {cfg.target}
    if cfg.id_columns:
        notes.append(f"Identifier column(s) {cfg.id_columns} are not used as features.")
    if cfg.drop:
        notes.append(f"Column(s) {cfg.drop} were dropped as asked (data.drop).")
    features = {n: [v[i] for i in rows] for n, v in cols.items() if n not in left_out}
    kinds = infer_kinds(features, cfg.numeric, cfg.categorical)
    for name, values in features.items():
        said = _numbers_with_words(name, values) if kinds[name] == "categorical" else None
        if said and name not in cfg.categorical:
            notes.append(said)
    dropped = []
    id_columns = list(cfg.id_columns)
    for name in list(features):
        why = _why_not_a_feature(features[name], kinds[name])
        if why and name not in cfg.numeric and name not in cfg.categorical:
            notes.append(f"{name!r} {why}; left out (declare it in data.numeric/categorical to keep it).")
            dropped.append(f"{name!r} {why}")
            if why.startswith(("looks like an identifier", "looks like a row number")):  # kept for predictions
                id_columns.append(name)
            del features[name], kinds[name]
    if not features:
        if dropped:
            raise NNJError(
                f"{path}: no feature columns left besides the target {cfg.target!r}: {'; '.join(dropped[:3])}"
                f"{' ...' if len(dropped) > 3 else ''} (declare a column in data.numeric or data.categorical "
                "to keep it)"
            )
        raise NNJError(
            f"{path}: no feature columns besides the target {cfg.target!r}; the file needs at least one "
            "input column (check data.id_columns and data.drop)"
        )

    if task == "classification":
        y, class_names = _encode_classes(path, cfg, target)
        alike = _spelt_alike(class_names)
        if alike:
            notes.append(
                f"Target {cfg.target!r}: the classes {_shown_alike(alike)} differ only in case or spaces and are learnt as "
                "different classes; write them alike in the file if they are one."
            )
    else:
        values = [parse_number(v) for v in target]
        bad = [v for v in values if v is None]
        if bad:
            raise NNJError(
                f"{path}: regression target {cfg.target!r} holds non-numbers such as {target[values.index(None)]!r}"
            )
        limit = float(np.finfo(np.float32).max)
        too_big = [target[i] for i, v in enumerate(values) if abs(v) > limit]
        if too_big:
            raise NNJError(
                f"{path}: regression target {cfg.target!r} holds {len(too_big)} value(s) beyond the 32-bit float "
                f"range (about 3.4e38) such as {too_big[0]!r}; rescale the target (e.g. divide it by a power of ten)"
            )
        y, class_names = np.asarray(values, dtype=np.float32), None
    counted = ("numeric", "boolean", "categorical") + (("date",) if "date" in kinds.values() else ())
    counts = ", ".join(f"{k} {sum(1 for v in kinds.values() if v == k)}" for k in counted)
    plural = "s" if len(features) != 1 else ""
    notes.insert(0, f"{len(rows):,} rows, {len(features)} feature column{plural} ({counts}); target {cfg.target!r}.")
    return PreparedTable(path.stem, features, kinds, y, cfg.target, class_names, notes, id_columns)


def _numbers_with_words(name: str, values: list[str]) -> str | None:
    """What the report says of a column read as categories although most of its cells are
    numbers (`-` or `n.a.` among them): each number became a category of its own."""
    counts = Counter(v for v in values if not is_missing(v))  # each distinct value judged once
    present = sum(counts.values())
    words = {v: n for v, n in counts.items() if parse_number(v) is None and not is_infinite(v)}
    n_words = sum(words.values())
    if not present or n_words > 0.5 * present:
        return None
    shown = ", ".join(repr(w) for w in sorted(words, key=words.__getitem__, reverse=True)[:3])
    return (
        f"{name!r} holds numbers in {1 - n_words / present:.0%} of its cells but also {n_words} other "
        f"value(s) such as {shown}, so it is read as categories, each number one of its own: list such words in "
        "data.missing_values to read them as blanks, or the column in data.categorical to keep it so."
    )


def _why_not_a_feature(values: list[str], kind: str) -> str | None:
    present = [v for v in values if not is_missing(v)]
    if len(set(present)) <= 1:
        return "holds a single value"
    words = sum(len(v.split()) for v in present) / len(present) if present else 0.0
    if kind == "categorical" and len(present) > 20 and words >= 4 and len(set(present)) >= 0.5 * len(present):
        # Reviews, comments: one-hot encoding 29 of them and '(other)' would read nothing of the text.
        distinct = len(set(present)) / len(present)
        return f"looks like free text ({distinct:.0%} of values distinct, {words:.0f} words on average; tables' text is not read)"
    if len(present) > 20 and len(set(present)) == len(present):
        if kind == "categorical":
            return "looks like an identifier (every value distinct)"
        nums = [parse_number(v) for v in present]
        if all(x is not None and x == int(x) for x in nums) and all(
            b > a for a, b in zip(nums, nums[1:], strict=False)
        ):
            return "looks like a row number (distinct increasing integers)"
    return None


def _encode_classes(path, cfg: CsvData, target: list[str]) -> tuple[np.ndarray, list[str]]:
    classes = sorted(set(target))
    if len(classes) < 2:
        raise NNJError(
            f"{path}: the target {cfg.target!r} has a single class {classes[0]!r}; classification needs two or more"
        )
    if len(classes) > MAX_CLASSES:
        if all(parse_number(c) is not None for c in classes):
            raise NNJError(
                f"{path}: the target {cfg.target!r} has {len(classes)} distinct numbers, too many classes for "
                f"classification (at most {MAX_CLASSES}); for a numeric target use --set task.name=regression"
            )
        examples = ", ".join(repr(c) for c in classes[:3])
        what = "every row a different one" if len(classes) == len(target) else f"{len(target):,} rows"
        raise NNJError(
            f"{path}: the target {cfg.target!r} holds {len(classes)} distinct text values ({examples}, ...; "
            f"{what}), more than the {MAX_CLASSES} classes a classifier takes: check data.target names the "
            "column to predict, or merge rare labels"
        )
    if cfg.positive_label is not None:
        if cfg.positive_label not in classes:
            raise NNJError(
                f"data.positive_label {cfg.positive_label!r} is not a class of {cfg.target!r}: {classes}"
            )
        if len(classes) != 2:
            raise NNJError(
                f"data.positive_label needs a binary target; {cfg.target!r} has {len(classes)} classes"
            )
        classes = [c for c in classes if c != cfg.positive_label] + [cfg.positive_label]
    elif len(classes) == 2 and all(parse_boolean(c) is not None for c in classes):
        classes.sort(key=lambda c: parse_boolean(c))  # No/Yes, False/True, 0/1: positive second
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in target], dtype=np.int64), classes


def fit_encoding(
    prepared: PreparedTable, cfg: CsvData, train: np.ndarray, seed: int = 0
) -> TabularPreprocessing:
    """The encoding fitted on the `train` rows; with `data.imputer` set, the imputer too (on
    the same rows, so cross-validation refits it per fold like the rest)."""
    columns = {n: [v[i] for i in train] for n, v in prepared.features.items()}
    prep = TabularPreprocessing.fit(
        columns,
        prepared.kinds,
        max_categories=cfg.max_categories,
        missing_indicators=cfg.missing_indicators,
        id_columns=prepared.id_columns,
        impute_categories=cfg.imputer != "median",
    )
    prep.missing_values = list(cfg.missing_values)  # `nnj predict` blanks them in its files too
    if cfg.imputer != "median":  # fitted even on complete rows: it fills the blanks `nnj predict` meets
        from nnjournal.data.imputation import fit_table_imputer

        gaps = prep.gap_cells(columns)
        prep.imputer = fit_table_imputer(cfg.imputer, prep, prep.transform(columns), gaps, seed)
    return prep


def encoding_notes(
    prepared: PreparedTable, prep: TabularPreprocessing, declared_numeric: Sequence[str] = ()
) -> list[str]:
    """What the report should say about gaps, merged categories and integer columns that may
    be codes, computed from the data. `declared_numeric` (data.numeric) are never suggested."""
    notes = []
    for col in prep.columns:
        values = prepared.features[col.name]
        n_missing = sum(is_missing(v) for v in values)
        n_inf = sum(is_infinite(v) for v in values) if col.kind == "numeric" else 0
        if n_inf:
            notes.append(
                f"{col.name}: {n_inf} infinite value(s) (such as 'inf') treated as missing and imputed with the "
                f"training median {float(col.fill):.6g}{' plus a missing-indicator feature' if col.indicator else ''}."
            )
        if n_missing:
            words = sorted({v.strip() for v in values if is_missing(v) and v.strip()})
            read = f" (read as missing: {', '.join(repr(w) for w in words)})" if words else ""
            extra = " plus a missing-indicator feature" if col.indicator else ""
            if col.kind == "categorical" and col.fill == MISSING:
                notes.append(
                    f"{col.name}: {n_missing} blank value(s){read} kept as their own category {MISSING!r}{extra}."
                )
            else:
                if col.kind == "numeric":
                    how = f"the training median {float(col.fill):.6g}"
                elif col.kind == "date":
                    how = f"the training median date {_iso_day(float(col.fill))}"
                elif col.kind == "boolean":
                    how = f"the most frequent training value {int(col.fill)}"
                else:  # no gaps among the training rows
                    how = f"the most frequent training category {col.fill!r}"
                notes.append(f"{col.name}: {n_missing} blank value(s){read} imputed with {how}{extra}.")
        if col.kind == "date":
            notes.append(
                f"{col.name}: dates ({_iso_day(col.low)} to {_iso_day(col.high)} in training), read as the days "
                "since 1970 (scaled), the month and the day of the week (each as a sine and a cosine); "
                f"data.categorical = [{col.name!r}] reads them as categories instead."
            )
        if col.kind == "categorical":
            alike = _spelt_alike(col.categories)
            if alike:
                notes.append(
                    f"{col.name}: {_shown_alike(alike)} differ only in case or spaces and are read as different categories; "
                    "write them alike in the file to have them read as one."
                )
        if col.kind == "categorical" and OTHER in col.categories:
            kept = len([c for c in col.categories if c not in (OTHER, MISSING)])
            notes.append(
                f"{col.name}: {kept} most frequent categories kept, the rest merged "
                "into '(other)' (data.max_categories)."
            )
        codes = integer_codes(values) if col.kind == "numeric" and col.name not in declared_numeric else None
        if codes is not None:
            shown = ", ".join(f"{c:g}" for c in codes)
            notes.append(
                f"{col.name}: whole numbers with only {len(codes)} distinct values ({shown}), treated as a number; "
                f"if they are codes for categories rather than amounts, declare data.categorical = "
                f"[{col.name!r}] (one-hot encoded, each code its own feature)."
            )
    return notes


def _spelt_alike(categories: list[str]) -> list[list[str]]:
    """Groups of categories that differ only in case or spaces ('Yes', 'yes', 'YES')."""
    groups: dict[str, list[str]] = {}
    for c in categories:
        if c not in (OTHER, MISSING):
            groups.setdefault(" ".join(c.casefold().split()), []).append(c)
    return [g for g in groups.values() if len(g) > 1]


def _shown_alike(groups: list[list[str]]) -> str:
    """`'Oslo' and 'oslo'; 'PARIS' and 'Paris'`: the first three groups, for a report line."""
    return "; ".join(" and ".join(repr(v) for v in group) for group in groups[:3])


def _did_you_mean(name: str, names: list[str]) -> str:
    close = closest_name(name, names)
    return f" (did you mean {close!r}?)" if close is not None else ""


def _iso_day(days: float | None) -> str:
    return "?" if days is None else str(np.datetime64(int(np.floor(days)), "D"))


# An integer column is suggested as categorical when it looks like codes: few distinct values
# (3..10; two are as well served by one number), each repeated (at least 5 rows per value on
# average: an id or a measurement rarely repeats), in a compact range (max - min <= 2 x the number
# of values: 1..5 or 1,2,3,9 are codes, 0/10/20/50 are amounts binned).
CODE_VALUES = (3, 10)
CODE_ROWS_PER_VALUE = 5


def integer_codes(values: list[str]) -> list[float] | None:
    """The sorted distinct values of a numeric column that looks integer-coded, else None."""
    nums = [parse_number(v) for v in values if not is_missing(v)]
    if not nums or any(x is None or x != int(x) for x in nums):
        return None
    distinct = sorted(set(nums))
    k = len(distinct)
    if not CODE_VALUES[0] <= k <= CODE_VALUES[1] or len(nums) < CODE_ROWS_PER_VALUE * k:
        return None
    return distinct if distinct[-1] - distinct[0] <= 2 * k else None


def shared_rows_note(prepared: PreparedTable, train: np.ndarray, test: np.ndarray) -> list[str]:
    """A note when test rows repeat a training row exactly (every feature and the target): the
    model has seen those answers, so the test metrics flatter it."""
    cols = list(prepared.features.values())

    def row(i: int) -> tuple:
        return (*(c[i] for c in cols), prepared.y[i].item())

    seen = {row(int(i)) for i in train}
    shared = sum(row(int(i)) in seen for i in test)
    if not shared:
        return []
    return [
        f"{shared:,} of {len(test):,} test rows also appear in training (the same features and target; "
        "identifier columns aside), so the test metrics partly measure memory; remove duplicate rows from "
        "the CSV for a stricter test."
    ]


def _oversample(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Repeat randomly drawn rows of each smaller class until every class matches the largest."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    extra = [rng.choice(np.flatnonzero(y == c), counts.max() - n) for c, n in enumerate(counts) if n]
    idx = np.concatenate([np.arange(len(y)), *extra])
    note = f"Oversampling: {len(idx) - len(y):,} training rows repeated so each class has {counts.max():,}."
    return x[idx], y[idx], note


def bundle_from_indices(
    prepared: PreparedTable,
    cfg: CsvData,
    train: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    seed: int,
) -> DataBundle:
    """Fit the encoding on `train` rows only, then encode every split with it."""
    prep = fit_encoding(prepared, cfg, train, seed)
    x = prep.transform(prepared.features)
    y, cls = prepared.y, prepared.classification
    notes = prepared.notes + encoding_notes(prepared, prep, cfg.numeric) + shared_rows_note(prepared, train, test)
    if prep.imputer is not None:
        notes.append(
            f"Blanks are filled by the {cfg.imputer} imputer (data.imputer, data/imputation.py) fitted on the "
            "training rows, not by the medians and most frequent values named above."
        )
    x_tr, y_tr = x[train], y[train]
    if cfg.oversample:
        if not cls:
            raise NNJError("data.oversample needs a classification task")
        x_tr, y_tr, note = _oversample(x_tr, y_tr, seed)
        notes.append(note)
    if cls:
        notes += missing_class_notes(
            {"validation": y[val], "test": y[test]}, len(prepared.class_names or []), prepared.class_names
        )
    info = DataInfo(
        prepared.name,
        prep.input_shape,
        n_classes=len(prepared.class_names) if cls else None,
        class_names=prepared.class_names,
        feature_names=prep.feature_names,
        target_name=prepared.target,
        notes=notes,
    )
    return DataBundle(
        train=as_split(x_tr, y_tr, cls),
        val=as_split(x[val], y[val], cls) if len(val) else None,
        test=as_split(x[test], y[test], cls),
        info=info,
        preprocessing=prep,
    )


def split_rows(prepared: PreparedTable, cfg: CsvData, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (train, val, test) row indices `load_csv` uses for this table and seed."""
    try:
        return split_indices(
            prepared.y,
            (cfg.val_fraction, cfg.test_fraction),
            seed,
            stratify=prepared.classification,
            class_names=prepared.class_names,
        )
    except NNJError as err:
        raise NNJError(f"{csv_path(cfg)}: {err}") from None


def load_csv(cfg: CsvData, seed: int, task: str) -> DataBundle:
    prepared = read_prepared(cfg, task)
    tr, va, te = split_rows(prepared, cfg, seed)
    return bundle_from_indices(prepared, cfg, tr, va, te, seed)
