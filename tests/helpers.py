"""Small helpers shared by tests: run the CLI in-process and read its streams; train a model
straight through and again killed mid-run then resumed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from torch import nn
from typer.testing import CliRunner

from nnjournal.cli import app
from nnjournal.training.checkpoint import checkpoint_file
from nnjournal.training.fit import fit


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def nnj(*args: str) -> CliResult:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


class Killed(Exception):
    """What the tests' epoch hook raises to stop a run as a kill would."""


def uninterrupted_and_resumed(
    make: Callable[[], nn.Module], train: Any, val: Any, cfg: Any, stem: Path, kill_at: int, seed: int = 3
) -> tuple[nn.Module, nn.Module, Any]:
    """(a model trained straight through, the same model killed at the end of epoch index
    `kill_at` and resumed from its checkpoint at `stem`, the resumed run's history)."""
    full = make()
    fit(full, train, val, config=cfg, seed=seed)

    def kill(epoch: int, record: dict[str, Any]) -> None:
        if epoch == kill_at:
            raise Killed

    with pytest.raises(Killed):
        fit(make(), train, val, config=cfg, seed=seed, checkpoint=stem, on_epoch_end=[kill])
    assert checkpoint_file(stem).exists()
    resumed = make()
    history = fit(resumed, train, val, config=cfg, seed=seed, checkpoint=stem, resume=True)
    return full, resumed, history
