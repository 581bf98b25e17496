"""Ensembles and Monte-Carlo dropout as switches of an ordinary `nnj run`: trained, reported,
saved and reloaded like a single model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nnjournal.cli import app
from nnjournal.experiment import run
from nnjournal.saved_model import load_model

FAST = ["training.epochs=8", "evaluation.baselines=[]"]


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run(
        "digits-mlp",
        [*FAST, "ensemble.size=3", "model.dropout_hidden=0.3", "evaluation.mc_dropout=20"],
        out=out,
    )


def test_ensemble_run_reports_each_member_and_the_combination(ensemble_run):
    summary = json.loads((ensemble_run.run_dir / "summary.json").read_text())
    v = summary["variants"]["mlp"]
    members = [m["accuracy"] for m in v["ensemble"]["members_test"]]
    assert len(members) == 3 and len(set(members)) > 1  # different seeds, different members
    # Probability averaging: the ensemble is never worse than its worst member on digits and
    # typically at least as good as their mean.
    assert v["test"]["accuracy"] >= min(members)
    assert v["test"]["accuracy"] > 0.9
    assert v["model"].startswith("ensemble of 3")
    files = {p["file"] for p in summary["plots"]}
    assert {"plots/ensemble.png", "plots/mc_dropout.png"} <= files
    report = (ensemble_run.run_dir / "report.md").read_text()
    assert "Ensemble members and their spread" in report and "member 2" in report
    assert "Monte-Carlo dropout" in report


def test_mc_dropout_is_less_certain_where_it_errs(ensemble_run):
    mc = json.loads((ensemble_run.run_dir / "summary.json").read_text())["variants"]["mlp"]["mc_dropout"]
    assert mc["samples"] == 20
    assert mc["accuracy"] > 0.85
    assert mc["entropy_wrong"] > mc["entropy_correct"]


def test_saved_ensemble_predicts_like_the_trained_one(ensemble_run):
    loaded = load_model(ensemble_run.run_dir)
    r = ensemble_run.variants["mlp"]
    pre = r.bundle.preprocessing
    x_raw = r.bundle.test.x.numpy().reshape(len(r.bundle.test), -1) * pre.scale + pre.shift
    assert np.array_equal(loaded.predict(x_raw).astype(int), r.test_pred)
    assert isinstance(loaded.model, type(r.model)) and len(loaded.model.members) == 3


def test_same_seed_same_ensemble(tmp_path):
    args = [*FAST, "training.epochs=2", "ensemble.size=2", "ensemble.method=bagging"]
    a = run("digits-mlp", args, out=tmp_path / "a").summary["variants"]["mlp"]
    b = run("digits-mlp", args, out=tmp_path / "b").summary["variants"]["mlp"]
    assert a["test"] == b["test"] and a["ensemble"] == b["ensemble"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["evaluation.mc_dropout=10", "model.dropout_input=0", "model.dropout_hidden=0"], "needs dropout"),
        (["ensemble.size=2"], "ensembles combine classifiers or regressors"),
    ],
)
def test_bad_ensemble_or_mc_dropout_settings_exit_2_and_write_nothing(tmp_path, overrides, message):
    recipe = "digits-mlp" if "mc_dropout" in overrides[0] else "ae-vs-pca"
    args = ["run", recipe, "--out", str(tmp_path)]
    for o in overrides:
        args += ["--set", o]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not any(tmp_path.iterdir())


def test_snapshot_run_says_what_ran_and_names_every_regularizer(tmp_path):
    result = run(
        "digits-mlp",
        [
            "training.epochs=4",
            "evaluation.baselines=[]",
            "ensemble.size=2",
            "ensemble.method='snapshot'",
            "training.label_smoothing=0.1",
            "training.weight_noise=0.01",
            "training.max_norm=3.0",
            "training.augment.noise_std=0.1",
            "model.noise_hidden=0.2",
        ],
        out=tmp_path,
    )
    v = result.summary["variants"]["mlp"]
    assert "2 cosine cycles of 2 epochs, a snapshot after each" in v["training"]
    assert "early stopping" not in v["training"] and "restored" not in v["training"]  # off for snapshots
    for words in ("label smoothing 0.1", "max-norm 3", "weight noise σ 0.01", "augmentation: noise_std 0.1"):
        assert words in v["training"]
    assert "Gaussian noise σ 0.2 on hidden activations" in v["model"]


def test_snapshot_ensemble_needs_an_epoch_per_cycle(tmp_path):
    out = CliRunner().invoke(
        app,
        [
            "run",
            "digits-mlp",
            "--out",
            str(tmp_path),
            "--set",
            "training.epochs=2",
            "--set",
            "ensemble.size=3",
            "--set",
            "ensemble.method='snapshot'",
        ],
    )
    assert out.exit_code == 2 and "set training.epochs to at least 3" in out.output
    assert not any(tmp_path.iterdir())
