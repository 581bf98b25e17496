"""Every plot a tabular run's summary.json lists is written (the permutation-importance
figure was listed and never drawn), over quick runs of the tabular recipes."""

from __future__ import annotations

import json

import pytest
from conftest import require_data
from tabular_files import write_mixed_csv

import nnjournal

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = ["training.epochs=2", "model.hidden=[8]", "evaluation.baselines=['dummy']"]


@pytest.mark.parametrize("recipe", ["telco-churn", "bank-churn", "tabular"])
def test_every_listed_plot_exists(recipe, tmp_path):
    if recipe == "tabular":
        extra = [f"data.path={write_mixed_csv(tmp_path / 'shop.csv', n=300)}", "data.target=bought"]
    else:
        require_data(f"churn/{recipe.replace('-churn', '')}{'-customer-churn'}.csv")
        extra = []
    run = nnjournal.run(recipe, [*QUICK, *extra, "evaluation.permutation_importance=true"], out=tmp_path)
    listed = json.loads((run.run_dir / "summary.json").read_text())["plots"]
    files = [p["file"] for p in listed]
    assert "plots/importance.png" in files, files
    missing = [f for f in files if not (run.run_dir / f).is_file()]
    assert not missing, missing
    assert "plots/importance.png" in (run.run_dir / "report.md").read_text()
