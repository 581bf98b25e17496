"""Column kinds, fitted encodings and their JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnjournal.data.preprocessing import Preprocessing, preprocessing_from_dict
from nnjournal.data.tabular_encoding import TabularPreprocessing, infer_kinds
from nnjournal.errors import NNJError

COLUMNS = {
    "num": ["1.5", "", "3", "NA", "7"],
    "flag": ["Yes", "no", "YES", "", "No"],
    "bit": ["0", "1", "1", "0", "1"],
    "cat": ["a", "b", "", "a", "c"],
}


def test_infer_kinds_reads_numeric_strings_booleans_and_categories():
    assert infer_kinds(COLUMNS) == {
        "num": "numeric",
        "flag": "boolean",
        "bit": "boolean",
        "cat": "categorical",
    }
    assert infer_kinds(COLUMNS, categorical=["bit"])["bit"] == "categorical"


def test_declared_numeric_column_with_a_word_names_column_row_and_value():
    with pytest.raises(NNJError, match=r"'num' is declared numeric but data row 2 holds 'abc'"):
        infer_kinds({"num": ["1", "abc", "3"]}, numeric=["num"])


def test_fit_on_train_rows_imputes_scales_and_one_hot_encodes():
    prep = TabularPreprocessing.fit(COLUMNS, infer_kinds(COLUMNS))
    num = prep.columns[0]
    assert num.fill == 3.0  # median of 1.5, 3, 7
    x = prep.transform(COLUMNS)
    # A number with gaps gets an indicator; a categorical's gaps are a category "(missing)".
    assert prep.feature_names == ["num", "num (missing)", "flag", "bit", "cat=a", "cat=b", "cat=c", "cat=(missing)"]
    assert x.shape == (5, 8) and np.isfinite(x).all()
    assert abs(x[:, 0].mean()) < 1e-6  # standardized after imputation
    assert x[:, 1].tolist() == [0, 1, 0, 1, 0]
    assert x[:, 2].tolist() == [1, 0, 1, 0, 0]  # blank flag -> most frequent (no)
    assert x[2, 4:].tolist() == [0, 0, 0, 1]  # blank category -> '(missing)', not the most frequent


def test_unknown_category_at_predict_time_is_all_zeros_not_a_crash():
    prep = TabularPreprocessing.fit(COLUMNS, infer_kinds(COLUMNS))
    row = prep.transform([{"num": "2", "flag": "yes", "bit": "1", "cat": "never seen"}])
    assert row[0, 4:].tolist() == [0, 0, 0, 0]


def test_rare_categories_merge_into_other_bucket_which_takes_unknowns():
    cols = {"c": ["x"] * 5 + ["y"] * 4 + ["z", "w"]}
    prep = TabularPreprocessing.fit(cols, {"c": "categorical"}, max_categories=3)
    assert prep.columns[0].categories == ["x", "y", "(other)"]
    assert prep.transform({"c": ["new"]})[0].tolist() == [0, 0, 1]


def test_missing_indicators_flag_imputed_values():
    prep = TabularPreprocessing.fit(COLUMNS, infer_kinds(COLUMNS), missing_indicators=True)
    assert "num (missing)" in prep.feature_names and "bit (missing)" not in prep.feature_names
    assert "flag (missing)" in prep.feature_names  # asked for: booleans get one too
    x = prep.transform(COLUMNS)
    assert x[:, prep.feature_names.index("num (missing)")].tolist() == [0, 1, 0, 1, 0]


def test_json_round_trip_gives_identical_features_for_both_kinds():
    tab = TabularPreprocessing.fit(COLUMNS, infer_kinds(COLUMNS), missing_indicators=True)
    again = preprocessing_from_dict(json.loads(json.dumps(tab.to_dict())))
    assert isinstance(again, TabularPreprocessing)
    np.testing.assert_array_equal(again.transform(COLUMNS), tab.transform(COLUMNS))

    affine = Preprocessing.standardize(np.arange(12, dtype=np.float32).reshape(4, 3), (3,))
    back = preprocessing_from_dict(json.loads(json.dumps(affine.to_dict())))
    assert isinstance(back, Preprocessing)
    legacy = {k: v for k, v in affine.to_dict().items() if k != "kind"}  # written before the tag
    assert isinstance(preprocessing_from_dict(legacy), Preprocessing)


def test_missing_columns_and_bad_values_at_predict_time_are_named():
    prep = TabularPreprocessing.fit(COLUMNS, infer_kinds(COLUMNS))
    with pytest.raises(NNJError, match=r"missing required column\(s\): flag, cat"):
        prep.transform({"num": ["1"], "bit": ["0"]})
    with pytest.raises(NNJError, match=r"column 'num', data row 1: expected a number, got 'lots'"):
        prep.transform({"num": ["lots"], "flag": ["yes"], "bit": ["0"], "cat": ["a"]})


def test_gaps_read_from_words_are_kept_as_a_category_and_said_in_the_notes():
    # 'None' and 'NA' stay missing tokens; the report says which words were read as gaps.
    from nnjournal.data.tabular import PreparedTable, encoding_notes

    cols = {"alley": ["NA"] * 7 + ["Grvl", "Pave", "None"], "x": [str(i) for i in range(10)]}
    prep = TabularPreprocessing.fit(cols, infer_kinds(cols))
    enc = prep.columns[0]
    assert enc.categories == ["Grvl", "Pave", "(missing)"] and enc.fill == "(missing)"
    assert prep.transform({"alley": ["None"], "x": ["1"]})[0, :3].tolist() == [0, 0, 1]
    table = PreparedTable("t", cols, infer_kinds(cols), np.zeros(10, np.float32), "y", None)
    assert encoding_notes(table, prep) == [
        "alley: 8 blank value(s) (read as missing: 'NA', 'None') kept as their own category '(missing)'."
    ]


# ---------------------------------------------------------------- what the CSV loader tells the report
def _write(path, header: list[str], rows: list[list]) -> str:
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def _load_csv(path: str, **opts):
    from nnjournal import data
    from nnjournal.config import validate_config

    cfg = validate_config({"data": {"name": "csv", "path": path, **opts}}).data
    return data.load(cfg, seed=0, task="classification")


def _coded_rows(n: int = 120, seed: int = 0) -> list[list]:
    """x (a measurement), region (codes 1..5, repeated), y depending on both."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        x, region = round(float(rng.normal()), 4), int(rng.integers(1, 6))
        rows.append([x, region, "a" if x + (region == 3) > 0.3 else "b"])
    return rows


