"""The `nnj` command: listings, reports, predictions and one-line errors with exit code 2."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import nnj
from sklearn.datasets import load_digits

from nnjournal import load_model
from nnjournal.training.checkpoint import load_checkpoint


def _one_error_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_list_and_show():
    listed = nnj("list")
    assert listed.exit_code == 0
    for name in ("xor", "digits-mlp", "mnist1d-mlp"):
        assert name in listed.stdout
    shown = nnj("show", "digits-mlp", "--set", "training.epochs=3")
    assert shown.exit_code == 0
    assert "epochs = 3" in shown.stdout and "[training.optimizer]" in shown.stdout


def test_unknown_recipe_key_in_a_recipe_file(tmp_path):
    recipe = tmp_path / "typo.toml"
    recipe.write_text("[training]\nepochz = 3\n")
    line = _one_error_line(nnj("run", str(recipe), "--out", str(tmp_path / "runs")))
    assert "training.epochz: unknown key" in line
    assert not (tmp_path / "runs").exists()


def test_wrong_type_in_set(tmp_path):
    line = _one_error_line(nnj("run", "xor", "--set", "training.epochs=ten", "--out", str(tmp_path)))
    assert "training.epochs" in line and "'ten'" in line


def test_unknown_recipe_name(tmp_path):
    line = _one_error_line(nnj("run", "xr", "--out", str(tmp_path)))
    assert "unknown recipe 'xr'" in line and "xor" in line


def test_missing_data_file(tmp_path):
    missing = tmp_path / "nowhere.npz"
    line = _one_error_line(
        nnj(
            "run",
            "digits-mlp",
            "--set",
            "data.name=arrays",
            "--set",
            f"data.path={missing}",
            "--out",
            str(tmp_path),
        )
    )
    assert "data file not found" in line and "nowhere.npz" in line


def test_missing_recipe_file(tmp_path):
    line = _one_error_line(nnj("run", str(tmp_path / "absent.toml")))
    assert "recipe file not found" in line


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = nnj("run", "digits-mlp", "--set", "training.epochs=5", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.stderr
    return next(p for p in out.iterdir() if p.is_dir())


def test_run_directory_layout(digits_run):
    for name in (
        "config.toml",
        "metrics.jsonl",
        "summary.json",
        "model.safetensors",
        "model.json",
        "report.md",
        "report.html",
        "plots/curves.png",
        "plots/confusion.png",
    ):
        assert (digits_run / name).exists(), name
    assert not list(digits_run.glob("checkpoint*"))  # a finished run keeps only its model
    rows = [json.loads(line) for line in (digits_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5]
    html = (digits_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3
    assert "http://" not in html and "https://" not in html


def test_report_rerenders_and_runs_lists(digits_run):
    (digits_run / "report.html").unlink()
    assert nnj("report", str(digits_run)).exit_code == 0
    assert (digits_run / "report.html").exists()
    listed = nnj("runs", str(digits_run.parent))
    assert listed.exit_code == 0 and "digits-mlp" in listed.stdout and "done" in listed.stdout


def test_predict_round_trip_matches_the_in_process_model(digits_run, tmp_path):
    raw = load_digits().data[:25]  # raw pixel values 0..16, as a user has them
    csv_path = tmp_path / "digits.csv"
    np.savetxt(csv_path, raw, delimiter=",", fmt="%d")
    out = tmp_path / "pred.csv"
    result = nnj("predict", str(digits_run), str(csv_path), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("prediction,proba_0")
    from_cli = [line.split(",")[0] for line in lines[1:]]
    in_process = load_model(digits_run).predict(raw)
    assert in_process.dtype == np.int64  # digit labels come back as the integers they are
    assert from_cli == [str(p) for p in in_process]
    np.save(tmp_path / "digits.npy", raw)
    assert nnj("predict", str(digits_run), str(tmp_path / "digits.npy"), "--out", str(out)).exit_code == 0
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == from_cli


def test_predict_rejects_rows_of_the_wrong_width(digits_run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    line = _one_error_line(nnj("predict", str(digits_run), str(bad)))
    assert "3 features per row, the model expects 64" in line


def test_a_killed_run_leaves_files_that_runs_and_report_handle_and_it_resumes(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "nnjournal",
        "run",
        "digits-mlp",
        "--quiet",
        "--out",
        str(tmp_path),
        "--set",
        "training.epochs=60",
        "--set",
        "training.early_stopping.patience=60",
        "--set",
        "training.checkpoint_every_s=0",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run_dir = None
    deadline = time.time() + 240  # generous: under load a cold start alone can take a minute
    while time.time() < deadline:  # kill it once a few epochs are on disk
        dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
        if (
            dirs
            and (dirs[0] / "metrics.jsonl").exists()
            and len((dirs[0] / "metrics.jsonl").read_text().splitlines()) >= 3
        ):
            run_dir = dirs[0]
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run_dir is not None, "the run never logged three epochs"
    assert not (run_dir / "summary.json").exists()

    listed = nnj("runs", str(tmp_path))
    assert listed.exit_code == 0 and "unfinished" in listed.stdout
    line = _one_error_line(nnj("report", str(run_dir)))
    assert "did not finish" in line and "--resume" in line
    # Writes are atomic: whatever the kill interrupted, the checkpoint on disk is whole (a
    # temp file of the interrupted write may remain; resuming removes it).
    load_checkpoint(run_dir / "checkpoint")

    logged = len((run_dir / "metrics.jsonl").read_text().splitlines())
    resumed = nnj("run", "--resume", str(run_dir), "--quiet")
    assert resumed.exit_code == 0, resumed.stderr
    assert list(run_dir.rglob(".*.tmp")) == []
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 60 and logged < 60
    assert (run_dir / "summary.json").exists()


@pytest.mark.parametrize(
    "recipe, overrides, message",
    [
        ("digits-mlp", ["training.augment.rotation=20"], "need image batches"),
        ("digits-mlp", ["training.early_stopping.monitor='val_acc'"], "choose from train_loss"),
        (
            "digits-mlp",
            ["ensemble.size=3", "model.norm='batch'", "training.vectorize=true"],
            "cannot train models with batch norm",
        ),
        (
            "digits-mlp",
            ["evaluation.cv='loo'"],
            "leave-one-out trains one model per example: 1797 examples is over the limit of 500; "
            "use evaluation.cv = 10",
        ),
        ("digits-mlp", ["training.weight_noise=true"], "weight_noise = true is not valid"),
        (
            "digits-cnn",
            [
                "model.blocks=[{filters=8, kernel=3, pool='max'}, {filters=8, kernel=3, pool='max'}, "
                "{filters=8, kernel=3, pool='max'}, {filters=8, kernel=3, pool='max'}]"
            ],
            "does not fit input of shape",
        ),
    ],
    ids=[
        "augment-on-vectors",
        "monitor",
        "vectorized-batch-norm",
        "leave-one-out-over-the-limit",
        "bool-as-number",
        "cnn-shape",
    ],
)
def test_bad_settings_found_before_training_leave_no_run_directory(tmp_path, recipe, overrides, message):
    # Each of these used to fail only once training had started (or finished), after the run
    # directory was made; now one error line, exit 2, and nothing written.
    out = tmp_path / "runs"
    args = ["run", recipe, "--out", str(out), "--set", "training.epochs=1"]
    for o in overrides:
        args += ["--set", o]
    line = _one_error_line(nnj(*args))
    assert message in line
    assert not out.exists() or not any(out.iterdir())


def test_atomic_writes_get_the_mode_a_plain_open_gives(tmp_path):
    from nnjournal.files import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.html", "<p>hi</p>")
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644  # readable by others


def test_runs_on_a_folder_that_is_not_there_says_so(tmp_path):
    # `nnj runs rnus` (a typo) used to answer only "no runs under rnus".
    result = nnj("runs", str(tmp_path / "rnus"))
    assert result.exit_code == 0 and "the folder does not exist" in result.stdout
    (tmp_path / "empty").mkdir()
    result = nnj("runs", str(tmp_path / "empty"))
    assert result.exit_code == 0 and "no runs under" in result.stdout and "does not exist" not in result.stdout
