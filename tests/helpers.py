"""Small helpers shared by tests: run the CLI in-process and read its streams."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from nnjournal.cli import app


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
