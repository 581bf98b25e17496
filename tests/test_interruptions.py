"""Nothing lost: a run killed (SIGKILL) at any moment resumes to the numbers of an
uninterrupted run; Ctrl-C saves, says how to resume in one line and exits 130; a diverging
run stops at once with a diagnosis and is marked failed; a full disk is one line and leaves
nothing half-written. Real processes, real signals, a real (tiny) tmpfs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FAST = [
    "--set", "training.epochs=25",
    "--set", "training.early_stopping.patience=25",
    "--set", "journal.plots=false",
    "--set", "evaluation.baselines=[]",
]  # fmt: skip


def nnj_process(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "nnjournal", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )


def nnj_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = nnj_process(*args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def read_test_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())["variants"]["mlp"]["test"]


def wait_for_epochs(out: Path, n: int, proc: subprocess.Popen, limit: float = 120) -> Path:
    deadline = time.time() + limit
    while time.time() < deadline and proc.poll() is None:
        for d in out.iterdir() if out.exists() else []:
            log = d / "metrics.jsonl"
            if log.exists() and len(log.read_text().splitlines()) >= n:
                return d
        time.sleep(0.05)
    raise AssertionError(f"the run never logged {n} epochs (exit {proc.poll()})")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("whole")
    done = nnj_run("run", "digits-mlp", "--quiet", "--out", str(out), *FAST)
    assert done.returncode == 0, done.stderr
    return read_test_metrics(next(p for p in out.iterdir() if p.is_dir()))


def test_ctrl_c_saves_prints_one_line_and_the_resumed_run_equals_the_whole_one(tmp_path, uninterrupted):
    proc = nnj_process("run", "digits-mlp", "--quiet", "--out", str(tmp_path), *FAST)
    run_dir = wait_for_epochs(tmp_path, 4, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("interrupted:") and f"nnj run --resume {run_dir}" in lines[0]
    assert not (run_dir / "summary.json").exists() and not (run_dir / "failed.json").exists()
    resumed = nnj_run("run", "--resume", str(run_dir), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 26))
    assert read_test_metrics(run_dir) == uninterrupted


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_numbers(tmp_path, uninterrupted):
    """Three SIGKILLs at seeded random moments (checkpoint every epoch); the 20-kill version
    is benchmarks/kill_resume.py."""
    rng = random.Random(11)
    proc = nnj_process("run", "digits-mlp", "--quiet", "--out", str(tmp_path), *FAST,
                       "--set", "training.checkpoint_every_s=0")  # fmt: skip
    run_dir = wait_for_epochs(tmp_path, 1, proc)
    for _ in range(3):
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait()
        if (run_dir / "summary.json").exists():
            break
        proc = nnj_process("run", "--resume", str(run_dir), "--quiet")
    proc.communicate(timeout=300)
    if not (run_dir / "summary.json").exists():
        assert nnj_run("run", "--resume", str(run_dir), "--quiet").returncode == 0
    assert read_test_metrics(run_dir) == uninterrupted
    assert list(run_dir.rglob(".*.tmp")) == []


def test_a_diverging_run_stops_at_once_with_a_diagnosis_and_is_marked_failed(tmp_path):
    done = nnj_run(
        "run", "digits-mlp", "--quiet", "--out", str(tmp_path),
        "--set", "training.optimizer.name=sgd", "--set", "training.optimizer.lr=1e12",
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    line = lines[0]
    assert "diverged" in line and "epoch 1" in line and "learning rate 1e+12" in line, line
    assert "training.optimizer.lr" in line  # what to try
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    assert "diverged" in json.loads((run_dir / "failed.json").read_text())["error"]
    assert not (run_dir / "summary.json").exists()
    listed = nnj_run("runs", str(tmp_path))
    assert "failed" in listed.stdout


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        if os.environ.get("CI"):
            pytest.fail("cannot mount a tmpfs in CI (root is needed)")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_leaves_no_half_written_run(tiny_disk):
    done = nnj_run("run", "digits-mlp", "--quiet", "--out", str(tiny_disk), *FAST)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "no space left" in lines[0] and "--out" in lines[0]
    assert [p.name for p in tiny_disk.iterdir() if p.is_dir()] == []  # nothing half-written
