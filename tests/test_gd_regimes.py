"""`nnj study gd-regimes`: batch vs stochastic vs mini-batch GD and the optimizers."""

import json

from helpers import nnj


def test_gd_regimes_quick_profile(tmp_path):
    result = nnj("study", "gd-regimes", "--profile", "quick", "--out", str(tmp_path), "--quiet")
    assert result.exit_code == 0, result.stderr
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    summary = json.loads((run_dir / "summary.json").read_text())
    res = summary["study"]["results"]
    assert set(res) == {
        "batch GD",
        "mini-batch GD",
        "stochastic GD",
        "SGD",
        "momentum",
        "Nesterov",
        "AdaGrad",
        "Adadelta",
        "RMSProp",
        "Adam",
    }
    epochs = summary["study"]["epochs"]
    assert res["batch GD"]["steps"] == epochs  # one step per epoch
    assert res["stochastic GD"]["steps"] > 100 * res["batch GD"]["steps"]  # one step per example
    # Same epochs, same learning rate: far more steps make far more progress.
    assert res["mini-batch GD"]["train_loss"] < 0.5 * res["batch GD"]["train_loss"]
    assert res["momentum"]["train_loss"] < res["SGD"]["train_loss"]
    for plot in ("regimes.png", "optimizers.png"):
        assert (run_dir / "plots" / plot).stat().st_size > 10_000
