"""The image recipes end to end on real data (small profiles where a full run is long)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import require_data
from typer.testing import CliRunner

from nnjournal import experiment
from nnjournal.cli import app
from nnjournal.predict_io import read_inputs, write_predictions
from nnjournal.saved_model import load_model


def test_digits_cnn_reaches_098(tmp_path: Path) -> None:
    result = experiment.run("digits-cnn", out=tmp_path, quiet=True)
    acc = result.summary["variants"]["cnn"]["test"]["accuracy"]
    assert acc >= 0.98, acc
    plots = {p["file"] for p in result.summary["plots"]}
    assert {
        "plots/misclassified.png",
        "plots/per_class_accuracy.png",
        "plots/first_layer_filters.png",
        "plots/feature_maps.png",
    } <= plots
    assert all((result.run_dir / f).stat().st_size > 1000 for f in plots)
    report = (result.run_dir / "report.md").read_text()
    assert "Misclassified test images" in report and "CNN [conv 32@3x3" in report

    # The saved model takes raw 0..16 digit values, like the MLP recipe's.
    from sklearn.datasets import load_digits

    raw = load_digits()
    trained = load_model(result.run_dir)
    pred = trained.predict(raw.data[:200].astype(np.float32))
    assert (pred.astype(int) == raw.target[:200]).mean() > 0.97
    inputs = tmp_path / "digits.npy"
    np.save(inputs, raw.data[:5])
    assert write_predictions(tmp_path / "p.csv", trained, read_inputs(inputs, None)) == 5


def test_mnist_cnn_small_profile(tmp_path: Path) -> None:
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    result = experiment.run(
        "mnist-cnn", ["data.max_train=2000", "training.epochs=4"], out=tmp_path, quiet=True
    )
    acc = result.summary["variants"]["cnn"]["test"]["accuracy"]
    assert acc >= 0.93, acc  # the full recipe reaches ~0.99; a broken model stays near 0.1
    notes = result.summary["data"]["notes"]
    assert any("8,000 train / 2,000 test" in n for n in notes)
    assert result.summary["data"]["description"].startswith("mnist: 1800 train / 200 val / 2000 test")


def test_flowers_cnn_small_profile_on_real_photos(tmp_path: Path) -> None:
    folder = require_data("images/cats-dogs")
    result = experiment.run(
        "flowers-cnn",
        [f'data.path="{folder}"', "data.size=32", "training.epochs=3"],
        out=tmp_path,
        quiet=True,
    )
    s = result.summary
    assert s["data"]["description"] == "cats-dogs: 720 train / 80 val / 88 test, input shape [3, 32, 32]"
    assert 0.0 <= s["variants"]["cnn"]["test"]["accuracy"] <= 1.0
    assert (result.run_dir / "plots" / "feature_maps.png").exists()


def test_model_summary_cli() -> None:
    result = CliRunner().invoke(app, ["model", "summary", "digits-cnn"])
    assert result.exit_code == 0, result.output
    assert "net.features.1.3         MaxPool2d            32x4x4" in result.output
    assert "total trainable parameters: 65,834" in result.output
    result = CliRunner().invoke(app, ["model", "summary", "digits-cnn", "--set", "model.name=lenet5"])
    assert result.exit_code == 0 and "Linear               84" in result.output
