"""Interrupting `nnj run gan-collapse` and `nnj tune` with real signals to real processes.

A GAN run stopped by Ctrl-C or SIGTERM says how to resume in one line, exits 130, and the
resumed run ends with exactly the numbers of an uninterrupted one; one killed with SIGKILL
leaves a folder `nnj runs` lists and `nnj report` refuses in one line. A search stopped by
SIGTERM or SIGKILL mid-trial used to leave no way on (a traceback, or nothing at all): now
`nnj tune --resume RUN_DIR` keeps the finished trials, redoes the interrupted one and stops at
`search.n_trials`; best.toml appears only once the search and its retraining are done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_data
from test_bad_inputs import Nnj
from test_interruptions import nnj_process, wait_for_epochs

GAN_SETS = [
    "training.epochs=12", "training.checkpoint_every_s=0", "journal.plots=false", "data.max_train=2000",
    "task.samples=200", "task.classifier_epochs=1", "task.snapshots=2", "model.hidden=[64, 128]",
]  # fmt: skip

SEARCH = """recipe = "t-digits"
seed = 1
[data]
name = "digits"
[model]
name = "mlp"
hidden = [16]
[training]
epochs = 40
[training.early_stopping]
patience = 1000
[journal]
plots = false
[evaluation]
baselines = ["dummy"]
[search]
n_trials = 2
sampler = "random"
[search.space]
"training.optimizer.lr" = {low = 1e-3, high = 1e-1, log = true}
"""


def _gan_args(out: Path) -> list[str]:
    return ["run", "gan-collapse", "-q", "--out", str(out), *(a for s in GAN_SETS for a in ("--set", s))]


def _test_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())["variants"]["gan"]["test"]


def _one_line(err: str, command: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    assert lines[0].startswith("interrupted:") and command in lines[0], lines[0]


@pytest.fixture(scope="module")
def whole_gan(nnj: Nnj, tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    out = tmp_path_factory.mktemp("whole")
    rc, _, err = nnj(*_gan_args(out))
    assert rc == 0, err[-3000:]
    return _test_metrics(next(p for p in out.iterdir() if p.is_dir()))


def test_a_terminated_gan_run_resumes_to_the_uninterrupted_numbers(
    nnj: Nnj, whole_gan: dict, tmp_path: Path
) -> None:
    """SIGTERM, as a scheduler sends it; Ctrl-C takes the same path (tests/test_gan_recipes.py)."""
    proc = nnj_process(*_gan_args(tmp_path))
    run_dir = wait_for_epochs(tmp_path, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    _one_line(err, f"nnj run --resume {run_dir}")
    assert not (run_dir / "summary.json").exists() and not (run_dir / "failed.json").exists()
    rc, _, err = nnj("run", "--resume", str(run_dir), "-q")
    assert rc == 0, err[-3000:]
    epochs = [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 13))
    assert _test_metrics(run_dir) == whole_gan


def test_a_killed_gan_run_is_listed_and_refused_in_one_line(nnj: Nnj, tmp_path: Path) -> None:
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    proc = nnj_process(*_gan_args(tmp_path))
    run_dir = wait_for_epochs(tmp_path, 2, proc)
    proc.kill()
    proc.wait()
    rc, out, err = nnj("runs", str(tmp_path))
    assert rc == 0 and err == "" and "unfinished" in out, (out, err)
    rc, _, err = nnj("report", str(run_dir))
    assert rc == 2 and len(err.splitlines()) == 1 and "nnj run --resume" in err, err
    rc, out, err = nnj("show", str(run_dir / "config.toml"))
    assert rc == 0 and 'name = "gan"' in out, err


# ---------------------------------------------------------------- nnj tune
def _trials(run_dir: Path) -> dict[int, int | None]:
    """trial id -> Optuna's state code (1 complete, 3 failed; None while running), from the journal."""
    states: dict[int, int | None] = {}
    for line in (run_dir / "study.journal").read_text().splitlines():
        log = json.loads(line)
        if log.get("op_code") == 5:  # a trial created
            states.setdefault(log["trial_id"], None)
        if log.get("op_code") == 6:  # a trial's state set
            states[log["trial_id"]] = log["state"]
    return states


def _wait_for_trials(out: Path, n: int, proc, limit: float = 120) -> Path:
    deadline = time.time() + limit
    while time.time() < deadline and proc.poll() is None:
        for d in out.iterdir() if out.exists() else []:
            if (d / "study.journal").exists() and list(_trials(d).values()).count(1) >= n:
                return d
        time.sleep(0.05)
    raise AssertionError(f"the search never finished {n} trial(s) (exit {proc.poll()})")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_search_resumes_to_n_trials_keeping_the_finished_ones(
    nnj: Nnj, tmp_path: Path, sig
) -> None:
    recipe = tmp_path / "search.toml"
    recipe.write_text(SEARCH)
    out = tmp_path / "runs"
    proc = nnj_process("tune", str(recipe), "--out", str(out))
    run_dir = _wait_for_trials(out, 1, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGTERM:
        assert proc.returncode == 130, err[-3000:]
        _one_line(err, f"nnj tune --resume {run_dir}")
    kept = {i: s for i, s in _trials(run_dir).items() if s == 1}
    assert kept and not (run_dir / "best.toml").exists() and not (run_dir / "summary.json").exists()
    rc, _, err = nnj("report", str(run_dir))
    assert rc == 2 and "nnj tune --resume" in err, err

    rc, stdout, err = nnj("tune", "--resume", str(run_dir))
    assert rc == 0, err[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    trials = summary["search"]["trials"]
    assert len(trials) == 2 and all(t["state"] == "COMPLETE" for t in trials), trials
    states = _trials(run_dir)
    assert all(states[i] == 1 for i in kept)  # the finished trials were kept, not run again
    assert all(s in (1, 3) for s in states.values())  # the interrupted one closed as failed
    assert (run_dir / "best.toml").exists() and "best config:" in stdout


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_workers_of_a_search_killed_with_sigkill_stop_too(tmp_path: Path) -> None:
    """The parent of `nnj tune --workers 2` cannot stop its workers when SIGKILL ends it; they used
    to go on running the remaining trials. Now they stop within seconds."""
    recipe = tmp_path / "search.toml"
    recipe.write_text(SEARCH.replace("n_trials = 2", "n_trials = 400"))  # minutes of trials
    out = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with (tmp_path / "output.txt").open("w") as log:  # not a pipe: the workers would hold it open
        proc = subprocess.Popen(
            [sys.executable, "-m", "nnjournal", "tune", str(recipe), "--workers", "2", "--out", str(out)],
            env=env, stdout=log, stderr=log,
        )
    _wait_for_trials(out, 1, proc)
    workers = _children(proc.pid)
    assert len(workers) == 2, workers
    proc.kill()
    proc.wait(timeout=60)
    deadline = time.time() + 30
    try:
        while any(_running(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_running(w) for w in workers), "workers kept running after their parent was killed"
    finally:
        for w in workers:
            if _running(w):
                os.kill(w, signal.SIGKILL)
