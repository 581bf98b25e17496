"""The `nnj` command: list, show, run, study, runs, report, predict, generate, debug, sample,
lr-find, tune (and `nnj conv`, `nnj model` from cli_inspect.py, `nnj export` from cli_export.py).

Every user error is one line on stderr and exit code 2."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nnjournal.cli_errors import _OneLineUsageErrors, user_errors
from nnjournal.errors import NNJError

app = typer.Typer(
    cls=_OneLineUsageErrors,
    add_completion=False,
    no_args_is_help=True,
    # plain help text: docstrings reflow to the terminal, and "[search]" is a word, not a style
    rich_markup_mode=None,
    help="nnjournal: run deep-learning recipes and write journal entries.",
)
out = Console()

# Start-up time matters here (`nnj --help` should answer in well under a second): this module
# imports only typer, rich and nnjournal.errors at the top. Anything that pulls in torch, numpy,
# matplotlib or scikit-learn is imported inside the command that needs it.


def _print_version(value: bool) -> None:
    if value:
        from nnjournal import __version__

        typer.echo(f"nnjournal {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    # --version is handled by its eager callback before any command runs. The library's notes
    # (e.g. "no checkpoint: training again from epoch 1") go to stderr as one line each.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("note: %(message)s"))
    logging.getLogger("nnjournal").addHandler(handler)




@app.command("list")
@user_errors
def list_recipes() -> None:
    """List the built-in recipes."""
    from nnjournal import recipes

    table = Table("recipe", "what it does")
    for name in recipes.names():
        table.add_row(name, recipes.describe(name))
    out.print(table)


@app.command()
@user_errors
def show(
    recipe: Annotated[str, typer.Argument(help="recipe name or .toml path")],
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE")] = [],
    everything: Annotated[
        bool, typer.Option("--all", help="also the settings that do not apply to this task and data")
    ] = False,
) -> None:
    """Print a recipe with every setting filled in.

    Settings left unset show as `# key = (none)` comments."""
    from nnjournal import recipes
    from nnjournal.config.show import show_toml

    cfg = recipes.load(recipe, set_)
    typer.echo(show_toml(cfg, everything=everything), nl=False)


@app.command()
@user_errors
def run(
    recipe: Annotated[str | None, typer.Argument(help="recipe name or .toml path")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE, e.g. training.lr=3e-4")] = [],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for run directories")] = Path("runs"),
    seed: Annotated[int | None, typer.Option(help="random seed (overrides the recipe)", min=0, max=2**32 - 1)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or summary table")] = False,
    resume: Annotated[Path | None, typer.Option(help="continue an unfinished run directory")] = None,
    nproc: Annotated[int, typer.Option(help="data-parallel processes (torchrun; gloo on CPU, nccl on GPU)")] = 1,
) -> None:
    """Run a recipe and write its journal entry."""
    from nnjournal.experiment import run as run_recipe
    from nnjournal.journal.run_dir import check_out_folder

    if recipe is None and resume is None:
        raise NNJError("give a recipe name (see `nnj list`) or --resume RUN_DIR")
    if resume is not None and (resume / "tune.json").exists():  # its config.toml holds a [search]
        raise NNJError(f"{resume} is a hyperparameter search; resume it with: nnj tune --resume {resume}")
    check_out_folder(out_dir)
    if nproc != 1:  # issue 17: training/launch.py
        from nnjournal.training.launch import run_data_parallel

        run_dir, summary = run_data_parallel(
            recipe or "", set_, out=out_dir, seed=seed, quiet=quiet, resume=resume, nproc=nproc
        )
    else:
        result = run_recipe(recipe or "", set_, out=out_dir, seed=seed, quiet=quiet, resume=resume)
        run_dir, summary = result.run_dir, result.summary
    if not quiet:
        _print_results(summary)
    typer.echo(f"report: {run_dir / 'report.html'}")


def _print_results(summary: dict[str, Any]) -> None:
    metric = summary["headline"]["metric"]
    label = metric if metric.startswith(("val_", "test_")) else f"test {metric}"  # a study's own key
    table = Table("model", label, "kind", title=summary.get("title") or summary["recipe"])
    for name, v in summary["variants"].items():
        table.add_row(name, f"{v['test'][metric]:.4f}", "model")
    for name, v in summary["baselines"].items():
        table.add_row(name, f"{v[metric]:.4f}", "baseline")
    out.print(table)
    for line in summary["conclusion"]:
        out.print(f"- {line}")


@app.command()
@user_errors
def study(
    name: Annotated[
        str, typer.Argument(help="regularization, capacity, gd-regimes, rnn-gradients, gradients, init or tuning")
    ],
    recipe: Annotated[
        str | None, typer.Argument(help="recipe name or .toml path to study (default: the built-in NAME-study)")
    ] = None,
    profile: Annotated[str, typer.Option(help="quick (minutes) or default (the full study)")] = "default",
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE, e.g. study.seeds=3")] = [],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for run directories")] = Path("runs"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or summary table")] = False,
) -> None:
    """Run a study: many trainings compared in one journal entry.

    NAME is a study recipe (NAME-study), or a study of RECIPE: `nnj study tuning digits-mlp`
    runs the lecture's staged tuning protocol on digits-mlp.

    Choose the regularization study's techniques with
    --set "study.techniques=['none', 'dropout', 'weight-decay']"; an unknown name lists them all.
    """
    from nnjournal.experiment import run as run_recipe
    from nnjournal.journal.run_dir import check_out_folder
    from nnjournal.recipes import names
    from nnjournal.studies import STUDIES, recipe_for

    if name not in STUDIES:
        raise NNJError(f"unknown study {name!r}; choose from {', '.join(STUDIES)}")
    if profile not in ("quick", "default"):
        raise NNJError(f"--profile must be quick or default, got {profile!r}")
    if recipe is None and recipe_for(name) not in names():
        raise NNJError(f"nnj study {name} needs a RECIPE to study, e.g. `nnj study {name} digits-mlp`")
    check_out_folder(out_dir)
    study_sets = [f"study.name={name!r}"] if recipe is not None else []
    result = run_recipe(
        recipe or recipe_for(name), [*set_, *study_sets, f"study.profile={profile!r}"], out=out_dir, quiet=quiet
    )
    if not quiet:
        _print_results(result.summary)
    typer.echo(f"report: {result.run_dir / 'report.html'}")
    typer.echo(f"index: {result.run_dir.parent / 'index.html'}")


@app.command()
@user_errors
def runs(root: Annotated[Path, typer.Argument(help="folder holding run directories")] = Path("runs")) -> None:
    """Table of past runs, newest first."""
    from nnjournal.journal.run_dir import list_runs

    if root.exists() and not root.is_dir():
        raise NNJError(f"{root} is a file; give the folder holding run directories (default: runs)")
    rows = list_runs(root)
    if not rows:
        # a folder that is not there may be a typo: say so rather than only "no runs"
        missing = "" if root.exists() else " (the folder does not exist; `nnj run --out FOLDER` writes runs there)"
        typer.echo(f"no runs under {root}{missing}")
        return
    table = Table("run", "recipe", "status", "headline")
    for r in rows:
        h = r.get("headline") or {}
        headline = f"{h['metric']} {h['value']:.4f} ({h['variant']})" if h else ""
        table.add_row(r["run"], r.get("label") or "", r["status"], headline)
    out.print(table)


@app.command()
@user_errors
def report(run_dir: Annotated[Path, typer.Argument(help="a run directory")]) -> None:
    """Re-render a run's report.md and report.html from its files."""
    from nnjournal.journal.report import render_report

    md, page = render_report(run_dir)
    typer.echo(f"report: {page}")


