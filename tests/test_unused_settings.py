"""`[evaluation]` settings a run would not use are refused before a run directory exists
(evaluation/unused_settings.py), instead of being dropped without a word: the report used to
lack what was asked (`evaluation.baselines = ["pca"]` on a classifier, a decision threshold for
ten classes, column importance of pixels) and say nothing. Values left at their defaults are
never refused, so a run's saved config.toml, which writes every setting out, runs again."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib
from test_bad_inputs import Case, Nnj, check_refused

from nnjournal.config import to_toml, validate_config
from nnjournal.experiment import prepare_variants, resolve_recipe

# (recipe, setting, a fragment of the one error line); the data sets are bundled or generated
REFUSED = [
    (
        "digits-mlp",
        "evaluation.baselines=['dummy', 'pca']",
        "'pca' is not a baseline of the classification task",
    ),
    ("digits-mlp", "evaluation.downstream=true", "evaluation.downstream is for reconstruction tasks"),
    ("digits-mlp", "evaluation.pca_components=3", "evaluation.pca_components is for reconstruction tasks"),
    ("digits-mlp", "evaluation.threshold.objective='f1'", "this data set has 10 classes"),
    ("digits-mlp", "evaluation.permutation_importance=true", "data set 'digits' is not a table"),
    (
        "digits-mlp",
        "evaluation.mc_dropout=3",
        "needs dropout in the model",
    ),  # with the dropout switched off below
    ("seq2seq-dates", "evaluation.baselines=['linear']", "the seq2seq task reports its own baselines"),
    ("seq2seq-dates", "evaluation.threshold.min_precision=0.9", "evaluation.threshold is for two-class"),
    ("seq2seq-dates", "evaluation.mc_dropout=2", "evaluation.mc_dropout is for classification"),
]


@pytest.mark.parametrize(("recipe", "setting", "expect"), REFUSED, ids=[s for _, s, _ in REFUSED])
def test_a_setting_the_run_would_ignore_is_one_line_exit_2_and_leaves_nothing(
    recipe: str, setting: str, expect: str, nnj: Nnj, tmp_path: Path
) -> None:
    no_dropout = ["model.dropout_input=0", "model.dropout_hidden=0"]
    sets = [setting] + (no_dropout if "mc_dropout" in setting and recipe == "digits-mlp" else [])
    # not recipe_run: its short training sets evaluation.baselines itself, after these settings
    args = [
        "run",
        recipe,
        "-q",
        "--out",
        "{out}",
        "--set",
        "training.epochs=1",
        "--set",
        "journal.plots=false",
    ]
    check_refused(
        Case(setting, [*args, *(a for s in sets for a in ("--set", s))], expect), nnj, tmp_path, tmp_path
    )


def test_settings_the_task_uses_still_run(nnj: Nnj, tmp_path: Path) -> None:
    """The same kinds of setting, where the task acts on them: a baseline list of its own names,
    and Monte-Carlo dropout on a classifier with dropout, which the summary then reports."""
    out = tmp_path / "out"
    rc, _, stderr = nnj(
        "run", "digits-mlp", "-q", "--out", str(out), "--set", "training.epochs=1", "--set", "journal.plots=false",
        "--set", "evaluation.baselines=['dummy']", "--set", "evaluation.mc_dropout=2",
    )  # fmt: skip
    assert rc == 0, stderr[-3000:]
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    summary = (run / "summary.json").read_text()
    assert "majority class" in summary and "logistic regression" not in summary
    assert "mc_dropout" in summary


@pytest.mark.parametrize("recipe", ["seq2seq-dates", "xor", "digits-mlp", "mnist1d-gru"])
def test_a_saved_config_with_every_setting_written_out_passes_the_checks_again(recipe: str) -> None:
    """config.toml of a run lists every default (e.g. `baselines = ["dummy", "linear"]` for a
    task with baselines of its own); run again, it must not be refused."""
    cfg = resolve_recipe(recipe, ["data.n_train=200"] if recipe == "seq2seq-dates" else [])
    written = validate_config(tomllib.loads(to_toml(cfg.model_dump(mode="json"))))
    assert "baselines" in written.evaluation.model_fields_set
    prepare_variants(written.variant_configs())  # raises NNJError on a refused setting
