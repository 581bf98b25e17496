"""`nnj study gradients` and `nnj study init` on their quick profiles: the measured gradient
norms show vanishing for sigmoid + small init and a healthy profile for ReLU + He + batch norm;
with zero init the hidden units of each layer stay identical and the conclusion says symmetry."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nnjournal.cli import app
from nnjournal.experiment import run


def test_gradients_study_quick(tmp_path):
    result = run("gradients-study", ["study.profile='quick'"], out=tmp_path)
    r = result.summary["study"]["results"]
    vanishing, bn = r["sigmoid, normal(0.01)"], r["ReLU, He, batch norm"]
    assert len(vanishing["mean_norms"]) == 11  # 10 hidden weight matrices + the output layer
    assert vanishing["last"] >= 100 * vanishing["first"]  # first layer >= 100x smaller
    assert bn["last"] / 10 <= bn["first"] <= 10 * bn["last"]  # within 10x
    assert bn["test_accuracy"] > 0.8 > vanishing["test_accuracy"]
    exploding = r["ReLU, normal(0.3)"]
    assert exploding["diverged"] and max(exploding["init_norms"]) >= 100
    clipped = r["ReLU, normal(0.3), clip 1"]
    assert clipped["diverged"] is None and clipped["test_accuracy"] > 0.3
    text = " ".join(result.summary["conclusion"])
    assert "sigmoid, normal(0.01): the gradients vanished" in text
    assert "ReLU, normal(0.3): the gradients exploded" in text
    assert "clipping the gradient norm to 1 cured the divergence" in text
    cured = next(line for line in result.summary["conclusion"] if line.startswith("Cured"))
    assert "ReLU, He, batch norm (" in cured and "sigmoid" not in cured
    md = (result.run_dir / "report.md").read_text()
    assert "plots/norms.png" in md and (result.run_dir / "plots" / "init_profile.png").is_file()


def test_init_study_quick_zeros_never_break_symmetry(tmp_path):
    out = CliRunner().invoke(app, ["study", "init", "--profile", "quick", "--out", str(tmp_path), "-q"])
    assert out.exit_code == 0, out.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    r = summary["study"]["results"]
    zeros = r["zeros"]
    assert zeros["symmetric"]
    for layer in zeros["layers"]:
        assert layer["distinct"] == 1 and layer["spread"] == 0.0  # every unit's weights identical
        assert layer["moved"] > 0.01  # not stuck at zero: the units moved, together
    for name in ("normal(1)", "Xavier", "He"):
        assert all(layer["distinct"] == layer["width"] for layer in r[name]["layers"])
        assert r[name]["test_accuracy"] > 0.85
    zero_line = next(line for line in summary["conclusion"] if line.startswith("zeros:"))
    assert "symmetry is never broken" in zero_line
    assert not any("underfit" in line for line in summary["conclusion"])
    assert "plots/units.png" in (run_dir / "report.md").read_text()


def test_pathology_studies_on_missing_data_exit_2_and_write_nothing(tmp_path):
    for name in ("gradients", "init"):
        out = tmp_path / name
        result = CliRunner().invoke(
            app, ["study", name, "--out", str(out), "--set", "data.name='csv'", "--set", f"data.path={str(tmp_path / 'no.csv')!r}"]
        )
        assert result.exit_code == 2, result.output
        assert "no.csv" in result.output
        assert not out.exists() or not any(out.iterdir())


def test_a_plain_zero_init_run_names_symmetry_not_underfitting(tmp_path):
    result = run(
        "digits-mlp", ["model.init='zeros'", "model.activation='sigmoid'", "training.epochs=3",
                       "model.dropout_input=0.0", "model.dropout_hidden=0.0"], out=tmp_path,
    )
    v = result.summary["variants"]["mlp"]
    assert v["symmetric_layers"] == [1, 2]
    text = " ".join(result.summary["conclusion"])
    assert "symmetry" in text and "underfits" not in text
    plain = run("digits-mlp", ["training.epochs=1"], out=tmp_path)
    assert "symmetric_layers" not in plain.summary["variants"]["mlp"]