@pytest.mark.parametrize("index_header", ["", "Unnamed: 0"])
def test_a_pandas_index_column_is_left_out_with_a_note(tmp_path, index_header):
    rows = _coded_rows()
    shuffled = np.random.default_rng(1).permutation(len(rows))  # a filtered/shuffled frame's row ids
    path = _write(tmp_path / "frame.csv", [index_header, "x", "region", "y"], [[int(i), *rows[i]] for i in shuffled])
    bundle = _load_csv(path, target="y")
    assert bundle.preprocessing.required_columns == ["x", "region"]  # the index is no feature
    shown = "with no name" if not index_header else "headed 'Unnamed: 0'"
    assert f"Column 1 ({shown}, a distinct value in every row) is a pandas index, not data; left out" in " ".join(
        bundle.info.notes
    )
    # Naming it (the old workaround) still works.
    assert _load_csv(path, target="y", drop=[index_header]).preprocessing.required_columns == ["x", "region"]


def test_a_nameless_column_that_is_not_an_index_is_still_refused(tmp_path):
    rows = [[r[0], r[1] % 2, r[2]] for r in _coded_rows()]  # repeats: not a row id
    path = _write(tmp_path / "nameless.csv", ["x", "", "y"], rows)
    with pytest.raises(NNJError, match="header column 2 has no name; add one to the header row"):
        _load_csv(path, target="y")
    path = _write(tmp_path / "first.csv", ["", "x", "y"], [[r[1], r[0], r[2]] for r in _coded_rows()])
    with pytest.raises(NNJError, match="header column 1 has no name"):  # repeated values: data, not an index
        _load_csv(path, target="y")


def test_target_and_column_names_are_trimmed_like_headers(tmp_path):
    path = _write(tmp_path / "spaced.csv", [" x ", "region", " y"], _coded_rows())
    bundle = _load_csv(path, target="  y ", categorical=[" region"])
    assert bundle.info.target_name == "y" and bundle.info.class_names == ["a", "b"]
    assert "region=1" in bundle.info.feature_names


def test_an_integer_column_with_few_values_is_suggested_as_categorical(tmp_path):
    path = _write(tmp_path / "coded.csv", ["x", "region", "y"], _coded_rows())
    notes = _load_csv(path, target="y").info.notes
    assert (
        "region: whole numbers with only 5 distinct values (1, 2, 3, 4, 5), treated as a number; if they are "
        "codes for categories rather than amounts, declare data.categorical = ['region']"
    ) in " ".join(notes)
    assert not any(n.startswith("x:") for n in notes)  # a measurement is not
    # Declared either way, the user has decided: no suggestion.
    for opts in ({"numeric": ["region"]}, {"categorical": ["region"]}):
        assert not any("region: whole numbers" in n for n in _load_csv(path, target="y", **opts).info.notes)


