"""Studies write one journal entry from real trainings; the index lists them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nnjournal.cli import app
from nnjournal.experiment import run


def test_regularization_study_entry(tmp_path):
    techniques = '["none", "l1", "l2", "dropout", "batchnorm", "augmentation", "ensemble"]'
    result = run(
        "regularization-demo",
        ["study.seeds=2", "study.epochs=15", f"study.techniques={techniques}", "study.train_size=100"],
        out=tmp_path,
    )
    summary = json.loads((result.run_dir / "summary.json").read_text())
    rows = summary["study"]["techniques"]
    assert list(rows) == ["none", "l1", "l2", "dropout", "batchnorm", "augmentation", "ensemble"]
    for row in rows.values():
        assert 0 <= row["train_error"] <= row["test_error"] + 0.05
        assert row["gap"] == pytest.approx(row["test_error"] - row["train_error"], abs=1e-9)
    # A base MLP on 100 digits learns them (far better than chance) and overfits them.
    assert rows["none"]["test_error"] < 0.35 and rows["none"]["gap"] > 0.03
    # L1's constant pull leaves more weights near zero than L2's shrinkage (measured, not set).
    assert rows["l1"]["near_zero_fraction"] > rows["l2"]["near_zero_fraction"]
    files = {p["file"] for p in summary["plots"]}
    assert {
        "plots/curves.png",
        "plots/weights.png",
        "plots/steps_to_target.png",
        "plots/ensemble.png",
        "plots/mc_dropout.png",
    } <= files
    assert all((result.run_dir / f).stat().st_size > 5000 for f in files)
    report = (result.run_dir / "report.html").read_text()
    assert (
        "gap (error)" in report
        and "data:image/png;base64," in report
        and "http" not in report.split("<body>")[1]
    )
    # Digits are feature vectors here: the augmentation technique is noise + feature dropout.
    what_was_run = (result.run_dir / "report.md").read_text().split("## Results")[0]
    assert "training.augment.noise_std = 0.3" in what_was_run and "rotation" not in what_was_run
    assert len(summary["study"]["ensembles"]["ensemble"]["members"][0]) == 5
    index = (tmp_path / "index.html").read_text()
    assert f"{result.run_dir.name}/report.html" in index and "regularization-demo" in index


def test_capacity_study_via_cli(tmp_path):
    out = CliRunner().invoke(
        app,
        [
            "study",
            "capacity",
            "--profile",
            "quick",
            "--out",
            str(tmp_path),
            "-q",
            "--set",
            "study.widths=[2, 64]",
            "--set",
            "study.epochs=20",
            "--set",
            "study.l2=[0.0, 0.01]",
        ],
    )
    assert out.exit_code == 0, out.output
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    summary = json.loads((run_dir / "summary.json").read_text())
    results = summary["study"]["results"]
    # Width 2 underfits: it cannot even fit its own training set the way width 64 does.
    assert results["no L2, width 2"]["train_error"] > results["no L2, width 64"]["train_error"] + 0.2
    assert summary["study"]["minima"]["no L2"][0] in (2, 64)
    assert (run_dir / "plots" / "capacity.png").exists()


def test_unknown_study_is_a_user_error(tmp_path):
    out = CliRunner().invoke(app, ["study", "nonsense", "--out", str(tmp_path)])
    assert out.exit_code == 2 and "unknown study" in out.output


def test_augmentation_technique_fits_the_inputs():
    from nnjournal.studies.regularization import TECHNIQUES, augmentation_for

    images = augmentation_for(TECHNIQUES["all-combined"], images=True)
    vectors = augmentation_for(TECHNIQUES["all-combined"], images=False)
    assert {"rotation", "translate", "zoom"} <= set(images["training"]["augment"])
    assert {"noise_std", "feature_dropout"} == set(vectors["training"]["augment"])
    assert images["training"]["penalty"] == TECHNIQUES["all-combined"]["training"]["penalty"]


def test_parallel_settings_give_the_same_numbers(tmp_path):
    # study.workers trains techniques in separate processes; every training seeds itself, so
    # the table must not depend on it (only the wall time may).
    techniques = '["none", "l1", "dropout", "ensemble"]'
    args = ["study.seeds=2", "study.epochs=4", f"study.techniques={techniques}"]
    one = run("regularization-demo", [*args, "study.workers=1"], out=tmp_path / "one")
    two = run("regularization-demo", [*args, "study.workers=2"], out=tmp_path / "two")

    def numbers(result):
        rows = result.summary["study"]["techniques"]
        return {n: {k: v for k, v in r.items() if not k.startswith("wall")} for n, r in rows.items()}

    assert numbers(one) == numbers(two)


@pytest.mark.parametrize("name", ["regularization", "capacity", "gd-regimes"])
def test_study_on_missing_data_exits_2_and_writes_nothing(name, tmp_path):
    out = tmp_path / "runs"
    missing = tmp_path / "nowhere.csv"
    result = CliRunner().invoke(
        app,
        [
            "study",
            name,
            "--out",
            str(out),
            "--set",
            "data.name='csv'",
            "--set",
            f"data.path={str(missing)!r}",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "nowhere.csv" in result.output
    assert not out.exists() or not any(out.iterdir())  # no half-written run directory


def test_conclusion_does_not_call_a_wider_gap_smaller():
    from nnjournal.studies.regularization import _conclusion

    def row(test_error, gap):
        return {"test_error": test_error, "gap": gap, "loss_gap": gap, "near_zero_fraction": 0.0}

    wider = _conclusion({"none": row(0.10, 0.10), "l2": row(0.12, 0.12)}, ["none", "l2"], {})
    assert any("no technique narrowed it (the smallest, l2's, is 0.120)" in line for line in wider)
    assert not any("smaller" in line for line in wider)
    assert any("No better than no regularization on test error here: l2" in line for line in wider)

    narrower = _conclusion({"none": row(0.10, 0.10), "dropout": row(0.06, 0.04)}, ["dropout", "none"], {})
    assert any("dropout's 0.040 (2.5× smaller)" in line for line in narrower)


def test_study_help_names_every_study():
    from nnjournal.studies import STUDIES

    result = CliRunner().invoke(app, ["study", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert all(name in result.output for name in STUDIES)


def test_the_no_download_demo_shows_a_gap_that_regularization_halves(tmp_path):
    # `make demo` without MNIST: a plain MLP memorises MNIST-1D signals (training error 0, test
    # error far above it), and dropout at least halves that gap; the conclusion names the ratio.
    quick = ["study.seeds=1", "study.epochs=15", 'study.techniques=["none", "dropout"]', "study.train_size=400"]
    result = run("regularization-mnist1d", [*quick, "study.workers=1"], out=tmp_path)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    rows = summary["study"]["techniques"]
    assert rows["none"]["train_error"] < 0.05 and rows["none"]["gap"] > 0.3, rows["none"]
    assert rows["dropout"]["gap"] < 0.5 * rows["none"]["gap"], rows
    conclusion = " ".join(summary["conclusion"])
    assert "Generalization gap in error" in conclusion and "smaller" in conclusion
