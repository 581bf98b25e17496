"""`nnj study tuning RECIPE` (issue 14): the lecture's staged protocol, quick profile. Four
stages each with a plot and a table, every chosen value inside its sweep, each winner handed
to the next stage, and `tuned.toml` giving the final configuration's numbers exactly."""

from __future__ import annotations

import json

import pytest
from helpers import nnj

from nnjournal import recipes
from nnjournal.studies.tuning import FIXED, L2_RANGE, LR_RANGE, V_RANGE

pytestmark = pytest.mark.usefixtures("one_thread")


def test_quick_tuning_study_runs_four_stages_and_its_tuned_recipe_reproduces(tmp_path):
    result = nnj("study", "tuning", "digits-mlp", "--profile", "quick", "--out", str(tmp_path / "runs"), "-q")
    assert result.exit_code == 0, result.stderr
    run_dir = next((tmp_path / "runs").glob("*_digits-mlp-tuning"))
    summary = json.loads((run_dir / "summary.json").read_text())
    stages = summary["study"]["stages"]
    assert list(stages) == ["lr", "l2", "beta1", "dropout"]
    lr, l2, beta1, dropout = (stages[k] for k in ("lr", "l2", "beta1", "dropout"))
    for s in (lr, l2, beta1):
        assert s["vectorized"] and len(s["values"]) == len(s["val_loss"]) > 5
        assert s["chosen"] in s["values"] and s["val_loss"][s["values"].index(s["chosen"])] == min(s["val_loss"])
    assert LR_RANGE[0] <= lr["chosen"] <= LR_RANGE[1] and lr["values"][0] == pytest.approx(LR_RANGE[0])
    assert L2_RANGE[0] <= l2["chosen"] <= L2_RANGE[1]
    assert 1 - V_RANGE[1] <= beta1["chosen"] <= 1 - V_RANGE[0] and beta1["epochs"] == 1
    assert list(dropout["chosen"]) in [list(v) for v in dropout["values"]]

    # Each stage's winner is fixed for the next: the tuned recipe holds all four, and the rest
    # of the protocol's settings.
    tuned = recipes.load(run_dir / "tuned.toml")
    t = tuned.training
    assert t.optimizer.lr == lr["chosen"] and t.penalty.l2 == l2["chosen"]
    assert t.optimizer.betas == (beta1["chosen"], 0.999) and t.optimizer.name == "adam"
    assert (tuned.model.dropout_input, tuned.model.dropout_hidden) == tuple(dropout["chosen"])
    assert tuned.model.init == FIXED["model"]["init"] and t.batch_size == 128 and tuned.study is None

    # A plot and a table per stage, and the final configuration beside the recipe.
    for name in [f"stage_{key}" for key in stages] + ["final"]:
        assert (run_dir / "plots" / f"{name}.png").stat().st_size > 5000
    report = (run_dir / "report.md").read_text()
    for title in ("1. Learning rate", "2. Weight decay", "3. Momentum", "4. Dropout"):
        assert f"## {title}" in report
    assert report.count("| chosen |") == 4 and "The final configuration beside the recipe" in report

    # `nnj run tuned.toml` gives the final configuration's numbers, and they are the dropout
    # stage's winner's (the same training).
    final = summary["study"]["final"]["metrics"]
    again = nnj("run", str(run_dir / "tuned.toml"), "--out", str(tmp_path / "again"), "-q")
    assert again.exit_code == 0, again.stderr
    rerun = json.loads(next((tmp_path / "again").glob("*/summary.json")).read_text())
    variant = next(iter(rerun["variants"].values()))
    assert variant["val"] == final["val"] and variant["test"] == final["test"]
    winner = [list(v) for v in dropout["values"]].index(list(dropout["chosen"]))
    assert summary["study"]["dropout_stage_val"][winner] == final["val"]
    assert summary["headline"] == {"metric": "val_accuracy", "variant": "tuned", "value": final["val"]["accuracy"]}


@pytest.mark.parametrize(
    "args, message",
    [
        (["study", "tuning"], "nnj study tuning needs a RECIPE"),
        (["study", "tuning", "digits-cnn"], "protocol for MLPs"),
        (["study", "tuning", "digits-mlp", "--set", "data.val_fraction=0"], "judges every stage on the validation split"),
    ],
    ids=["no-recipe", "not-an-mlp", "no-validation-split"],
)
def test_tuning_study_refuses_what_it_cannot_tune_in_one_line(tmp_path, args, message):
    out = tmp_path / "runs"
    result = nnj(*args, "--out", str(out))
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert not out.exists() or not any(out.iterdir())