@app.command()
@user_errors
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a finished run directory")],
    input_file: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="CSV, .npy or .npz (array x) of raw inputs; for an image model also an image file or a "
            "folder of images (searched recursively); for a forecaster the series as a CSV of date, value, "
            "forecast from its end",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="predictions CSV (default: INPUT_predictions.csv; - for standard output); for an "
            "image-to-image model the folder of output images (default: INPUT_outputs)",
        ),
    ] = None,
    variant: Annotated[
        str | None, typer.Option(help="which model of a multi-model run (default: the best)")
    ] = None,
    id_column: Annotated[
        list[str],
        typer.Option(
            "--id-column",
            help="tabular models: a column of INPUT copied beside each prediction (default: the training "
            "file's identifier columns, where INPUT has them); repeat for several",
        ),
    ] = [],
) -> None:
    """Predict with a saved model.

    Writes one CSV row per input: its identifier (an image's path,
    a table's id columns), the prediction and, for classifiers, a probability per class. An
    imputation model writes the input table back with its blank cells filled (INPUT_filled.csv);
    an image-to-image model (colorization, super-resolution, denoising) a folder of output
    images (INPUT_outputs/)."""
    from nnjournal import predict_images, predict_io
    from nnjournal.files import check_output_file
    from nnjournal.saved_model import load_model

    folder = predict_io.model_folder(run_dir, variant)
    trained = load_model(folder)
    if predict_images.writes_images(trained):  # image-to-image: a folder of PNGs, not a CSV
        if output is not None and str(output) == "-":
            raise NNJError("this model writes images: give a folder with --out, not - (standard output)")
        images = output or predict_images.default_folder(input_file)
        n = predict_images.predict_images(trained, input_file, images)
        typer.echo(f"{n} images written to {images} (index.csv lists each input)")
        return
    fills = hasattr(trained.task, "filled_table")  # an imputation model writes the table back, filled
    what, suffix = ("rows with their blanks filled", "_filled") if fills else ("predictions", "_predictions")
    target = None if output is not None and str(output) == "-" else output or predict_io.default_output(input_file, suffix)
    if target is not None:
        check_output_file(target, f"{suffix.strip('_')}.csv", source=input_file)
        if target.suffix.lower() not in ("", ".csv", ".txt"):
            raise NNJError(f"--out {target}: nnj predict writes CSV; name the file .csv (or - for standard output)")
    inputs = predict_io.inputs_for(input_file, trained, id_columns=id_column)
    for note in (
        predict_io.skipped_rows_note(inputs), predict_io.unseen_categories_note(trained, inputs), *inputs.notes
    ):
        if note is not None:
            typer.echo(note, err=True)
    if target is None:
        text, n = predict_io.predictions_csv(trained, inputs)
        typer.echo(text, nl=False)
        typer.echo(f"{n} {what} written to standard output", err=True)
        return
    n = predict_io.write_predictions(target, trained, inputs)
    typer.echo(f"{n} {what} written to {target}")


