"""`nnj tune`: an Optuna search over dotted config paths, scored on validation only, whose
best.toml reproduces the tuned run exactly; bad search input is one line before any trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import nnj

pytest.importorskip("optuna")

from nnjournal.tuning.objective import trial_seed  # noqa: E402

torch.set_num_threads(1)

RECIPE = """
recipe = "tiny-digits"
seed = 3
[data]
name = "digits"
val_fraction = 0.2
test_fraction = 0.2
[model]
name = "mlp"
hidden = [32]
[training]
epochs = 4
batch_size = 64
[journal]
plots = false
[search]
sampler = "{sampler}"
n_trials = {n_trials}
cv = {cv}
[search.space]
"training.optimizer.lr" = {{ low = 1e-3, high = 3e-2, log = true }}
"model.hidden" = {{ choices = [[16], [32, 16]] }}
"training.batch_size" = {{ low = 32, high = 128, step = 32 }}
"""


def _recipe(tmp_path: Path, sampler: str = "tpe", n_trials: int = 3, cv: int = 0, extra: str = "") -> Path:
    path = tmp_path / f"tiny-{sampler}-{n_trials}-{cv}.toml"
    path.write_text(RECIPE.format(sampler=sampler, n_trials=n_trials, cv=cv) + extra)
    return path


def _one_error_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_tune_writes_the_entry_and_best_toml_reproduces_it(data_dir, tmp_path):
    result = nnj("tune", str(_recipe(tmp_path)), "--out", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.stderr
    run_dir = next((tmp_path / "runs").glob("*_tiny-digits-tune"))
    summary = json.loads((run_dir / "summary.json").read_text())
    trials = summary["search"]["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2] and all(t["state"] == "COMPLETE" for t in trials)
    assert all(t["user_attrs"]["seed"] == trial_seed(3, t["number"]) for t in trials)
    best = max(trials, key=lambda t: t["value"])
    assert summary["search"]["best_trial"]["number"] == best["number"]
    assert summary["search"]["direction"] == "maximize"  # accuracy, from the task's directions
    report = (run_dir / "report.md").read_text()
    assert "| trial | state | val accuracy |" in report and "retrained and tested once" in report
    # the best configuration as a plain recipe, without [search], reproducing the tuned numbers
    best_toml = (run_dir / "best.toml").read_text()
    assert "[search" not in best_toml
    again = nnj("run", str(run_dir / "best.toml"), "--out", str(tmp_path / "again"), "-q")
    assert again.exit_code == 0, again.stderr
    rerun = json.loads(next((tmp_path / "again").glob("*/summary.json")).read_text())
    assert rerun["variants"]["mlp"]["test"] == summary["variants"]["best"]["test"]
    assert rerun["variants"]["mlp"]["val"] == summary["variants"]["best"]["val"]


def test_trials_never_see_the_test_split(data_dir, tmp_path, monkeypatch):
    from nnjournal.tuning import objective

    seen = []
    real = objective.train_one

    def spy(cfg, bundle, task, **kw):
        seen.append(len(bundle.test))
        return real(cfg, bundle, task, **kw)

    monkeypatch.setattr(objective, "train_one", spy)
    from nnjournal.tuning.study import run_tune

    run_tune(_recipe(tmp_path, sampler="random", n_trials=2, cv=2), out=tmp_path / "runs")
    assert seen == [0, 0, 0, 0]  # 2 trials x 2 folds, none with test rows


def test_cross_validation_inside_trials_reports_mean_and_sd(data_dir, tmp_path):
    result = nnj("tune", str(_recipe(tmp_path, sampler="random", n_trials=2, cv=3)), "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    run_dir = next(tmp_path.glob("*-tune"))
    summary = json.loads((run_dir / "summary.json").read_text())
    for t in summary["search"]["trials"]:
        scores = t["user_attrs"]["cv_scores"]
        assert len(scores) == 3 and abs(sum(scores) / 3 - t["value"]) < 1e-12
    assert "(3-fold mean ± sd)" in (run_dir / "report.md").read_text()


def test_grid_sampler_needs_a_finite_grid(tmp_path):
    path = _recipe(tmp_path, sampler="grid", n_trials=50)  # lr is a continuous range
    line = _one_error_line(nnj("tune", str(path), "--out", str(tmp_path / "runs")))
    assert "training.optimizer.lr a step or choices" in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ('"model.hiden" = { choices = [[8]] }', "'model.hiden' is not a setting of this recipe: model has no 'hiden'"),
        ('"training.optimizer.lr" = { low = 0.1, high = 0.01 }', "low (0.1) is above high (0.01)"),
        ('"training.optimizer.lr" = { low = 0.0, high = 0.01, log = true }', "a log scale needs low > 0"),
        ('"model.hidden" = { choices = [] }', "choices is empty"),
        ('"training.epochs" = { low = 0, high = 3 }', "training.epochs = 0 does not make a valid recipe"),
    ],
)
def test_bad_search_space_is_one_line_before_any_trial(tmp_path, space, expected):
    path = tmp_path / "bad.toml"
    path.write_text(f'[data]\nname = "digits"\n[search]\nn_trials = 2\n[search.space]\n{space}\n')
    line = _one_error_line(nnj("tune", str(path), "--out", str(tmp_path / "runs")))
    assert expected in line, line
    assert not (tmp_path / "runs").exists()


def test_unreachable_storage_and_sqlite_with_workers_are_refused(tmp_path):
    path = _recipe(tmp_path)
    url = "postgresql://nnj:secret@127.0.0.1:1/nowhere"
    line = _one_error_line(nnj("tune", str(path), "--storage", url, "--out", str(tmp_path / "runs")))
    assert "cannot open the study storage" in line and "secret" not in line
    sqlite = f"sqlite:///{tmp_path / 's.db'}"
    line = _one_error_line(nnj("tune", str(path), "--storage", sqlite, "--workers", "2", "--out", str(tmp_path / "runs")))
    assert "SQLite is not safe for parallel writers" in line
    assert not (tmp_path / "runs").exists()


def test_two_workers_share_one_journal_file_study(data_dir, tmp_path):
    result = nnj("tune", str(_recipe(tmp_path, sampler="random", n_trials=4)), "--workers", "2", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    run_dir = next(tmp_path.glob("*-tune"))
    summary = json.loads((run_dir / "summary.json").read_text())
    numbers = sorted(t["number"] for t in summary["search"]["trials"])
    assert numbers == [0, 1, 2, 3]
    assert all(t["state"] == "COMPLETE" for t in summary["search"]["trials"])
    assert (run_dir / "study.journal").stat().st_size > 0
    # random search draws from (study seed, trial number): one worker runs the same trials
    alone = nnj("tune", str(_recipe(tmp_path, sampler="random", n_trials=4)), "--out", str(tmp_path / "one"))
    assert alone.exit_code == 0, alone.stderr
    single = json.loads(next((tmp_path / "one").glob("*-tune/summary.json")).read_text())
    by_number = {t["number"]: (t["params"], t["value"]) for t in summary["search"]["trials"]}
    assert by_number == {t["number"]: (t["params"], t["value"]) for t in single["search"]["trials"]}


PRUNED = """
recipe = "prune-digits"
[data]
name = "digits"
[model]
name = "mlp"
hidden = [16]
[training]
epochs = 8
batch_size = 128
[journal]
plots = false
[search]
sampler = "random"
n_trials = 9
pruner = "median"
[search.space]
"training.optimizer.lr" = { low = 1e-5, high = 1e-1, log = true }
"""


def test_the_median_pruner_stops_a_poor_trial_from_the_epoch_hook(data_dir, tmp_path):
    path = tmp_path / "prune.toml"
    path.write_text(PRUNED)
    result = nnj("tune", str(path), "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    trials = json.loads(next(tmp_path.glob("*-tune/summary.json")).read_text())["search"]["trials"]
    pruned = [t for t in trials if t["state"] == "PRUNED"]
    assert pruned and all(5 < t["user_attrs"]["epochs"] < 8 for t in pruned)  # after the 5-epoch warm-up
    assert all(t["user_attrs"]["epochs"] == 8 for t in trials if t["state"] == "COMPLETE")


def test_cross_validation_refits_a_csv_encoding_on_each_folds_training_rows(data_dir, tmp_path, monkeypatch):
    # The scaling a fold's network sees comes from that fold's training rows: fitted once on
    # the loader's training split, it would have seen the fold's held-out rows.
    from tabular_files import write_mixed_csv

    from nnjournal import data as data_mod
    from nnjournal.config import read_toml, validate_config
    from nnjournal.tuning import objective
    from nnjournal.tuning.study import run_tune

    csv_path = write_mixed_csv(tmp_path / "shop.csv", n=300)
    recipe = tmp_path / "shop-tune.toml"
    recipe.write_text(f"""
