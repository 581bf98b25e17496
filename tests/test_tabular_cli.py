"""`nnj run tabular` on a CSV it has never seen, the `nnj predict` round trip, and one clear
message with exit code 2 for each kind of unusable CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from tabular_files import feature_rows, write_mixed_csv
from typer.testing import CliRunner

import nnjournal
from nnjournal.cli import app
from nnjournal.config.data import CsvData
from nnjournal.data.csv_table import read_table
from nnjournal.data.tabular import read_prepared
from nnjournal.errors import NNJError
from tests.conftest import require_data

pytestmark = pytest.mark.usefixtures("one_thread")

runner = CliRunner()


FAST = ["--set", "training.epochs=40", "--set", "training.optimizer.lr=0.01", "--set", "model.hidden=[16]"]


def _run(args: list[str]):
    return runner.invoke(app, args, catch_exceptions=False)


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _finished_runs(out: Path) -> list[Path]:
    return [p.parent for p in out.glob("*/summary.json")]


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tabular")
    data = write_mixed_csv(root / "shop.csv")
    result = _run(
        ["run", "tabular", "-q", "--out", str(root / "runs"), "--set", f"data.path={data}"]
        + ["--set", "data.target=bought", "--set", "data.missing_indicators=true"]
        + ["--set", "evaluation.threshold.objective=f1", "--set", "evaluation.permutation_importance=true"]
        + FAST
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = _finished_runs(root / "runs")
    return run_dir, data


def test_tabular_recipe_learns_a_never_seen_mixed_csv(tabular_run):
    run_dir, _ = tabular_run
    s = json.loads((run_dir / "summary.json").read_text())
    test = s["variants"]["mlp"]["test"]
    assert test["roc_auc"] > 0.75
    assert test["accuracy"] > s["baselines"]["majority class"]["accuracy"]
    assert {"logistic regression", "boosted trees"} <= set(s["baselines"])
    notes = " ".join(s["data"]["notes"])
    # Gaps are reported with the fitted fill value, and the id column is recognised.
    assert "age: 36 blank value(s) imputed with the training median" in notes
    assert "city: 21 blank value(s) kept as their own category '(missing)' plus a missing-indicator" in notes
    assert "'customer_id' looks like an identifier" in notes
    assert "customer_id" not in s["variants"]["mlp"]["permutation_importance"]["columns"]
    plots = {p["file"] for p in s["plots"]}
    assert {"plots/roc.png", "plots/pr.png", "plots/calibration.png", "plots/importance.png"} <= plots
    assert {"plots/threshold.png", "plots/confusion_threshold.png"} <= plots
    report = (run_dir / "report.md").read_text()
    assert "Decision threshold and per-class results" in report and "PR-AUC" in report


def test_predict_round_trip_equals_in_process_predictions(tabular_run, tmp_path):
    run_dir, data = tabular_run
    rows = feature_rows(data)[:80]
    for row in rows:
        del row["bought"]  # new data has no target; column order shuffled on purpose
    rows[0]["city"] = "Atlantis"  # an unseen category
    new = tmp_path / "new.csv"
    with open(new, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(reversed(list(rows[0]))))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "pred.csv"
    result = _run(["predict", str(run_dir), str(new), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        written = list(csv.DictReader(fh))

    trained = nnjournal.load_model(run_dir)
    assert trained.threshold is not None  # chosen on validation and saved with the model
    expected = trained.predict(rows)
    proba = trained.predict_proba(rows)
    assert [r["prediction"] for r in written] == list(expected)
    # Written in full: each probability reads back as the very float32 the model gave.
    np.testing.assert_array_equal([np.float32(r["proba_yes"]) for r in written], proba[:, 1])
    assert set(expected) <= {"no", "yes"}
    # The identifier column training left out comes first, so each row can be matched back.
    assert list(written[0])[:2] == ["customer_id", "prediction"]
    assert [r["customer_id"] for r in written] == [r["customer_id"] for r in rows]


def test_predict_keeps_the_id_column_asked_for_or_none(tabular_run, tmp_path):
    run_dir, data = tabular_run
    rows = feature_rows(data)[:5]
    new = tmp_path / "new.csv"
    _write_rows(new, rows)
    out = tmp_path / "pred.csv"
    result = _run(["predict", str(run_dir), str(new), "--out", str(out), "--id-column", "city", "--id-column", "age"])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "city,age,prediction,proba_no,proba_yes"
    assert out.read_text().splitlines()[1].startswith(f"{rows[0]['city']},{rows[0]['age']},")
    without = tmp_path / "anonymous.csv"  # no identifier column: nothing to keep
    with open(without, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[k for k in rows[0] if k != "customer_id"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    result = _run(["predict", str(run_dir), str(without), "--out", str(out)])
    assert result.exit_code == 0 and out.read_text().splitlines()[0] == "prediction,proba_no,proba_yes"
    bad = runner.invoke(app, ["predict", str(run_dir), str(new), "--out", str(tmp_path / "x.csv"), "--id-column", "nope"])
    assert bad.exit_code == 2 and "--id-column 'nope' is not a column of the file" in bad.output
    assert not (tmp_path / "x.csv").exists()


def test_an_image_given_to_a_tabular_model_is_one_clear_line(tabular_run, tmp_path):
    from PIL import Image

    run_dir, _ = tabular_run
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    result = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "photo.png")])
    assert result.exit_code == 2
    assert "photo.png is an image, but this model was trained on a table: give a CSV file with the columns age" in (
        result.output
    )
    assert not (tmp_path / "photo_predictions.csv").exists()


def test_predict_names_missing_columns(tabular_run, tmp_path):
    run_dir, _ = tabular_run
    new = tmp_path / "partial.csv"
    new.write_text("age,member\n41,Yes\n")
    result = runner.invoke(app, ["predict", str(run_dir), str(new)])
    assert result.exit_code == 2
    assert "missing required column(s): income, newsletter, city" in result.output
    # a column renamed in the new file (case, spaces): the message says which rename fixes it
    new.write_text("age,member,Income,news letter,City\n41,Yes,3,no,Oslo\n")
    result = runner.invoke(app, ["predict", str(run_dir), str(new)])
    assert result.exit_code == 2
    assert "(rename 'Income' to 'income'; rename 'news letter' to 'newsletter'; rename 'City' to 'city')" in result.output


def test_predict_never_writes_over_its_input_and_writes_csv_only(tabular_run, tmp_path):
    """`--out` naming the input file replaced the user's table with predictions; `--out x.json`
    wrote CSV under a JSON name; `--out FOLDER` suggested `FOLDER/out.png` for a CSV."""
    run_dir, data = tabular_run
    new = tmp_path / "new.csv"
    new.write_text(data.read_text().splitlines()[0] + "\n" + "\n".join(data.read_text().splitlines()[1:4]) + "\n")
    before = new.read_bytes()
    for out, said in (
        (new, "is the input file; writing there would replace it"),
        (tmp_path / "p.json", "nnj predict writes CSV; name the file .csv"),
        (tmp_path, f"is a folder; give a file name to write (e.g. {tmp_path / 'predictions.csv'})"),
    ):
        result = runner.invoke(app, ["predict", str(run_dir), str(new), "--out", str(out)])
        assert result.exit_code == 2 and said in result.output, result.output
    assert new.read_bytes() == before and not (tmp_path / "p.json").exists()
    result = runner.invoke(app, ["predict", str(run_dir), str(new), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0 and len((tmp_path / "p.csv").read_text().splitlines()) == 4


def test_a_cell_that_is_no_number_says_how_to_fix_it(tabular_run, tmp_path):
    run_dir, _ = tabular_run
    new = tmp_path / "new.csv"
    new.write_text("age,member,income,newsletter,city\nold,Yes,3,no,Oslo\n")
    result = runner.invoke(app, ["predict", str(run_dir), str(new), "--out", "-"])
    assert result.exit_code == 2
    assert "column 'age', data row 1: expected a number, got 'old'; fix the cell, or blank it" in result.output


def _bad_files(tmp: Path) -> dict[str, tuple[Path, list[str], str]]:
    good = write_mixed_csv(tmp / "good.csv", n=60)
    text = good.read_text()
    cases = {}
    cases["missing target"] = (good, ["--set", "data.target=churned"], "target column 'churned' not found")
    cases["target off by case"] = (good, ["--set", "data.target=Bought"], "'Bought' not found (did you mean 'bought'?)")
    cases["dropped column misspelt"] = (
        good, ["--set", "data.drop=['citty']"], "data.drop names column(s) not in the file: ['citty'] (did you mean 'city'?)"
    )  # fmt: skip
    (tmp / "empty.csv").write_text("")
    cases["empty"] = (tmp / "empty.csv", [], "the file is empty")
    one = tmp / "one_class.csv"
    one.write_text("x,label\n1,a\n2,a\n3,a\n")
    cases["single class"] = (one, ["--set", "data.target=label"], "has a single class 'a'")
    word = tmp / "word.csv"
    word.write_text(text.replace("\n", "\nC99999,forty,1000,Yes,1,Oslo,no\n", 1))
    cases["non-numeric"] = (
        word,
        ["--set", "data.numeric=['age']"],
        "'age' is declared numeric but data row 1 holds 'forty'",
    )
    binary = tmp / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    cases["not csv"] = (binary, [], "not a CSV file (it holds binary data)")
    semi = tmp / "semicolons.csv"
    semi.write_text(text.replace(",", ";"))
    cases["wrong delimiter set"] = (
        semi,
        ["--set", "data.delimiter=','"],
        "read as a single column with delimiter ',' (set by data.delimiter), but the header contains ';'",
    )
    ragged = tmp / "decimal_commas.csv"
    ragged.write_text("age,income,bought\n41,2,5,yes\n30,1,no\n")
    cases["wrong delimiter guessed"] = (
        ragged,
        [],
        "line 2 has 4 fields but the header has 3; the delimiter ',' (guessed) may be wrong",
    )
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "missing target",
        "target off by case",
        "dropped column misspelt",
        "empty",
        "single class",
        "non-numeric",
        "not csv",
        "wrong delimiter set",
        "wrong delimiter guessed",
    ],
)
def test_bad_csv_gives_one_clear_message_and_exit_2(case, tmp_path):
    path, extra, message = _bad_files(tmp_path)[case]
    out = tmp_path / "runs"
    args = ["run", "tabular", "-q", "--out", str(out), "--set", f"data.path={path}"]
    if not any(a.startswith("data.target") for a in extra):
        args += ["--set", "data.target=bought"]
    result = runner.invoke(app, args + extra)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in result.output
    assert not out.exists() or list(out.iterdir()) == []  # nothing half-written


def test_tabular_regression_and_balanced_weights_run(tmp_path):
    data = write_mixed_csv(tmp_path / "shop.csv", n=400)
    fast = [s for s in FAST if s != "--set"] + ["journal.plots=false"]
    reg = nnjournal.run(
        "tabular", [f"data.path={data}", "data.target=age", "task.name=regression", *fast], out=tmp_path
    )
    s = reg.summary
    assert s["task"] == "regression" and "boosted trees" in s["baselines"]
    assert s["variants"]["mlp"]["test"]["rmse"] < s["baselines"]["mean"]["rmse"]
    assert "24 row(s) with a blank target 'age' were left out." in s["data"]["notes"]
    # Predictions in full precision: each value reads back as the float64 the model gave.
    new = tmp_path / "new.csv"
    new.write_text(data.read_text())
    out = tmp_path / "ages.csv"
    assert _run(["predict", str(reg.run_dir), str(new), "--out", str(out)]).exit_code == 0
    written = list(csv.DictReader(out.read_text().splitlines()))
    expected = nnjournal.load_model(reg.run_dir).predict(feature_rows(data))
    assert [float(r["prediction"]) for r in written] == list(expected)
    assert list(written[0]) == ["customer_id", "prediction"]

    common = [f"data.path={data}", "data.target=bought", *fast]
    plain = nnjournal.run("tabular", common, out=tmp_path)
    balanced = nnjournal.run("tabular", [*common, "task.class_weight=balanced"], out=tmp_path)
    info = plain.variants["mlp"].bundle.info
    minority = info.class_names[int(np.argmin(np.bincount(plain.variants["mlp"].bundle.train.y.numpy())))]

    def minority_recall(result) -> float:
        return result.summary["variants"]["mlp"]["binary"]["at_0.5"]["per_class"][minority]["recall"]

    # Weighting the rarer class up finds more of it (at the cost of precision).
    assert minority_recall(balanced) > minority_recall(plain)


def test_runs_and_the_index_name_a_csv_run_by_its_file(tabular_run):
    run_dir, _ = tabular_run
    from nnjournal.journal.run_dir import list_runs

    (row,) = [r for r in list_runs(run_dir.parent) if r["run"] == run_dir.name]
    assert row["label"] == "tabular: shop.csv" and row["data_file"] == "shop.csv"
    listed = _run(["runs", str(run_dir.parent)])
    assert listed.exit_code == 0 and "tabular: shop.csv" in listed.stdout
    assert "<td>tabular: shop.csv</td>" in (run_dir.parent / "index.html").read_text()


def test_rows_blank_in_every_column_are_left_out_and_said_so(tabular_run, tmp_path):
    """Excel writes `,,,` lines for empty rows; they are no data. Training notes them in the
    report, and `nnj predict` says its output has fewer rows than the file has lines."""
    run_dir, data = tabular_run
    rows = feature_rows(data)[:6]  # (5 rows at least for the training note's splits)
    new = tmp_path / "with-blank-rows.csv"
    with open(new, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[:2])
        fh.write("," * (len(rows[0]) - 1) + "\r\n")  # line 4: every field blank
        w.writerows(rows[2:])
        fh.write("\r\n" + "," * (len(rows[0]) - 1) + "\r\n")  # an empty line (no row), then line 10
    table = read_table(new)
    assert table.rows == 6 and table.blank_lines == [4, 10]
    prepared = read_prepared(CsvData(name="csv", path=str(new), target="bought"), "classification")
    assert "2 row(s) blank in every column were left out (line 4, 10)." in prepared.notes
    out = tmp_path / "pred.csv"
    result = _run(["predict", str(run_dir), str(new), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: 2 row(s) blank in every column were left out (line 4, 10)" in result.output
    assert len(out.read_text().splitlines()) == 1 + 6
    clean = tmp_path / "clean.csv"  # the same rows without the blank lines: the same predictions
    _write_rows(clean, rows)
    result = _run(["predict", str(run_dir), str(clean), "--out", str(tmp_path / "clean-pred.csv")])
    assert result.exit_code == 0 and "note:" not in result.output
    assert (tmp_path / "clean-pred.csv").read_text() == out.read_text()


def test_predict_names_category_values_the_model_never_learned(tabular_run, tmp_path):
    # A new city or a typo gets the "(other)" bucket or no category at all, silently unless said.
    run_dir, data = tabular_run
    rows = feature_rows(data)[:6]
    rows[1]["city"], rows[3]["city"], rows[4]["city"] = "Berlin", "Pariss", "Berlin"
    new = tmp_path / "new-cities.csv"
    _write_rows(new, rows)
    out = tmp_path / "pred.csv"
    result = _run(["predict", str(run_dir), str(new), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "column 'city': 3 row(s) with a value the model never learned ('Berlin', 'Pariss')" in result.output
    assert len(out.read_text().splitlines()) == 1 + 6  # still predicted, every row


def test_a_european_csv_reads_decimal_commas_as_numbers(tmp_path):
    """Semicolons and decimal commas (1.736,82), as spreadsheets in much of Europe save a CSV:
    the income column (every value distinct) was taken for an identifier and left out without
    the report saying why, so the model never saw the one feature that decides the target."""
    rng = np.random.default_rng(0)
    income = rng.normal(3000, 800, 300).round(2)
    bought = np.where(income + rng.normal(0, 150, 300) > 3000, "ja", "nein")

    def euro(x: float) -> str:  # 1736.82 -> '1.736,82'
        return f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")

    rows = [f"{i % 60 + 20};{euro(x)};{b}" for i, (x, b) in enumerate(zip(income, bought, strict=True))]
    path = tmp_path / "kunden.csv"
    path.write_text("alter;einkommen;kauf\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert read_table(path).columns["einkommen"][:2] == [f"{income[0]:.2f}", f"{income[1]:.2f}"]
    out = tmp_path / "runs"
    result = _run(["run", "tabular", "-q", "--out", str(out), "--set", f"data.path={path}",
                   "--set", "data.target=kauf", *FAST])  # fmt: skip
    assert result.exit_code == 0, result.output
    (run_dir,) = _finished_runs(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    notes = " ".join(summary["data"]["notes"])
    assert "Read as numbers: 'einkommen' (thousands separators and a decimal comma)" in notes
    assert "identifier" not in notes
    assert summary["variants"]["mlp"]["test"]["accuracy"] >= 0.85  # income decides; age alone gets ~0.5
    # nnj predict reads a new file the same way
    new = tmp_path / "neu.csv"
    new.write_text("alter;einkommen\n30;1.500,00\n30;4.800,50\n", encoding="utf-8")
    result = _run(["predict", str(run_dir), str(new), "--out", "-"])
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] for line in result.output.splitlines()[1:3]] == ["nein", "ja"]


def test_formatted_numbers_are_read_as_numbers_only_where_every_value_is_one(tmp_path):
    semi = tmp_path / "semi.csv"
    semi.write_text(
        "a;b;c;d;e;f;g\n1,5;1,5;12;1.500;24%;1.234,50 €;5%\n2,25;words;7,0;2.000;5%;-3,00 €;$3\n"
        "NA;3;-0,5;2,5;;7 €;1%\n",
        encoding="utf-8",
    )
    table = read_table(semi)
    assert table.written_numbers == {
        "a": "a decimal comma", "c": "a decimal comma", "d": "thousands separators and a decimal comma", "e": "%",
        "f": "€, thousands separators and a decimal comma",
    }  # fmt: skip
    assert table.columns["a"] == ["1.5", "2.25", "NA"] and table.columns["b"] == ["1,5", "words", "3"]
    assert table.columns["d"] == ["1500", "2000", "2.5"]  # points group thousands where commas are decimal
    assert table.columns["e"] == ["24", "5", ""] and table.columns["f"] == ["1234.50", "-3.00", "7"]
    assert table.columns["g"] == ["5%", "$3", "1%"]  # two units: not one quantity
    comma = tmp_path / "comma.csv"
    comma.write_text('a,b,c\n"$1,234.50",x,"2,5"\n-$12,y,"1,234"\n', encoding="utf-8")
    table = read_table(comma)
    assert table.written_numbers == {"a": "$ and thousands separators"}
    assert table.columns["a"] == ["1234.50", "-12"]
    assert table.columns["c"] == ["2,5", "1,234"]  # "2,5" has no reading in a comma-separated file


def test_spaced_swiss_accounting_and_minus_sign_numbers_are_read_as_numbers(tmp_path):
    """`12 345` (France, Scandinavia; also with no-break spaces), `12'345.50` (Switzerland),
    `(1,234)` (accounting's negatives) and `−0.5` (a typographic minus) were text: incomes left
    out as identifiers, a feature the model never saw."""
    path = tmp_path / "n.csv"
    path.write_text(
        "spaced,nbsp,swiss,accounting,minus,feet,mixed,y\n"
        "12 345,12\u00a0345,12'345.50,\"(1,234)\",\u22120.5,5'11,1.5,a\n"
        "1 234 567,7\u00a0000,1'000,\"$2,000\",1.25,6'2,2 000,b\n"
        "980,12,3.5,(7),\u22122,5'9,\"3,000\",a\n",
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.written_numbers == {
        "spaced": "thousands separators", "nbsp": "thousands separators", "swiss": "thousands separators",
        "accounting": "$, thousands separators and negatives in parentheses", "minus": "the minus sign \u2212",
    }  # fmt: skip
    assert table.columns["spaced"] == ["12345", "1234567", "980"] and table.columns["nbsp"] == ["12345", "7000", "12"]
    assert table.columns["swiss"] == ["12345.50", "1000", "3.5"]
    assert table.columns["accounting"] == ["-1234", "2000", "-7"] and table.columns["minus"] == ["-0.5", "1.25", "-2"]
    assert table.columns["feet"][0] == "5'11" and table.columns["mixed"][1] == "2 000"  # 2 000 beside 3,000: no one way
    semi = tmp_path / "semi.csv"
    semi.write_text("a;b;y\n1 234,5;1.234,5;x\n\u22122,5;1 234,5;y\n", encoding="utf-8")
    table = read_table(semi)
    assert table.written_numbers == {"a": "thousands separators, a decimal comma and the minus sign \u2212"}
    assert table.columns["a"] == ["1234.5", "-2.5"] and table.columns["b"] == ["1.234,5", "1 234,5"]


def test_excel_errors_and_declared_missing_words_are_blanks(tmp_path):
    """`#N/A` and `#DIV/0!` (a failed formula) turned a numeric column into 60 one-hot
    categories; `-` for "no value" did too, now with a note naming the words and the fix,
    `data.missing_values`, which `nnj predict` applies to its files as well."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=120)
    rows = []
    for i, v in enumerate(x):
        excel = "#DIV/0!" if i % 9 == 0 else "#N/A" if i % 13 == 0 else f"{v:.3f}"
        rows.append({"excel": excel, "dash": "-" if i % 7 == 0 else f"{v:.3f}", "sentinel": "-999.0" if i % 11 == 0 else f"{v:.2f}",
                     "y": "yes" if v > 0 else "no"})  # fmt: skip
    path = tmp_path / "gaps.csv"
    _write_rows(path, rows)
    prepared = read_prepared(CsvData(name="csv", path=str(path), target="y"), "classification")
    notes = " ".join(prepared.notes)
    assert prepared.kinds["excel"] == "numeric" and prepared.kinds["dash"] == "categorical"
    assert "'dash' holds numbers in 85% of its cells but also 18 other value(s) such as '-', so it is read as categories" in notes
    assert "list such words in data.missing_values" in notes
    out = tmp_path / "runs"
    sets = ["--set", f"data.path={path}", "--set", "data.target=y", *FAST, "--set", "training.epochs=60",
            "--set", 'data.missing_values=["-", -999]']  # fmt: skip
    result = _run(["run", "tabular", "-q", "--out", str(out), *sets])
    assert result.exit_code == 0, result.output
    (run_dir,) = _finished_runs(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    notes = " ".join(summary["data"]["notes"])
    assert "Read as blanks (data.missing_values = '-', '-999'): 18 in 'dash', 11 in 'sentinel' cell(s)." in notes
    assert "(numeric 3, boolean 0, categorical 0)" in notes and "read as missing: '#DIV/0!', '#N/A'" in notes
    assert summary["variants"]["mlp"]["test"]["accuracy"] >= 0.85
    new = tmp_path / "new.csv"
    new.write_text("excel,dash,sentinel\n#N/A,-,-999\n1.5,-,1.5\n-1.5,-1.5,-999\n", encoding="utf-8")
    result = _run(["predict", str(run_dir), str(new), "--out", "-"])
    assert result.exit_code == 0, result.output  # '-' was an unseen category; now a blank, imputed
    assert [line.split(",")[0] for line in result.output.splitlines()[2:4]] == ["yes", "no"]


def test_percent_and_currency_columns_train_as_numbers(tmp_path):
    """`24%` was one-hot encoded as 30 categories and `"$2,276.28"` left out as an identifier."""
    rng = np.random.default_rng(1)
    discount, price = rng.integers(0, 51, 300), rng.uniform(10, 3000, 300)
    y = np.where(discount + rng.normal(0, 4, 300) > 25, "yes", "no")
    path = tmp_path / "shop.csv"
    rows = zip(discount, price, y, strict=True)
    _write_rows(path, [{"discount": f"{d}%", "price": f"${p:,.2f}", "y": t} for d, p, t in rows])
    out = tmp_path / "runs"
    sets = ["--set", f"data.path={path}", "--set", "data.target=y", *FAST]
    result = _run(["run", "tabular", "-q", "--out", str(out), *sets])
    assert result.exit_code == 0, result.output
    (run_dir,) = _finished_runs(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    notes = " ".join(summary["data"]["notes"])
    assert "Read as numbers: 'discount' (%), 'price' ($ and thousands separators)" in notes
    assert "2 feature columns (numeric 2, boolean 0, categorical 0)" in notes


def test_a_date_column_trains_as_dates_and_predicts(tmp_path):
    """A sign-up date that decides the target (summer sign-ups buy) was one-hot encoded as 30
    categories, most dates '(other)': test accuracy 0.52, where the month says everything. The
    dates are written DD/MM/YYYY; `nnj predict` takes them so, or as ISO dates."""
    rng = np.random.default_rng(2)
    days = rng.integers(0, 3 * 365, 400)
    dates = np.datetime64("2021-01-01") + days
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1
    y = np.where((months >= 5) & (months <= 9), "yes", "no")
    # written as a spreadsheet in Europe would: 15/07/2022, day first
    written = [f"{str(d)[8:10]}/{str(d)[5:7]}/{str(d)[:4]}" for d in dates]
    rows = [{"signup": w, "amount": f"{a:.2f}", "y": t} for w, a, t in zip(written, rng.uniform(0, 100, 400), y, strict=True)]
    path = tmp_path / "signups.csv"
    _write_rows(path, rows)
    out = tmp_path / "runs"
    sets = ["--set", f"data.path={path}", "--set", "data.target=y", *FAST, "--set", "training.epochs=150"]
    result = _run(["run", "tabular", "-q", "--out", str(out), *sets])
    assert result.exit_code == 0, result.output
    (run_dir,) = _finished_runs(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    notes = " ".join(summary["data"]["notes"])
    assert "(numeric 1, boolean 0, categorical 0, date 1)" in notes and "Read as dates: 'signup' (DD/MM/YYYY)." in notes
    assert "signup: dates (2021-01-0" in notes and "the month and the day of the week" in notes
    assert summary["variants"]["mlp"]["test"]["accuracy"] >= 0.9
    new = tmp_path / "new.csv"
    for body in ("15/07/2022,5\n20/01/2022,5\n", "2022-07-15,5\n2022-01-20,5\n"):
        new.write_text("signup,amount\n" + body, encoding="utf-8")
        result = _run(["predict", str(run_dir), str(new), "--out", "-"])
        assert result.exit_code == 0, result.output
        assert [line.split(",")[0] for line in result.output.splitlines()[1:3]] == ["yes", "no"]
    new.write_text("signup,amount\nsoon,5\n", encoding="utf-8")
    result = runner.invoke(app, ["predict", str(run_dir), str(new), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 2 and "expected a date (YYYY-MM-DD), got 'soon'" in result.output


def test_dates_are_read_in_the_order_their_column_shows_and_ambiguous_ones_are_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "eu,us,de,ymd,unclear,y\n"
        "15/07/2022,07/15/2022,15.07.2022 9:05,2022/07/15,03/04/2022,a\n"
        "01/02/2023,02/01/2023,01.02.2023,2023/2/1,05/06/2022,b\n"
        ",12/31/2022,,,,a\n" + "14/03/2021,03/14/2021,14.03.2021,2021/3/14,01/01/2021,b\n" * 3,
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.written_dates == {"eu": "DD/MM/YYYY", "us": "MM/DD/YYYY", "de": "DD.MM.YYYY", "ymd": "YYYY/MM/DD"}
    assert table.columns["eu"][:3] == ["2022-07-15", "2023-02-01", ""] and table.columns["us"][2] == "2022-12-31"
    assert table.columns["de"][0] == "2022-07-15 09:05" and table.columns["ymd"][1] == "2023-02-01"
    assert table.ambiguous_dates == ["unclear"] and table.columns["unclear"][0] == "03/04/2022"
    prepared = read_prepared(CsvData(name="csv", path=str(path), target="y"), "classification")
    notes = " ".join(prepared.notes)
    assert "'unclear' holds dates such as '03/04/2022' whose day and month cannot be told apart" in notes
    assert prepared.kinds["eu"] == "date" and prepared.kinds["unclear"] == "categorical"


def test_a_free_text_column_is_named_as_text_not_an_identifier(tmp_path):
    """Reviews were called "an identifier (every value distinct)", or, with a repeat among
    them, one-hot encoded as 29 reviews and '(other)'."""
    rng = np.random.default_rng(5)
    words = ["good", "bad", "great", "product", "service", "slow", "fast", "price", "quality", "buy", "never"]
    reviews = [" ".join(rng.choice(words, rng.integers(4, 12))) for _ in range(60)]
    reviews[1] = reviews[0]  # one repeat: not every value distinct
    rows = [{"review": r, "stars": str(rng.integers(1, 6)), "y": "ab"[i % 2]} for i, r in enumerate(reviews)]
    path = tmp_path / "reviews.csv"
    _write_rows(path, rows)
    prepared = read_prepared(CsvData(name="csv", path=str(path), target="y"), "classification")
    notes = " ".join(prepared.notes)
    assert "'review' looks like free text (98% of values distinct, " in notes and "tables' text is not read" in notes
    assert "review" not in prepared.features and "review" not in prepared.id_columns


def test_categories_spelt_alike_but_for_case_are_named(tmp_path):
    from nnjournal import data

    rng = np.random.default_rng(6)
    city = rng.choice(["Oslo", "oslo", "Rome", "Paris", "PARIS"], 80)
    rows = [{"city": c, "x": f"{v:.3f}", "y": "ab"[i % 2]} for i, (c, v) in enumerate(zip(city, rng.random(80), strict=True))]
    path = tmp_path / "cities.csv"
    _write_rows(path, rows)
    bundle = data.load(CsvData(name="csv", path=str(path), target="y"), seed=0)
    notes = " ".join(bundle.info.notes)
    assert "city: 'Oslo' and 'oslo'; 'PARIS' and 'Paris' differ only in case or spaces" in notes


def test_dates_with_month_names_are_read_as_dates_and_written_back_in_their_form(tmp_path):
    """15-Jan-2022 (an Oracle or Excel export), Jan 5, 2022 and 5 January 2022 were categories:
    one-hot dates that a model cannot order, and a new date in `nnj predict` an unseen one."""
    from nnjournal.data.written_dates import as_written

    path = tmp_path / "m.csv"
    path.write_text(
        "dmy,upper,mdy,long,word,y\n"
        "15-Jan-2022,15 JAN 2022 09:05,\"Jan 5, 2022\",5 January 2022,Room 5 2022,a\n"
        "03-Feb-2023,03 FEB 2023,\"Sep 30, 2022\",1 March 2021,Hall 3 2021,b\n"
        ",,,,,a\n" + "28-Feb-2021,28 FEB 2021,\"Dec 1, 2021\",31 December 2021,Room 5 2022,b\n" * 3,
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.written_dates == {
        "dmy": "DD-Mon-YYYY", "upper": "DD MON YYYY", "mdy": "Mon D, YYYY", "long": "D Month YYYY"
    }  # fmt: skip
    assert table.columns["dmy"][:3] == ["2022-01-15", "2023-02-03", ""]
    assert table.columns["upper"][0] == "2022-01-15 09:05" and table.columns["mdy"][1] == "2022-09-30"
    assert table.columns["long"][3] == "2021-12-31" and table.columns["word"][0] == "Room 5 2022"
    for name, how in table.written_dates.items():  # what predict writes back for a filled-in date
        assert [as_written(v, how) for v in table.columns[name] if v] == [v for v in table.as_written[name] if v]
    assert as_written("2024-06-07", "Mon D, YYYY") == "Jun 7, 2024"
    assert as_written("2024-06-07", "D Month YYYY") == "7 June 2024"
    prepared = read_prepared(CsvData(name="csv", path=str(path), target="y"), "classification")
    assert "'dmy' (DD-Mon-YYYY)" in " ".join(prepared.notes) and prepared.kinds["mdy"] == "date"


def test_month_names_that_are_not_all_dates_leave_the_column_as_it_is(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b,y\n31-Feb-2022,1 Jan 2022,x\n1-Jan-2022,soon,y\n2-Jan-2022,1 Foo 2022,x\n", encoding="utf-8")
    table = read_table(path)
    assert table.written_dates == {} and table.columns["a"][0] == "31-Feb-2022"


def test_months_alone_and_two_digit_years_are_read_as_dates_and_written_back(tmp_path):
    """`Jan-49` (Excel's monthly format), `07/2022`, `January 2022`, `15-JAN-22` (Oracle's) and
    `15/07/22` were categories: a model could neither order them nor read a month from them."""
    from nnjournal.data.written_dates import as_written

    path = tmp_path / "m.csv"
    path.write_text(
        "excel,slash,long,oracle,short,ym,y\n"
        "Jan-49,07/2022,January 2022,15-JAN-22,15/07/22,2022/07,a\n"
        "Dec-60,12/2022,March 2021,03-FEB-99,01/02/23,2022/12,b\n"
        ",,,,,,a\n" + "Feb-05,1/2023,May 2020,28-FEB-21,31/12/29,2023/1,b\n" * 3,
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.written_dates == {
        "excel": "Mon-YY", "slash": "MM/YYYY", "long": "Month YYYY", "oracle": "DD-MON-YY", "short": "DD/MM/YY",
        "ym": "YYYY/MM",
    }  # fmt: skip
    assert table.columns["excel"][:4] == ["1949-01", "1960-12", "", "2005-02"]  # 30-99: 1900s; 00-29: 2000s
    assert table.columns["slash"][3] == "2023-01" and table.columns["long"][1] == "2021-03"
    assert table.columns["oracle"][1] == "1999-02-03" and table.columns["short"][3] == "2029-12-31"
    for name, how in table.written_dates.items():  # what predict writes back for a filled-in date
        assert [as_written(v, how) for v in table.columns[name][:2]] == table.as_written[name][:2]
    assert as_written("2024-06", "Mon-YY") == "Jun-24" and as_written("2024-06-07", "Mon-YY") == "Jun-24"
    prepared = read_prepared(CsvData(name="csv", path=str(path), target="y"), "classification")
    assert "'excel' (Mon-YY; two-digit years as 1930-2029)" in " ".join(prepared.notes)
    assert "'slash' (MM/YYYY)," in " ".join(prepared.notes)
    assert all(prepared.kinds[name] == "date" for name in table.written_dates)


def test_forms_that_numbers_and_prose_also_take_stay_as_they_are(tmp_path):
    """`1.2020` is a number, `Mar 10` a day without its year, `13/2022` no month, and a column
    mixing `Jan 2022` with `Jan-2022` or 2022 with 22 is not one way of writing dates."""
    path = tmp_path / "m.csv"
    path.write_text(
        "rate,day,bad,mixed,years,y\n1.2020,Mar 10,13/2022,Jan 2022,15/07/2022,a\n"
        "1.1999,Apr 12,1/2022,Jan-2022,15/07/22,b\n1.2101,May 31,2/2022,Feb 2022,16/07/2022,a\n",
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.written_dates == {} and table.ambiguous_dates == []
    assert table.columns["rate"][0] == "1.2020" and table.columns["day"][0] == "Mar 10"


def test_a_monthly_series_written_mon_yy_reads_as_the_iso_one(tmp_path):
    """The airline passengers as a spreadsheet exports them (Jan-49 ... Dec-60) are the same
    144 months as the ISO file; they were labels, whose order and spacing went unchecked."""
    from nnjournal.data.timeseries import read_series_file

    original = require_data("timeseries/airline-passengers.csv")
    lines = original.read_text(encoding="utf-8").splitlines()
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    rewritten = ["Month,Passengers"]
    for line in lines[1:]:
        date, count = line.replace('"', "").split(",")
        rewritten.append(f"{months[int(date[5:7]) - 1]}-{date[2:4]},{count}")
    path = tmp_path / "airline.csv"
    path.write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    ours, theirs = read_series_file(path), read_series_file(original)
    assert ours.dates == theirs.dates and ours.dates[0] == "1949-01" and ours.dates[-1] == "1960-12"
    assert np.array_equal(ours.values, theirs.values) and ours.gaps is None
    rewritten[5], rewritten[6] = rewritten[6], rewritten[5]  # were labels: the order went unchecked
    path.write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    with pytest.raises(NNJError, match=r"the dates go back in time at line 7 \('May-49' after 'Jun-49'\)"):
        read_series_file(path)
    del rewritten[5]
    path.write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    assert "skip 1 step(s) of one month" in read_series_file(path).gaps


def test_date_times_with_a_time_zone_or_on_the_12_hour_clock_are_read_as_dates(tmp_path):
    """`2022-01-05T10:00:00Z` (an API's), `2022-01-05 10:00+05:30` (a database's) and
    `1/15/2022 9:05 PM` (Excel's US export) were categories."""
    from nnjournal.data.written_dates import as_written

    path = tmp_path / "t.csv"
    path.write_text(
        "api,db,excel,y\n2022-01-05T10:00:00Z,2022-01-05 10:00+0530,1/15/2022 10:00 AM,a\n"
        "2022-01-05T23:30:00+02:00,2022-03-01 00:15-08,1/16/2022 12:05 AM,b\n"
        ",,2/1/2022 12:30 PM,a\n2022-01-06T01:00:00-01:00,2022-03-02 00:00Z,3/1/2022 9:05:30 p.m.,b\n",
        encoding="utf-8",
    )
    table = read_table(path)
    zoned = "YYYY-MM-DDThh:mm+zone, read as UTC"
    assert table.written_dates == {"api": zoned, "db": zoned, "excel": "MM/DD/YYYY AM/PM"}
    assert table.columns["api"] == ["2022-01-05 10:00:00", "2022-01-05 21:30:00", "", "2022-01-06 02:00:00"]
    assert table.columns["db"][:2] == ["2022-01-05 04:30", "2022-03-01 08:15"]
    assert table.columns["excel"] == ["2022-01-15 10:00", "2022-01-16 00:05", "2022-02-01 12:30", "2022-03-01 21:05:30"]
    assert as_written("2022-03-01 21:05:30", "MM/DD/YYYY AM/PM") == "03/01/2022 9:05:30 PM"
    assert as_written("2022-03-01 00:05", "MM/DD/YYYY AM/PM") == "03/01/2022 12:05 AM"
    assert as_written("2022-01-05 21:30:00", zoned) == "2022-01-05T21:30:00Z"
    path.write_text("a,b,y\n2022-02-29T10:00Z,1/15/2022 13:05 PM,x\n2022-03-01T10:00Z,1/16/2022 1:05 PM,y\n")
    assert read_table(path).written_dates == {}  # no 29 February in 2022, no 13 PM


def test_excel_sep_lines_trailing_separators_and_cp1252_files_read_as_meant(tmp_path):
    """A first line `sep=;` (Excel's), a separator ending every line, and a Windows export's
    `€` (byte 0x80 in cp1252) were errors or garbled: "line 2 has 3 fields but the header has
    1", "header column 4 has no name", and prices that were no numbers."""
    hinted = tmp_path / "hinted.csv"
    hinted.write_text("sep=;\na;b;y\n1,5;x;a\n2,5;z;b\n", encoding="utf-8")
    table = read_table(hinted)
    assert table.delimiter == ";" and list(table.columns) == ["a", "b", "y"] and table.columns["a"] == ["1.5", "2.5"]
    hinted.write_text("sep=;\na;b;y\n1,5;x;a\n2,5;z\n", encoding="utf-8")
    with pytest.raises(NNJError, match=r"line 4 has 2 fields but the header has 3; the delimiter ';' \(from the file's sep= line\)"):
        read_table(hinted)  # the file's own line number
    for text in ("a,b,y,\n1,2,x,\n3,4,z,\n", "a,b,y\n1,2,x,\n3,4,z,\n", "a,b,y,,\n1,2,x,,\n3,4,z,,\n"):
        trailing = tmp_path / "trailing.csv"
        trailing.write_text(text, encoding="utf-8")
        table = read_table(trailing)
        assert list(table.columns) == ["a", "b", "y"] and table.columns["y"] == ["x", "z"], text
    trailing.write_text("a,b,y,\n1,2,x,5\n3,4,z,\n", encoding="utf-8")  # not blank: a column without a name
    with pytest.raises(NNJError, match="header column 4 has no name"):
        read_table(trailing)
    windows = tmp_path / "windows.csv"
    windows.write_bytes("price;name;y\n1.234,50 €;Müller;a\n7,00 €;“Zoë”;b\n".encode("cp1252"))
    table = read_table(windows)
    assert table.columns["price"] == ["1234.50", "7.00"] and table.columns["name"] == ["Müller", "“Zoë”"]
    assert table.written_numbers == {"price": "€, thousands separators and a decimal comma"}


def test_target_classes_spelt_alike_but_for_case_are_named(tmp_path):
    """`Yes`, `yes`, `No`, `NO` made a binary target four classes without a word."""
    rng = np.random.default_rng(8)
    rows = [{"x": f"{v:.3f}", "y": ["Yes", "yes", "No", "NO"][i % 4]} for i, v in enumerate(rng.random(80))]
    path = tmp_path / "labels.csv"
    _write_rows(path, rows)
    prepared = read_prepared(CsvData(name="csv", path=str(path), target="y"), "classification")
    assert prepared.class_names == ["NO", "No", "Yes", "yes"]
    assert "Target 'y': the classes 'NO' and 'No'; 'Yes' and 'yes' differ only in case" in " ".join(prepared.notes)
