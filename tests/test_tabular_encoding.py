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
