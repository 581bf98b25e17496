"""`nnj export`: a saved model as an ONNX or TorchScript file (registered in cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnjournal.cli_errors import user_errors


@user_errors
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="a finished run directory (or a folder holding model.json)")],
    fmt: Annotated[str, typer.Option("--format", help="onnx (needs the export extra) or torchscript")],
    output: Annotated[
        Path | None,
        typer.Option("--out", help="file to write (default: beside the model's weights, model.onnx / model.pt)"),
    ] = None,
    variant: Annotated[str | None, typer.Option(help="which model of a multi-model run (default: the best)")] = None,
) -> None:
    """Export a saved model, checked against PyTorch to 1e-5.

    Writes FILE and FILE.json (what each input and output is, and the preprocessing the graph
    does not do)."""
    from nnjournal.export import export_model

    done = export_model(run_dir, fmt.lower(), output, variant)
    names = ", ".join(o["name"] for o in done.meta["outputs"])
    typer.echo(f"{fmt.lower()} model written to {done.path} (outputs: {names}); sidecar {done.sidecar}")
    typer.echo(f"parity with PyTorch: max |difference| {done.max_error:.2g} (allowed 1e-05)")
