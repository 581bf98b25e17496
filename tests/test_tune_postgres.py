"""Two worker processes against one study in a real PostgreSQL (`--storage postgresql://...`):
every requested trial completes exactly once and the best trial in storage is the journal's.

`.ci/run` starts a throw-away server and sets NNJ_TEST_POSTGRES_URL; elsewhere the test starts
its own with `.ci/postgres.sh` and skips, with the reason, where it cannot. In CI it fails."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import nnj

optuna = pytest.importorskip("optuna")

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "postgres.sh"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is needed in CI and was not available: {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("NNJ_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if os.environ.get("CI"):
        _unavailable(os.environ.get("NNJ_TEST_POSTGRES_ERROR", ".ci/run did not start one"))
    root = tempfile.mkdtemp()
    os.chmod(root, 0o755)  # the server runs as the postgres user
    folder = Path(root) / "pg"
    done = subprocess.run(["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=300)
    try:
        if done.returncode != 0:
            _unavailable((done.stderr.strip().splitlines() or ["postgres.sh failed"])[-1])
        yield done.stdout.strip()
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        os.rmdir(root) if os.path.isdir(root) and not os.listdir(root) else None


RECIPE = """
recipe = "pg-digits"
seed = 1
[data]
name = "digits"
[model]
name = "mlp"
hidden = [16]
[training]
epochs = 3
batch_size = 64
[journal]
plots = false
[search]
sampler = "random"
n_trials = 4
[search.space]
"training.optimizer.lr" = { low = 1e-3, high = 3e-2, log = true }
"model.hidden" = { choices = [[16], [32]] }
"""


def test_two_workers_share_one_postgres_study(data_dir, postgres_url, tmp_path):
    recipe = tmp_path / "pg.toml"
    recipe.write_text(RECIPE)
    name = f"pg-test-{os.getpid()}-{tmp_path.name}"
    result = nnj(
        "tune", str(recipe), "--workers", "2", "--storage", postgres_url, "--study-name", name,
        "--out", str(tmp_path / "runs"),
    )
    assert result.exit_code == 0, result.stderr
    from nnjournal.tuning.study import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(postgres_url, 1))
    trials = study.get_trials(deepcopy=False)
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]  # each requested trial once, no more
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    summary = json.loads(next((tmp_path / "runs").glob("*-tune/summary.json")).read_text())
    best = summary["search"]["best_trial"]
    assert (study.best_trial.number, study.best_trial.value, study.best_trial.params) == (
        best["number"], best["value"], best["params"]
    )
    assert summary["search"]["storage"].startswith("postgresql://")