@app.command()
@user_errors
def generate(
    run_dir: Annotated[Path, typer.Argument(help="a finished language-model run directory")],
    prompt: Annotated[str, typer.Option(help="text to continue (characters of the training text)")] = "\n",
    length: Annotated[int, typer.Option(help="characters to generate (1 to 100,000)")] = 200,
    temperature: Annotated[float, typer.Option(help="0 = greedy; higher = more random")] = 1.0,
    top_k: Annotated[int | None, typer.Option("--top-k", help="sample among the k most likely only")] = None,
    seed: Annotated[int, typer.Option(help="the same seed gives the same text")] = 0,
    variant: Annotated[str | None, typer.Option(help="which model of a multi-model run")] = None,
) -> None:
    """Continue a prompt with a saved character language model.

    Prints the prompt followed by the new text."""
    import torch

    from nnjournal.journal.run_dir import read_summary
    from nnjournal.saved_model import load_model

    summary = read_summary(run_dir)
    folder = run_dir
    if len(summary["variants"]) > 1:
        name = variant or summary["headline"]["variant"]
        if name not in summary["variants"]:
            raise NNJError(f"unknown variant {name!r}; this run has {', '.join(summary['variants'])}")
        folder = run_dir / "variants" / name
    torch.set_num_threads(1)  # one character at a time: a second thread only synchronises
    trained = load_model(folder)
    out = sys.stdout

    def stream(text: str) -> None:  # the prompt, then each character as it is drawn: 100,000 take a minute
        out.write(text)
        out.flush()

    try:
        trained.generate(prompt, length, temperature=temperature, top_k=top_k, seed=seed, on_text=stream)
        out.write("\n")
        out.flush()
    except BrokenPipeError:  # `nnj generate ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # so exiting does not fail to flush


# ---- issue 15: nnj debug (debugging a network) -------------------------------------------
@app.command()
@user_errors
def debug(
    recipe: Annotated[str, typer.Argument(help="recipe name or .toml path")],
    profile: Annotated[str, typer.Option(help="quick (at most 5 epochs) or default (the recipe's epochs)")] = "quick",
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE")] = [],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for run directories")] = Path("runs"),
) -> None:
    """Debug a recipe's model (overfit, gradients, activations).

    Overfits a tiny batch, checks gradients numerically, records activation statistics and
    shows the worst mistakes."""
    from nnjournal.debugging.entry import PROFILES, run_debug

    if profile not in PROFILES:
        raise NNJError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    run_dir, summary = run_debug(recipe, set_, out=out_dir, profile=profile)
    for line in summary["conclusion"]:
        out.print(f"- {line}")
    typer.echo(f"report: {run_dir / 'report.html'}")


# ---- end of issue 15 block ----------------------------------------------------------------


