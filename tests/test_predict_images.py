"""`nnj predict RUN IMAGE_OR_FOLDER` on a model trained on an image folder: one row per image
(path, predicted class, a probability per class), decoded exactly as the training images were,
and one clear line for every input it cannot use."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import nnj
from PIL import Image
from test_image_folder import folder_cfg, make_folder

from nnjournal import load_model
from nnjournal.data.image_folder import _load_split

# Cropped to the centre square and grey: options a stretched RGB decode would get wrong.
OPTIONS = {"size": 8, "resize": "crop", "color": "grayscale"}


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("photos")
    photos = make_folder(root / "photos", per_class=10)
    recipe = root / "tiny.toml"
    recipe.write_text(
        f'[data]\nname = "image-folder"\npath = "{photos}"\nsize = 8\nresize = "crop"\ncolor = "grayscale"\n'
        "val_fraction = 0.2\ntest_fraction = 0.25\n"
        '[model]\nname = "mlp"\nhidden = [16]\n'
        "[training]\nepochs = 3\n"
        '[evaluation]\nbaselines = ["dummy"]\n'
        "[journal]\nplots = false\n"
    )
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = nnj("run", str(recipe), "-q", "--out", str(root / "runs"))
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.stderr
    (run_dir,) = [p.parent for p in (root / "runs").glob("*/summary.json")]
    return run_dir, photos


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _one_error_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_a_folder_gives_one_row_per_image_decoded_as_in_training(image_run, tmp_path):
    run_dir, photos = image_run
    (photos / "blue" / "more").mkdir()
    Image.new("RGB", (33, 21), (30, 30, 220)).save(photos / "blue" / "more" / "deep.PNG")  # nested, upper case
    (photos / "notes.txt").write_text("not an image")
    (photos / ".hidden.jpg").write_bytes(b"editor backup, not an image")
    out = tmp_path / "pred.csv"
    # A fresh process: everything needed to decode a photo comes from the run's files.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "nnjournal.cli", "predict", str(run_dir), str(photos), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "21 predictions written to" in proc.stdout
    rows = _rows(out)
    assert list(rows[0]) == ["path", "prediction", "proba_blue", "proba_red"]
    assert [r["path"] for r in rows][-1] == str(photos / "red" / "9.png")
    assert str(photos / "blue" / "more" / "deep.PNG") in [r["path"] for r in rows]

    # The training loader's pixels for the same files (centre crop, grey, 8x8) give the same numbers.
    (photos / "blue" / "more" / "deep.PNG").unlink()
    x, y, names, _, _ = _load_split(photos, folder_cfg(photos, **OPTIONS), None)
    trained = load_model(run_dir)
    proba = trained.predict_proba(x, pixels=True)
    rows = [r for r in rows if "more" not in r["path"]]
    assert [r["prediction"] for r in rows] == list(trained.predict(x, pixels=True))
    # Written in full: each probability reads back as the very float32 the model gave.
    np.testing.assert_array_equal([[np.float32(r["proba_blue"]), np.float32(r["proba_red"])] for r in rows], proba)


def test_one_image_file_and_standard_output(image_run, tmp_path):
    run_dir, photos = image_run
    one = tmp_path / "Red Photo.JPG"
    Image.new("RGB", (50, 40), (220, 30, 30)).save(one, format="JPEG")
    result = nnj("predict", str(run_dir), str(one))
    assert result.exit_code == 0, result.stderr
    rows = _rows(tmp_path / "Red Photo_predictions.csv")
    assert len(rows) == 1 and rows[0]["path"] == str(one)
    shown = nnj("predict", str(run_dir), str(one), "--out", "-")
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0] == "path,prediction,proba_blue,proba_red"
    assert "1 predictions written to standard output" in shown.stderr


def test_inputs_an_image_model_cannot_use_are_one_line_and_write_nothing(image_run, tmp_path):
    run_dir, photos = image_run
    bad = tmp_path / "bad"
    bad.mkdir()
    Image.new("RGB", (20, 20), (0, 0, 0)).save(bad / "fine.png")
    (bad / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    out = tmp_path / "p.csv"
    cases = {
        "bad": f"{bad / 'broken.jpg'} is not a readable image (",
        "empty": "no image files (.jpg, .jpeg, .png",
        "rows.csv": "this model was trained on image files; give an image",
        "nowhere.png": "input file not found",
    }
    for name, expect in cases.items():
        line = _one_error_line(nnj("predict", str(run_dir), str(tmp_path / name), "--out", str(out)))
        assert expect in line, line
        assert not out.exists()
    line = _one_error_line(nnj("predict", str(run_dir), str(photos), "--id-column", "name"))
    assert "--id-column names a column of a CSV" in line