@pytest.mark.parametrize(
    "values, suggested",
    [
        ([1, 2, 3, 4] * 10, True),  # codes
        ([1, 2, 3, 9] * 10, True),  # codes with an "unknown" 9
        ([0, 1, 2] * 10 + [""], True),  # gaps do not count
        ([1, 2] * 20, False),  # two values: one number serves as well
        ([0, 10, 20, 50] * 10, False),  # amounts, binned
        (list(range(10)) * 3, False),  # 3 rows per value: too few to be codes
        (list(range(11)) * 10, False),  # 11 values: more than 10
        ([1.5, 2, 3] * 10, False),  # not whole numbers
    ],
)
def test_the_integer_code_rule(values, suggested):
    from nnjournal.data.tabular import integer_codes

    assert (integer_codes([str(v) for v in values]) is not None) == suggested


def test_test_rows_that_repeat_training_rows_are_counted(tmp_path):
    rows = _coded_rows(100)
    path = _write(tmp_path / "dupes.csv", ["x", "region", "y"], rows + rows[:40])  # 40 rows twice
    bundle = _load_csv(path, target="y")
    note = next(n for n in bundle.info.notes if "test rows also appear in training" in n)
    # Count them independently from the split itself.
    def key(split):
        return {tuple(r) for r in np.column_stack([split.x.numpy(), split.y.numpy()]).tolist()}

    train, test = key(bundle.train), np.column_stack([bundle.test.x.numpy(), bundle.test.y.numpy()]).tolist()
    shared = sum(tuple(r) in train for r in test)
    assert shared > 0 and note.startswith(f"{shared} of {len(bundle.test)} test rows also appear in training")
    clean = _write(tmp_path / "clean.csv", ["x", "region", "y"], rows)
    assert not any("also appear in training" in n for n in _load_csv(clean, target="y").info.notes)


def test_iso_dates_become_days_month_and_weekday_features_that_survive_a_round_trip():
    cols = {"signup": ["2024-12-02", "", "2024-01-07", "2023-06-15 10:30"], "x": ["1", "2", "3", "4"]}
    kinds = infer_kinds(cols)
    assert kinds["signup"] == "date"
    assert infer_kinds({"d": ["2024-13-01", "2024-01-02"]})["d"] == "categorical"  # month 13: no date
    assert infer_kinds({"d": ["today", "2024-01-02"]})["d"] == "categorical"  # numpy would read 'today'
    prep = TabularPreprocessing.fit(cols, kinds)
    assert prep.feature_names[:6] == [
        "signup (days)", "signup (month sin)", "signup (month cos)", "signup (weekday sin)", "signup (weekday cos)",
        "signup (missing)",
    ]  # fmt: skip
    x = prep.transform(cols)
    # 2024-12-02 is a Monday in December, 2024-01-07 a Sunday in January
    assert np.allclose(x[0, 1:5], [np.sin(2 * np.pi * 11 / 12), np.cos(2 * np.pi * 11 / 12), 0, 1], atol=1e-6)
    assert np.allclose(x[2, 1:5], [0, 1, np.sin(2 * np.pi * 6 / 7), np.cos(2 * np.pi * 6 / 7)], atol=1e-6)
    assert x[1, 5] == 1 and x[0, 5] == 0  # the blank is flagged
    assert x[0, 0] > x[2, 0] > x[3, 0]  # later dates, more days
    again = preprocessing_from_dict(json.loads(json.dumps(prep.to_dict())))
    np.testing.assert_array_equal(again.transform(cols), x)
    # a DataFrame's datetime column, NaT for a missing date, as a saved model's predict receives it
    import pandas as pd

    frame = pd.DataFrame({"signup": pd.to_datetime(["2024-12-02", None]), "x": [1, 2]})
    np.testing.assert_array_equal(prep.transform(frame), x[:2])
    with pytest.raises(NNJError, match=r"column 'signup', data row 2: expected a date \(YYYY-MM-DD\), got 'soon'"):
        prep.transform({"signup": ["2024-01-01", "soon"], "x": ["1", "2"]})


def test_a_blank_date_is_filled_as_a_day_within_the_training_range():
    from nnjournal.data.filled_table import filled_columns
    from nnjournal.data.imputation import value_layout

    cols = {"d": ["2024-01-01", "2024-01-11", "", ""]}
    prep = TabularPreprocessing.fit(cols, infer_kinds(cols))
    layout, _ = value_layout(prep)
    assert layout[0].kind == "numeric" and len(layout[0].features) == 5  # the days and four angles
    enc = prep.columns[0]
    recon = np.zeros((4, 5), dtype=np.float32)
    recon[2, 0] = (19_727.4 - enc.mean) / enc.std  # 0.4 of a day after the start of 2024-01-05
    recon[3, 0] = 50.0  # far beyond the training dates: kept at the last one
    out, n = filled_columns(cols, prep.columns, layout, recon)
    assert n == 2 and out["d"] == ["2024-01-01", "2024-01-11", "2024-01-05", "2024-01-11"]
