"""Interrupting the autoencoder-application recipes of issue 18 (imputation-ae on a table,
superres-ae and colorization-ae on a photo folder) with real signals to real `nnj run`
processes: the interrupted run says how to resume in one line, exits 130, and the resumed run
ends with exactly the numbers of an uninterrupted one. A Ctrl-C after training (plots, baselines,
the journal) used to exit 130 without a word. Tables and photos are generated here."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from test_bad_inputs import Nnj
from test_bad_inputs_ae_apps import _photos
from test_interruptions import nnj_process, wait_for_epochs


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("files")
    _photos(d / "photos", per_class=12, side=32)
    rng = np.random.default_rng(2)
    n = 800
    age = rng.normal(40, 12, n)
    income = 500 * age + rng.normal(0, 3000, n)  # something to learn from the other cells
    city = rng.choice(["Oslo", "Paris", "Rome"], n)
    lines = ["age,income,city,y"] + [
        f"{'' if i % 13 == 0 else f'{age[i]:.1f}'},{income[i]:.0f},{city[i]},{int(rng.random() < 0.3)}"
        for i in range(n)
    ]
    (d / "table.csv").write_text("\n".join(lines) + "\n")
    return d


def _args(recipe: str, files: Path, out: Path, epochs: int) -> list[str]:
    sets = [f"training.epochs={epochs}", "training.checkpoint_every_s=0", "journal.plots=false"]
    if recipe == "imputation-ae":
        sets += [f"data.path={files / 'table.csv'}", "data.target=y", "data.id_columns=[]", "data.numeric=[]"]
        sets += ["data.positive_label=1", "training.early_stopping.patience=100", "training.batch_size=32"]
        sets += ["evaluation.baselines=['dummy']"]  # IterativeImputer: seconds, twice
    else:
        sets += [
            f"data.path={files / 'photos'}",
            "data.size=16",
            "training.batch_size=4",
            "model.channels=[8, 16]",
        ]
    return ["run", recipe, "-q", "--out", str(out), *[a for s in sets for a in ("--set", s)]]


def _test_metrics(run_dir: Path) -> dict:
    return {k: v["test"] for k, v in json.loads((run_dir / "summary.json").read_text())["variants"].items()}


def _whole(nnj: Nnj, args: list[str], out: Path) -> dict:
    rc, _, err = nnj(*args)
    assert rc == 0, err[-3000:]
    return _test_metrics(next(p for p in out.iterdir() if p.is_dir()))


def _one_line(err: str, run_dir: Path) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    assert lines[0].startswith("interrupted:") and f"nnj run --resume {run_dir}" in lines[0], lines[0]


@pytest.mark.parametrize(
    "recipe, sig",
    [("imputation-ae", signal.SIGINT), ("superres-ae", signal.SIGTERM)],
    ids=["imputation-SIGINT", "superres-SIGTERM"],
)
def test_a_signal_mid_training_then_resume_gives_the_uninterrupted_numbers(
    recipe: str, sig: signal.Signals, nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    epochs = 10
    whole = _whole(nnj, _args(recipe, files, tmp_path / "whole", epochs), tmp_path / "whole")
    proc = nnj_process(*_args(recipe, files, tmp_path / "part", epochs))
    run_dir = wait_for_epochs(tmp_path / "part", 2, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    _one_line(err, run_dir)
    assert not (run_dir / "summary.json").exists() and not (run_dir / "failed.json").exists()
    rc, _, err = nnj("run", "--resume", str(run_dir), "-q")
    assert rc == 0, err[-3000:]
    epochs_logged = [
        json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert epochs_logged == list(range(1, epochs + 1))
    assert _test_metrics(run_dir) == whole


def test_ctrl_c_while_the_journal_is_written_says_how_to_resume(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    """SIGINT once the trained model is saved (the plots and report are being made): one line
    with the resume command, exit 130; `nnj runs` lists the run; the resume ends with the
    uninterrupted numbers."""
    args = _args("colorization-ae", files, tmp_path / "part", 2)
    args[args.index("journal.plots=false")] = "journal.plots=true"
    proc = nnj_process(*args)
    run_dir = None
    deadline = time.time() + 120
    while run_dir is None and proc.poll() is None and time.time() < deadline:
        found = [p.parent for p in (tmp_path / "part").glob("*/model.safetensors")]
        run_dir = found[0] if found else None
        time.sleep(0.005)
    assert run_dir is not None, proc.communicate()[1][-3000:]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and not (run_dir / "summary.json").exists(), err[-3000:]
    _one_line(err, run_dir)
    rc, listing, err = nnj("runs", str(tmp_path / "part"))
    assert rc == 0 and run_dir.name[:10] in listing, err
    rc, _, err = nnj("run", "--resume", str(run_dir), "-q")
    assert rc == 0, err[-3000:]
    assert _test_metrics(run_dir) == _whole(nnj, args[:4] + [str(tmp_path / "whole")] + args[5:],
                                            tmp_path / "whole")  # fmt: skip
