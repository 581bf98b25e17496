"""Bad inputs to the GAN recipes, `nnj sample`, `nnj tune`, `nnj lr-find`, `nnj debug`, the
studies and `nnj model summary`, through the real `nnj` command line, each in a forked child
(tests/cli_fork_server.py, as in test_bad_inputs.py).

Each case here once failed: a traceback (Adam's beta check, an allocation of 100 TB, a seed
torch cannot take, SQLAlchemy's URL parser, Optuna appending to a file that is not its
journal), a refusal only after the run directory was made (supervised options for a GAN, a
search with no validation split, nnj debug / nnj study on a GAN), or a run that finished with
nonsense (a generator that never stepped, a GAN judged by a one-class classifier). Now: exit
code 2, one `error:` line saying what and how to fix, nothing written. The probes that behaved
well are listed in docs/benchmarks.md ("Bad inputs and interruptions of the GAN, tuning and debugging commands"). Photos and recipes are generated here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import require_data
from PIL import Image
from test_bad_inputs import Case, Nnj, recipe_run

GAN_FAST = ["task.samples=20", "task.classifier_epochs=1", "task.snapshots=0"]

SEARCH = """recipe = "t-digits"
seed = 1
[data]
name = "digits"
[model]
name = "mlp"
hidden = [8]
[training]
epochs = 1
[journal]
plots = false
[evaluation]
baselines = ["dummy"]
[search]
n_trials = 2
sampler = "random"
[search.space]
"""
LR = '"training.optimizer.lr" = {low = 1e-3, high = 1e-1, log = true}\n'


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    (d / "flat").mkdir()  # someone's photos, not sorted into classes
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(d / "flat" / f"{i}.png")
    (d / "a_file").write_text("not a folder\n")
    (d / "grid.png").mkdir()  # a folder with an image's name
    (d / "notes.journal").write_text("my notes, not Optuna's\n")
    recipes = {
        "search_ok": LR,
        "search_inf": '"training.optimizer.lr" = {low = 1e-3, high = inf, log = true}\n',
        "search_big_step": '"training.optimizer.lr" = {low = 0.01, high = 0.02, step = 0.5}\n',
    }
    for name, space in recipes.items():
        (d / f"{name}.toml").write_text(SEARCH + space)
    (d / "search_cv_5000.toml").write_text(SEARCH.replace("n_trials = 2", "n_trials = 2\ncv = 5000") + LR)
    (d / "search_no_val.toml").write_text(
        SEARCH.replace('name = "digits"', 'name = "digits"\nval_fraction = 0.0') + LR
    )
    (d / "not_a_search").mkdir()  # a plain run folder
    (d / "not_a_search" / "config.toml").write_text(SEARCH + LR)
    (d / "a_search").mkdir()  # what a stopped `nnj tune` leaves before its first trial ends
    (d / "a_search" / "config.toml").write_text(SEARCH + LR)
    (d / "a_search" / "tune.json").write_text(json.dumps({"study_name": "t-digits-tune", "storage": None}))
    return d


@pytest.fixture(scope="module")
def gan_run(nnj: Nnj, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    runs = tmp_path_factory.mktemp("runs")
    sets = ["training.epochs=1", "data.max_train=200", "journal.plots=false", *GAN_FAST]
    rc, _, err = nnj(
        "run", "gan-collapse", "-q", "--out", str(runs), *(a for s in sets for a in ("--set", s))
    )
    assert rc == 0, err
    return next(p for p in runs.iterdir() if p.is_dir())


def gan(id: str, recipe: str, expect: str, *sets: str) -> Case:
    return recipe_run(id, recipe, expect, "data.max_train=200", *GAN_FAST, *sets)


def photos_gan(id: str, recipe: str, expect: str, *sets: str) -> Case:
    folder = ["data.name='image-folder'", "data.path='{f}/flat'", "data.size=8", "data.classes=false"]
    return recipe_run(id, recipe, expect, *folder, *GAN_FAST, *sets)


def sample(id: str, expect: str, *extra: str, run: str = "{gan}", damage: str | None = None) -> Case:
    args = ["sample", run, "--n", "4", "--out", "{out}/x.png", *extra]
    return Case(id, args, expect, damage)


def tune(id: str, recipe: str, expect: str, *extra: str) -> Case:
    return Case(id, ["tune", f"{{f}}/{recipe}.toml", "--out", "{out}", *extra], expect)


MNIST_CASES = [
    # GAN recipes: refused by the config or the preflight, before the run directory exists
    gan(
        "gan beta1 = 1",
        "gan-collapse",
        "training.adversarial.betas",
        "training.adversarial.betas=[1.0, 0.999]",
    ),
    gan(
        "gan beta1 negative",
        "gan-collapse",
        "training.adversarial.betas",
        "training.adversarial.betas=[-0.5, 0.9]",
    ),
    gan("gan infinite lr_d", "gan-collapse", "training.adversarial.lr_d", "training.adversarial.lr_d=inf"),
    gan(
        "gan supervised option",
        "gan-collapse",
        "training.optimizer is a supervised",
        "training.optimizer.lr=0.1",
    ),
    gan(
        "gan n_critic above the batches",
        "gan-collapse",
        "generator would never step",
        "training.adversarial.n_critic=50",
    ),
    gan("gan 100 million samples", "gan-collapse", "task.samples", "task.samples=100000000"),
    gan("gan latent of 1e11", "gan-collapse", "do not fit in memory", "model.latent=100000000000"),
    # nnj sample
    sample("sample a billion images", "draws at most", "--n", "1000000000"),
    sample("sample seed above 2**64", "--seed", "--seed", str(2**70)),
    sample("sample out is a folder", "is a folder", "--out", "{f}/grid.png"),
    sample("sample out under a file", "is a file, not a folder", "--out", "{f}/a_file/x.png"),
    sample("sample out in /proc", "nothing can be written in /proc", "--out", "/proc/nnj-samples.png"),
    sample("sample unknown variant", "unknown --variant 'nope'", "--variant", "nope"),
    sample("sample model.json empty", "not valid JSON", run="{run}", damage="model.json empty"),
    sample("sample unfinished run", "did not finish", run="{run}", damage="summary.json missing"),
    # other commands on a GAN recipe
    Case(
        "lr-find on a GAN",
        ["lr-find", "gan-mnist", "--steps", "5", "--out", "{out}"],
        "tune training.adversarial.lr_d",
    ),
    Case("debug a GAN", ["debug", "gan-mnist", "--out", "{out}"], "supervised trainer"),
    Case(
        "study capacity on a GAN",
        ["study", "capacity", "gan-mnist", "--profile", "quick", "--out", "{out}"],
        "compares models trained by the supervised trainer",
    ),
    Case(
        "study gradients on a GAN",
        ["study", "gradients", "gan-mnist", "--profile", "quick", "--out", "{out}"],
        "compares models trained by the supervised trainer",
    ),
    Case(
        "model summary of a 100 TB GAN",
        ["model", "summary", "gan-mnist", "--set", "model.latent=100000000000"],
        "do not fit in memory",
    ),
]

CASES = [
    # A photo folder without class sub-folders: one class, nothing for the evaluation classifier
    photos_gan("cgan on unsorted photos", "cgan-mnist", "sort the photos into at least two class"),
    photos_gan("gan on unsorted photos", "gan-collapse", "has one class"),
    # nnj tune
    tune("tune more folds than rows", "search_cv_5000", "search.cv = 5000 folds"),
    tune("tune infinite range end", "search_inf", "must be finite"),
    tune("tune step larger than the range", "search_big_step", "lower the step"),
    tune("tune no validation split", "search_no_val", "set data.val_fraction > 0"),
    tune(
        "tune storage typo", "search_ok", "the folder postgres: does not exist", "--storage", "postgres:/db"
    ),
    tune(
        "tune sqlite in a missing folder",
        "search_ok",
        "does not exist",
        "--storage",
        "sqlite:///{f}/nope/s.db",
    ),
    tune("tune sqlite URL malformed", "search_ok", "is not a database URL", "--storage", "sqlite:/s.db"),
    tune("tune journal is a folder", "search_ok", "is a folder", "--storage", "{f}"),
    tune(
        "tune journal in a missing folder", "search_ok", "does not exist", "--storage", "{f}/nope/s.journal"
    ),
    tune(
        "tune journal is another file",
        "search_ok",
        "not an Optuna journal file",
        "--storage",
        "{f}/notes.journal",
    ),
    Case("tune resume a plain run", ["tune", "--resume", "{f}/not_a_search"], "not a folder `nnj tune` made"),
    Case(
        "tune resume with a recipe",
        ["tune", "{f}/search_ok.toml", "--resume", "{f}/a_search"],
        "leave out RECIPE",
    ),
    Case("run resume of a search", ["run", "--resume", "{f}/a_search"], "nnj tune --resume"),
    Case("tune without recipe", ["tune", "--out", "{out}"], "--resume RUN_DIR"),
    Case("tune empty study name", ["tune", "digits-mlp", "--study-name", " ", "--out", "{out}"], "--study-name is empty"),
    # nnj lr-find / nnj debug
    Case(
        "lr-find 100 million steps",
        ["lr-find", "digits-mlp", "--steps", "100000000", "--out", "{out}"],
        "--steps",
    ),
    Case("lr-find infinite end", ["lr-find", "digits-mlp", "--end", "inf", "--out", "{out}"], "< inf"),
]


def _check(case: Case, nnj: Nnj, files: Path, tmp_path: Path, gan_run: Path | None = None) -> None:
    from test_bad_inputs import DAMAGE, _snapshot

    out, run = tmp_path / "out", tmp_path / "run"
    if case.damage is not None:
        import shutil

        assert gan_run is not None
        shutil.copytree(gan_run, run)
        DAMAGE[case.damage](run, {})
    places = {"f": files, "out": out, "gan": gan_run or "", "run": run}
    args = [a.format(**{k: str(v) for k, v in places.items()}) for a in case.args]
    before, notes = _snapshot(run), (files / "notes.journal").read_bytes()
    rc, stdout, stderr = nnj(*args, cwd=tmp_path)
    lines = stderr.splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in stderr, (rc, stderr[-3000:], stdout[-500:])
    assert lines[0].startswith("error: ") and case.expect in lines[0], lines[0]
    # Nothing half-written: no run directory, no image, the damaged run and the user's file untouched.
    assert not out.exists() or [p.name for p in out.iterdir()] == [], list(out.iterdir())
    assert _snapshot(run) == before and (files / "notes.journal").read_bytes() == notes


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: Case, nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    _check(case, nnj, files, tmp_path)


@pytest.mark.parametrize("case", MNIST_CASES, ids=[c.id for c in MNIST_CASES])
def test_bad_gan_input_is_one_line_exit_2_and_leaves_nothing(
    case: Case, nnj: Nnj, files: Path, gan_run: Path, tmp_path: Path
) -> None:
    _check(case, nnj, files, tmp_path, gan_run)


def test_debug_refuses_ordered_streams_before_the_run_directory(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    """nnj debug cuts 32 shuffled rows; a truncated-BPTT text cannot be (it said 'set
    training.batch_size = 64', a setting debug itself overrides, after making the folder)."""
    require_data("text/tinyshakespeare.txt")
    _check(
        Case("debug char-lm", ["debug", "shakespeare-char", "--out", "{out}"], "ordered streams"),
        nnj,
        files,
        tmp_path,
    )


def test_model_summary_of_a_gan_lists_generator_then_discriminator(nnj: Nnj, tmp_path: Path) -> None:
    """It fed an image to G, which takes noise: a traceback."""
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    rc, stdout, stderr = nnj("model", "summary", "cgan-mnist", cwd=tmp_path)
    assert rc == 0, stderr[-2000:]
    rows = [
        line.split()[0] for line in stdout.splitlines() if line.startswith(("generator.", "discriminator."))
    ]
    assert rows[0] == "generator.embed" and rows[-1] == "discriminator.rest.3", stdout
    assert "total trainable parameters: 1,091,701" in stdout