# ---------------------------------------------------------------- GAN (issue 13)
@app.command()
@user_errors
def sample(
    run_dir: Annotated[Path, typer.Argument(help="a finished run directory of a GAN recipe")],
    n: Annotated[int, typer.Option("--n", help="number of images")] = 64,
    label: Annotated[int | None, typer.Option(help="class to draw (conditional GANs only)")] = None,
    seed: Annotated[int, typer.Option(help="noise seed: the same seed gives the same images")] = 0,
    output: Annotated[Path, typer.Option("--out", help="FILE.png (a grid) or FILE.npy (n, C, H, W) in [0, 1]")] = Path(
        "samples.png"
    ),
    variant: Annotated[str | None, typer.Option(help="which model of a multi-model run")] = None,
) -> None:
    """Draw images from a trained GAN, deterministically for a seed."""
    from nnjournal.sampling import check_output, sample_run, write_images

    check_output(output)
    images = sample_run(run_dir, n, label=label, seed=seed, variant=variant)
    write_images(images, output)
    typer.echo(f"{len(images)} images written to {output}")


from nnjournal.cli_inspect import conv_app, model_app  # noqa: E402  (after `app`: sub-commands)

app.add_typer(conv_app, name="conv")
app.add_typer(model_app, name="model")
from nnjournal.cli_export import export_command  # noqa: E402  (issue 17)

app.command("export")(export_command)


# ---------------------------------------------------------------- tuning (issue 14)
# The learning-rate range test and hyperparameter search; Optuna (the `tune` extra) is imported
# only inside `nnj tune`.


@app.command("lr-find")
@user_errors
def lr_find(
    recipe: Annotated[str, typer.Argument(help="recipe name or .toml path")],
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE")] = [],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for run directories")] = Path("runs"),
    start: Annotated[float, typer.Option(help="first learning rate")] = 1e-7,
    end: Annotated[float, typer.Option(help="last learning rate")] = 10.0,
    steps: Annotated[int, typer.Option(help="mini-batches in the sweep")] = 100,
) -> None:
    """The learning-rate range test: sweep the rate, suggest one.

    The rate grows exponentially over a short run; the suggestion is read off the loss curve."""
    from nnjournal.tuning.lr_find import run_lr_find

    if not 0 < start < end < float("inf"):  # an infinite end makes every step's rate infinite
        raise NNJError(f"need 0 < --start < --end < inf, got {start:g} and {end:g}")
    if not 3 <= steps <= 10_000:  # the sweep ends by itself when the loss diverges; 1e8 steps never would
        raise NNJError(f"--steps must be between 3 and 10000 (100 is usual), got {steps}")
    run_dir, result = run_lr_find(recipe, set_, out=out_dir, start_lr=start, end_lr=end, steps=steps)
    typer.echo(f"steepest descent: {result.steepest:.3g}" if result.steepest else "steepest descent: none")
    typer.echo(f"minimum / 10:     {result.min_over_10:.3g}" if result.min_over_10 else "minimum / 10: none")
    typer.echo(f"stopped: {result.stopped}")
    typer.echo(f"report: {run_dir / 'report.html'}")


@app.command()
@user_errors
def tune(
    recipe: Annotated[str | None, typer.Argument(help="recipe name or .toml path with a [search] table")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="override KEY=VALUE, e.g. search.n_trials=30")] = [],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for run directories")] = Path("runs"),
    workers: Annotated[int, typer.Option(help="processes on this machine sharing one study")] = 1,
    storage: Annotated[
        str | None, typer.Option(help="study storage: postgresql://... for many machines (default: a file in the run folder)")
    ] = None,
    study_name: Annotated[str | None, typer.Option(help="study to create or join (default: RECIPE-tune)")] = None,
    progress: Annotated[bool, typer.Option("--progress", help="progress bars of the final retraining")] = False,
    resume: Annotated[
        Path | None, typer.Option(help="continue a stopped search folder up to its search.n_trials trials")
    ] = None,
) -> None:
    """Hyperparameter search (Optuna) over the recipe's search space.

    The space is the recipe's [search] section; the best configuration is retrained, tested
    once and written to best.toml."""
    from nnjournal.tuning.study import run_tune

    if recipe is None and resume is None:
        raise NNJError("give a recipe with a [search] table, or --resume RUN_DIR of a stopped search")
    result = run_tune(
        recipe, set_, out=out_dir, workers=workers, storage=storage, study_name=study_name, quiet=not progress,
        resume=resume,
    )
    s = result.summary["search"]
    h = result.summary["headline"]
    typer.echo(f"best trial {s['best_trial']['number']}: val {s['metric']} {s['best_trial']['value']:.4f}; {s['best_params']}")
    typer.echo(f"retrained: test {h['metric']} {h['value']:.4f}")
    typer.echo(f"best config: {result.run_dir / 'best.toml'}")
    typer.echo(f"report: {result.run_dir / 'report.html'}")

# ---------------------------------------------------------------- end of tuning commands


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
