"""Bad inputs to the autoencoder-application recipes of issue 18 (imputation-ae,
anomaly-ae-churn, colorization-ae, superres-ae, watermark-ae[-photos]) through the real `nnj`
command line, each in a forked child (tests/cli_fork_server.py, as in test_bad_inputs.py).

Each case here once failed: a traceback after the run directory was made (an output of another
shape than the target, a BCE loss on values outside 0..1, an image transform asked of a table,
text the watermark font cannot draw), or a message that said nothing of how to fix it. Now:
exit code 2, one `error:` line naming the setting, no run directory. The probes that behaved
well are listed in docs/benchmarks.md ("Bad inputs and interruptions of the autoencoder
applications"). The photos and tables are generated here, so no shared data is needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_bad_inputs import TRAIN, Case, Nnj, check_refused, recipe_run

from nnjournal.saved_model import load_model


def _photos(root: Path, per_class: int = 8, side: int = 24) -> Path:
    """Two class folders of smooth colour photos (gradients with a random tint)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, side)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            tint = rng.uniform(0.2, 1.0, 3)
            img = ramp[None, :, None] * ramp[:, None, None] * tint[None, None, :]
            Image.fromarray((img * 255).astype(np.uint8)).save(root / cls / f"{i}.png")
    return root


def _table(path: Path, columns: dict[str, list[str]]) -> None:
    rows = zip(*columns.values(), strict=True)
    path.write_text("\n".join(",".join(r) for r in [list(columns), *rows]) + "\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("files")
    _photos(d / "photos")
    (d / "flat").mkdir()  # someone's photos, not sorted into classes
    for f in sorted((d / "photos").rglob("*.png")):
        (d / "flat" / f"{f.parent.name}-{f.name}").write_bytes(f.read_bytes())
    rng = np.random.default_rng(1)
    n = 120
    y = ["1" if rng.random() < 0.25 else "0" for _ in range(n)]
    age = [f"{rng.normal(40, 12):.1f}" for _ in range(n)]
    city = [str(rng.choice(["Oslo", "Paris", "Rome"])) for _ in range(n)]
    member = [str(rng.choice(["Yes", "No"])) for _ in range(n)]
    _table(d / "mixed.csv", {"age": age, "city": city, "member": member, "y": y})
    _table(d / "booleans.csv", {"member": member, "y": y})
    _table(d / "no_numbers.csv", {"city": city, "member": member, "y": y})
    blanks = ["" if i % 5 == 0 else a for i, a in enumerate(age)]
    _table(d / "blanks.csv", {"age": blanks, "city": city, "member": member, "y": y})
    return d


def photo_run(id: str, recipe: str, expect: str, *sets: str, size: int = 16) -> Case:
    return recipe_run(id, recipe, expect, "data.path={f}/photos", f"data.size={size}", *sets)


def table_run(id: str, recipe: str, file: str, expect: str, *sets: str) -> Case:
    fixed = [f"data.path={{f}}/{file}", "data.target=y", "data.id_columns=[]", "data.positive_label='1'"]
    if recipe == "imputation-ae":
        fixed.append("data.numeric=[]")
    return recipe_run(id, recipe, expect, *fixed, *sets)

CASES = [
    # The model's output must have the target's shape; found by a forward pass in the preflight.
    photo_run("conv sides not divisible by the poolings", "colorization-ae", "divisible by 4", size=15),
    photo_run(
        "U-Net sides not divisible (was: a failed run directory)", "superres-ae", "U-Net needs", size=14
    ),
    photo_run(
        "downsampled input without upscaling", "superres-ae", "set model.upscale = 2", "model.upscale=1"
    ),
    photo_run(
        "upscaling without downsampling",
        "watermark-ae-photos",
        "set model.upscale = 1",
        "model.upscale=3",
        size=32,
    ),  # fmt: skip
    Case(
        "photos not sorted into classes",
        ["run", "colorization-ae", "-q", "--out", "{out}", "--set", "data.path={f}/flat", *TRAIN],
        "set data.classes = false",
    ),
    photo_run(
        "bce on linear outputs", "superres-ae", "set model.output_activation = 'sigmoid'", "task.loss=bce"
    ),
    photo_run(
        "flip = true names its section", "colorization-ae", "task: flip = true is not valid", "task.flip=true"
    ),
    photo_run(
        "watermark text outside Latin-1",
        "watermark-ae-photos",
        "cannot draw",
        "training.augment.watermark.text='© 日本'",
        size=32,
    ),
    table_run(
        "image transform of a table",
        "anomaly-ae-churn",
        "mixed.csv",
        "needs image data",
        "task.input_transform=grayscale",
    ),  # fmt: skip
    table_run(
        "normal class that is no class",
        "anomaly-ae-churn",
        "mixed.csv",
        "task.normal_class = 5 is no training",
        "task.normal_class=5",
    ),  # fmt: skip
    table_run(
        "bce on standardized columns",
        "anomaly-ae-churn",
        "mixed.csv",
        "needs targets in 0..1",
        "task.loss=bce",
        "model.output_activation=sigmoid",
    ),  # fmt: skip
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: Case, nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    check_refused(case, nnj, files, tmp_path)


def _one_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def test_integer_positive_label_and_a_table_pca_reconstructs_exactly(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    """`--set data.positive_label=1` (a TOML integer) names the label "1" instead of failing
    "should be a valid string"; on a one-feature table PCA at the code size reconstructs
    exactly (MSE 0), which the conclusion says instead of dividing by zero."""
    case = table_run("", "anomaly-ae-churn", "booleans.csv", "")
    args = [a.format(f=files, out=tmp_path / "out") for a in case.args]
    args += ["--set", "data.positive_label=1", "--set", "evaluation.baselines=['dummy', 'pca']"]
    rc, _, stderr = nnj(*args, cwd=tmp_path)
    assert rc == 0, stderr[-3000:]
    summary = json.loads((_one_run(tmp_path / "out") / "summary.json").read_text())
    assert any("reconstructs the test set exactly (MSE 0)" in line for line in summary["conclusion"])
    # a table's reconstruction is not one value per row: nnj predict says so at once
    rc, _, stderr = nnj("predict", str(_one_run(tmp_path / "out")), str(files / "booleans.csv"), cwd=tmp_path)
    assert rc == 2 and len(stderr.splitlines()) == 1 and "returns a reconstruction per input" in stderr


def test_photos_not_sorted_into_classes_train_with_data_classes_false(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    """A flat folder of photos (or a single class folder) is what image-to-image users have."""
    for folder in ("flat", "photos/a"):
        out = tmp_path / folder.replace("/", "-")
        rc, _, stderr = nnj(
            "run", "superres-ae", "-q", "--out", str(out), "--set", f"data.path={files / folder}",
            "--set", "data.size=8", "--set", "data.classes=false", "--set", "model.channels=[8, 16]", *TRAIN,
        )  # fmt: skip
        assert rc == 0, stderr[-3000:]
        sizes = json.loads((_one_run(out) / "summary.json").read_text())["data"]["sizes"]
        assert sum(sizes.values()) == (16 if folder == "flat" else 8), sizes


def test_a_saved_colorization_model_loads_with_its_colour_decoder(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    """Grey in, colour out: the saved task keeps the target's 3 channels (it used to rebuild a
    1-channel decoder from the grey input shape, and loading said "weights of another model?")."""
    case = photo_run("", "colorization-ae", "", size=8)
    rc, _, stderr = nnj(*[a.format(f=files, out=tmp_path / "out") for a in case.args], cwd=tmp_path)
    assert rc == 0, stderr[-3000:]
    trained = load_model(_one_run(tmp_path / "out"))
    assert trained.info.input_shape == (1, 8, 8) and trained.task.out_features == 3
    grey = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    assert tuple(trained.model(torch.from_numpy(grey)).recon.shape) == (2, 3, 8, 8)
    # nnj predict colours a folder of photos into a folder of PNGs at the training size (it used
    # to send the user from a CSV to an image to an array and refuse each)
    run = _one_run(tmp_path / "out")
    rc, stdout, stderr = nnj("predict", str(run), str(files / "photos"), "--out", str(tmp_path / "coloured"))
    assert rc == 0, stderr[-2000:]
    assert "16 images written to" in stdout
    written = sorted((tmp_path / "coloured").rglob("*.png"))
    assert len(written) == 16 and (tmp_path / "coloured" / "index.csv").exists()
    photo = sorted((files / "photos").rglob("*.png"))[0]
    out = np.asarray(Image.open(tmp_path / "coloured" / photo.relative_to(files / "photos")))
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    # the same numbers as the model applied by hand to the photo read as in training
    from nnjournal.data.image_folder import decode_image
    from nnjournal.tasks.reconstruction import grayscale

    x = torch.from_numpy(np.array(decode_image(photo, 8, "stretch", "rgb")[None])).float() / 255
    with torch.no_grad():
        expected = trained.model.eval()(grayscale(x)).recon.clamp(0, 1)[0].permute(1, 2, 0)
    assert np.abs(out.astype(np.float32) - expected.numpy() * 255).max() <= 0.5 + 1e-3
    np.save(tmp_path / "grey.npy", grey)
    for given in (tmp_path / "grey.npy", files / "mixed.csv"):  # one line saying what it takes
        rc, _, stderr = nnj("predict", str(run), str(given), "--out", str(tmp_path / "x"), cwd=tmp_path)
        assert rc == 2 and len(stderr.splitlines()) == 1 and "give an image file or a folder" in stderr
    rc, _, stderr = nnj("predict", str(run), str(files / "photos"), "--out", str(tmp_path / "coloured"))
    assert rc == 2 and "already exists" in stderr  # never written over


# The imputation task: a table without a number to hide leads with the share of cells filled
# right; a test split with no hidden cell, or no indicators to tell the file's own blanks from its
# values, is refused before anything is written.
def test_imputation_of_a_table_without_numbers_leads_with_accuracy(nnj: Nnj, files: Path, tmp_path: Path) -> None:
    case = table_run("", "imputation-ae", "no_numbers.csv", "")
    out = tmp_path / "out"
    rc, _, stderr = nnj(*[a.format(f=files, out=out) for a in case.args], cwd=tmp_path)
    assert rc == 0, stderr[-3000:]
    summary = json.loads(next(out.glob("*/summary.json")).read_text())
    assert summary["headline"]["metric"] == "imputed_accuracy"
    assert 0 < summary["headline"]["value"] <= 1


def test_imputation_that_hides_no_test_cell_is_refused(nnj: Nnj, files: Path, tmp_path: Path) -> None:
    case = table_run("", "imputation-ae", "mixed.csv", "task.hide_fraction", "task.hide_fraction=1e-9")
    check_refused(case, nnj, files, tmp_path)


def test_imputation_needs_missing_indicators_to_know_the_files_blanks(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    case = table_run("", "imputation-ae", "blanks.csv", "missing_indicators", "data.missing_indicators=false")
    check_refused(case, nnj, files, tmp_path)


def test_a_classifier_on_photos_read_as_one_class_names_the_option(nnj: Nnj, files: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    rc, _, stderr = nnj(
        "run", "flowers-cnn", "-q", "--out", str(out), "--set", f"data.path={files / 'flat'}",
        "--set", "data.size=8", "--set", "data.classes=false", *TRAIN,
    )  # fmt: skip
    assert rc == 2 and len(stderr.splitlines()) == 1, stderr[-2000:]
    assert "at least 2 classes, got 1" in stderr and "data.classes = true" in stderr
    assert not out.exists() or list(out.iterdir()) == []
