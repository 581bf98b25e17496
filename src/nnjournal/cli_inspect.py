"""`nnj conv` (convolution arithmetic, classic filters) and `nnj model` (what a recipe builds)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnjournal.cli_errors import user_errors

conv_app = typer.Typer(no_args_is_help=True, help="Convolution arithmetic and classic hand-made filters.")
model_app = typer.Typer(no_args_is_help=True, help="Inspect the model a recipe builds.")


@conv_app.command("explain")
@user_errors
def conv_explain(
    input_size: Annotated[int, typer.Option("--input", help="input size n along one dimension")],
    kernel: Annotated[int, typer.Option(help="kernel size k")],
    stride: Annotated[int, typer.Option(help="stride s")] = 1,
    padding: Annotated[int, typer.Option(help="zero padding p on each side")] = 0,
    dilation: Annotated[int, typer.Option(help="dilation d")] = 1,
) -> None:
    """Output size of a convolution, with the formula and a worked example."""
    from nnjournal.conv_explain import explain

    typer.echo(explain(input_size, kernel, stride, padding, dilation))


@conv_app.command("filters")
@user_errors
def conv_filters(
    image: Annotated[Path, typer.Argument(help="a JPEG/PNG image")],
    output: Annotated[
        Path | None,
        typer.Option("--out", help="PNG to write (default: IMAGE_filters.png in the current folder)"),
    ] = None,
) -> None:
    """Apply identity, three edge detectors, sharpen, box and Gaussian blur to an image."""
    from nnjournal.classic_filters import KERNELS, apply_all, load_grey
    from nnjournal.files import check_output_file
    from nnjournal.journal.plots import filter_gallery

    # Not beside the image: in a class folder the figure would become a training photo.
    target = output or Path(image.stem + "_filters.png")
    check_output_file(target)
    grey = load_grey(image)
    filter_gallery(apply_all(grey), KERNELS, f"Classic 3x3/5x5 kernels applied to {image.name}", target)
    typer.echo(f"{len(KERNELS)} filtered images written side by side to {target}")


@model_app.command("summary")
@user_errors
def model_summary(
    recipe: Annotated[str, typer.Argument(help="recipe name or .toml path")],
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE")] = [],
) -> None:
    """Each layer's output shape and parameter count (loads the recipe's data for its shape)."""
    import torch

    from nnjournal import data, models, recipes, tasks
    from nnjournal.models.recurrent_builders import RECURRENT_BUILDERS
    from nnjournal.models.summary import format_summary, summarize

    cfg = recipes.load(recipe, set_)
    for name, vcfg in cfg.variant_configs().items():
        bundle = data.load(vcfg.data, seed=vcfg.seed, task=tasks.task_class(vcfg.task).data_kind)
        info = bundle.info
        task = tasks.build_task(vcfg.task, info)
        model = models.build(vcfg.model, info, task.out_features)
        if len(cfg.variants) > 0:
            typer.echo(f"== {name}")
        if vcfg.model.name in RECURRENT_BUILDERS:  # ids, lengths, a target: the task's own step calls it
            first = bundle.train.take(torch.arange(1))
            model.example_forward = lambda n, first=first, task=task, m=model: task.evaluation_step(m, first)
        rows = summarize(model, info.input_shape)
        typer.echo(format_summary(rows, info.input_shape, models.count_parameters(model)))