recipe = "shop"
seed = 1
[data]
name = "csv"
path = "{csv_path}"
target = "bought"
id_columns = ["customer_id"]
[model]
name = "mlp"
hidden = [8]
[training]
epochs = 2
[journal]
plots = false
[search]
sampler = "random"
n_trials = 1
cv = 3
[search.space]
"training.optimizer.lr" = {{ low = 1e-3, high = 1e-2, log = true }}
""")
    folds = []
    real = objective.train_one

    def spy(cfg, bundle, task, **kw):
        folds.append(bundle)
        return real(cfg, bundle, task, **kw)

    monkeypatch.setattr(objective, "train_one", spy)
    run_tune(recipe, out=tmp_path / "runs")
    cv_folds = folds[:3]
    cfg = validate_config(read_toml(recipe))
    loaded = data_mod.load(cfg.data, seed=cfg.seed, task="classification")
    assert [len(f.test) for f in cv_folds] == [0, 0, 0]
    # the folds deal out exactly the loader's training and validation rows
    assert sum(len(f.val) for f in cv_folds) == len(loaded.train) + len(loaded.val)
    ages = []
    for f in cv_folds:
        names = f.preprocessing.feature_names
        age = f.preprocessing.columns[[c.name for c in f.preprocessing.columns].index("age")]
        column = f.train.x[:, names.index("age")].double()
        # standardised on this fold's training rows: mean 0 and std 1 there
        assert abs(float(column.mean())) < 1e-5 and abs(float(column.std(correction=0)) - 1) < 1e-3
        ages.append(age.mean)
    assert len(set(ages)) == 3  # one fit per fold
