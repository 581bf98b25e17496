"""Interrupting the recurrent recipes (shakespeare-char's truncated BPTT, airline-lstm's
forecaster): Ctrl-C and SIGTERM save, print one line and exit 130, and `nnj run --resume`
finishes with exactly the numbers of an uninterrupted run; SIGKILL mid-epoch and after the
last epoch (while the journal is written) leaves nothing `nnj runs` or `nnj report` choke on,
and the resumed run again gives the uninterrupted numbers. Real processes and real signals
for the interrupted runs; the other commands run in children of the fork server
(tests/cli_fork_server.py), which skips the cold start. A small text and few epochs keep each
run to seconds."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from test_bad_inputs import Nnj
from test_interruptions import nnj_process, wait_for_epochs

from tests.conftest import require_data

QUIET = ["--set", "journal.plots=false", "--set", "training.checkpoint_every_s=0"]
LM_EPOCHS = 5


def _lm(text: Path) -> list[str]:
    return [
        "shakespeare-char", "--set", f"data.path={text}", "--set", "data.streams=8", "--set", "training.batch_size=8",
        "--set", "data.bptt=32", "--set", "data.eval_streams=4", "--set", "model.hidden=48",
        "--set", "model.embedding_dim=8", "--set", "task.sample_length=20", "--set", f"training.epochs={LM_EPOCHS}",
        "--set", f"training.early_stopping.patience={LM_EPOCHS}", *QUIET,
    ]  # fmt: skip


FORECAST = [
    "airline-lstm", "--set", "model.hidden=8", "--set", "training.epochs=40",
    "--set", "training.early_stopping.patience=40", "--set", "task.sarima=false", *QUIET,
]  # fmt: skip


@pytest.fixture(scope="module")
def text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "plays.txt"
    plays = require_data("text/tinyshakespeare.txt").read_text(encoding="utf-8")
    path.write_text(plays[:20_000], encoding="utf-8")
    return path


def _one_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def _test_numbers(run_dir: Path) -> dict:
    variants = json.loads((run_dir / "summary.json").read_text())["variants"]
    return {name: v["test"] for name, v in variants.items()}


@pytest.fixture(scope="module")
def whole(nnj: Nnj, text: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each recipe trained straight through, once: its run directory."""
    out = {}
    for recipe, args in (("shakespeare-char", _lm(text)), ("airline-lstm", FORECAST)):
        folder = tmp_path_factory.mktemp(f"whole-{recipe}")
        rc, _, err = nnj("run", *args, "--quiet", "--out", str(folder))
        assert rc == 0, err[-3000:]
        out[recipe] = _one_run(folder)
    return out


def _resume(nnj: Nnj, run_dir: Path) -> None:
    rc, _, err = nnj("run", "--resume", str(run_dir), "--quiet")
    assert rc == 0, err[-3000:]


@pytest.mark.parametrize(
    ("recipe", "sig"),
    [("shakespeare-char", signal.SIGINT), ("airline-lstm", signal.SIGTERM)],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_saves_and_the_resumed_run_equals_the_whole_one(
    recipe: str, sig: signal.Signals, nnj: Nnj, text: Path, whole: dict[str, Path], tmp_path: Path
) -> None:
    args = _lm(text) if recipe == "shakespeare-char" else FORECAST
    proc = nnj_process("run", *args, "--quiet", "--out", str(tmp_path))
    run_dir = wait_for_epochs(tmp_path, 2, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and len(lines) == 1 and "Traceback" not in err, (
        proc.returncode,
        err[-3000:],
    )
    assert lines[0].startswith("interrupted:") and f"nnj run --resume {run_dir}" in lines[0], lines[0]
    assert not (run_dir / "summary.json").exists() and not (run_dir / "failed.json").exists()
    _resume(nnj, run_dir)
    epochs = [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, len(epochs) + 1)), epochs  # no epoch lost or logged twice
    assert _test_numbers(run_dir) == _test_numbers(whole[recipe])


def _listings_survive(nnj: Nnj, out: Path, run_dir: Path) -> None:
    """`nnj runs` lists the folder and `nnj report` renders the run or refuses it in one line."""
    rc, _, err = nnj("runs", str(out))
    assert rc == 0 and "Traceback" not in err, err[-2000:]
    rc, _, err = nnj("report", str(run_dir))
    assert "Traceback" not in err and (rc == 0 or (rc == 2 and len(err.strip().splitlines()) == 1)), (rc, err)


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def test_kill_9_mid_epoch_and_in_the_journal_then_resume(
    nnj: Nnj, text: Path, whole: dict[str, Path], tmp_path: Path
) -> None:
    """SIGKILL in the second epoch, then again once the last epoch is logged (the baselines,
    samples, summary and report are being written): each time the listings survive, and the
    run resumed to the end has the uninterrupted numbers."""
    proc = nnj_process("run", *_lm(text), "--quiet", "--out", str(tmp_path))
    run_dir = wait_for_epochs(tmp_path, 1, proc)
    _kill(proc)
    _listings_survive(nnj, tmp_path, run_dir)
    proc = nnj_process("run", "--resume", str(run_dir), "--quiet")
    wait_for_epochs(tmp_path, LM_EPOCHS, proc)
    _kill(proc)
    _listings_survive(nnj, tmp_path, run_dir)
    if not (run_dir / "summary.json").exists():
        _resume(nnj, run_dir)
    assert _test_numbers(run_dir) == _test_numbers(whole["shakespeare-char"])
    assert (run_dir / "report.html").exists() and list(run_dir.rglob(".*.tmp")) == []
    _listings_survive(nnj, tmp_path, run_dir)


def test_resume_of_a_finished_or_missing_run_is_one_line(
    nnj: Nnj, whole: dict[str, Path], tmp_path: Path
) -> None:
    for target in (whole["airline-lstm"], tmp_path / "nowhere"):
        rc, _, err = nnj("run", "--resume", str(target))
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err[-2000:]
