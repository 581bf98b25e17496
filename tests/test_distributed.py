"""Data-parallel training (issue 17): 2 CPU processes through torchrun (gloo, a free port)
train as one process with the same global batch: one step's gradients are the full-batch
gradients, and `nnj run digits-mlp --nproc 2` logs and reports the one-process numbers. What
does not apply is refused in one line before any process starts; a run that fails on the
processes is one line and a run directory marked failed; Ctrl-C leaves it resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import nnj

from nnjournal.experiment import run
from nnjournal.training.launch import free_port

# The recipe's dropout kept (each process draws the global batch's masks and keeps its rows),
# short and without plots or baselines: the numbers compared are the network's. 1,168 training
# rows in batches of 32: the last batch has 16 rows.
QUICK = ["training.epochs=4", "journal.plots=false", "evaluation.baselines=[]"]
SETS = [arg for s in QUICK for arg in ("--set", s)]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def test_one_data_parallel_step_has_the_full_batch_gradient(tmp_path: Path) -> None:
    worker = Path(__file__).with_name("ddp_gradient_worker.py")
    torchrun = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
    ]  # fmt: skip
    done = subprocess.run(
        [*torchrun, str(worker), str(tmp_path)], env=_env(), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["64_rows"] for r in ranks] == [32, 32]
    assert [r["7_rows"] for r in ranks] == [4, 3]  # uneven: the shares weight the gradients, not 1/2 each
    for r in ranks:
        assert r["64"] < 1e-6 and r["7"] < 1e-6, r


def test_nproc_2_matches_one_process(tmp_path: Path) -> None:
    one = run("digits-mlp", QUICK, out=tmp_path / "one")
    done = subprocess.run(
        [sys.executable, "-m", "nnjournal", "run", "digits-mlp", *SETS, "--out", str(tmp_path / "two"), "-q",
         "--nproc", "2"],
        env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [p for p in (tmp_path / "two").iterdir() if p.is_dir()]
    assert len(runs) == 1, runs  # rank 1 wrote nothing
    assert done.stdout.strip() == f"report: {runs[0] / 'report.html'}"
    two = json.loads((runs[0] / "summary.json").read_text())
    for split in ("val", "test"):
        for metric in ("log_loss", "accuracy"):
            expected = one.summary["variants"]["mlp"][split][metric]
            assert two["variants"]["mlp"][split][metric] == pytest.approx(expected, abs=1e-5), (split, metric)
    curves_one = [json.loads(line) for line in (one.run_dir / "metrics.jsonl").read_text().splitlines()]
    curves_two = [json.loads(line) for line in (runs[0] / "metrics.jsonl").read_text().splitlines()]
    assert len(curves_two) == len(curves_one) == 4
    for a, b in zip(curves_one, curves_two, strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], abs=1e-5), (b["epoch"], key)


def test_a_run_failing_on_the_processes_is_one_line_and_marked_failed(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nnjournal", "run", "digits-mlp", *SETS, "--set", "training.optimizer.lr=1e12",
         "--out", str(tmp_path), "-q", "--nproc", "2"],
        env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "diverged" in last, done.stderr[-3000:]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (run_dir / "failed.json").is_file() and not (run_dir / "summary.json").exists()


def test_ctrl_c_stops_every_process_and_leaves_a_resumable_run(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnjournal", "run", "digits-mlp", *SETS, "--set", "training.epochs=500",
         "--set", "training.early_stopping.patience=500", "--out", str(tmp_path), "-q", "--nproc", "2"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not any(len(m.read_text().splitlines()) >= 3 for m in tmp_path.glob("*/metrics.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(
        signal.SIGINT
    )  # what Ctrl-C sends the nnj process (torchrun's workers have own sessions)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert err.strip().splitlines() == [
        f"interrupted: stopped by SIGINT; resume with: nnj run --resume {run_dir}"
    ]
    assert (run_dir / "checkpoint.ckpt.safetensors").is_file()
    assert not (run_dir / "failed.json").exists() and not (run_dir / "summary.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["digits-mlp", "--nproc", "0"], "--nproc must be at least 1"),
        (["regularization-demo", "--nproc", "2"], "is a study"),
        (
            ["digits-mlp", "--nproc", "2", "--set", "ensemble.size=3"],
            "ensembles train their members together",
        ),
        (
            ["digits-mlp", "--nproc", "2", "--set", "training.regime='stochastic'"],
            "fewer than one per process",
        ),
        (["digits-cnn", "--nproc", "2"], "batch norm would normalise each process's share"),
        (["digits-mlp", "--nproc", "2", "--resume", "runs/x"], "resume the run in one process"),
    ],
)
def test_what_does_not_apply_is_refused_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = nnj("run", *args, "--out", str(tmp_path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not any(tmp_path.iterdir())  # nothing written
