"""`nnj debug`: one journal entry with the tiny-batch fit, the gradient check, activation and
gradient statistics and the worst mistakes; dead units forced by a large negative bias are
reported per layer; `training.log_activation_stats` records them per epoch in a plain run."""

from __future__ import annotations

import json

import torch
from torch import nn
from typer.testing import CliRunner

from nnjournal import data
from nnjournal.cli import app
from nnjournal.config import validate_config
from nnjournal.debugging.activations import activation_stats
from nnjournal.debugging.entry import run_debug
from nnjournal.experiment import run


def test_nnj_debug_digits_mlp_writes_the_entry(tmp_path):
    result = CliRunner().invoke(app, ["debug", "digits-mlp", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    d = summary["debug"]
    assert d["overfit"]["score_name"] == "accuracy" and d["overfit"]["score"] >= 0.99
    assert d["overfit"]["last_loss"] < 0.05 * d["overfit"]["first_loss"]
    assert d["gradient_check"]["passed"] and len(d["gradient_check"]["rows"]) == 6
    assert set(d["activations"]["trained"]) == {"3", "6"}  # the MLP's two ReLUs (after dropout layers)
    assert len(d["worst"]["index"]) == 12 and d["worst"]["loss"] == sorted(d["worst"]["loss"], reverse=True)
    md = (run_dir / "report.md").read_text()
    for section in ("## Overfit a tiny batch", "## Gradient check", "## Activation and gradient statistics", "## Worst mistakes"):
        assert section in md
    assert (run_dir / "report.html").is_file() and (run_dir / "plots" / "act_stats.png").is_file()
    assert "Overfit check passed" in result.output


def _kill_first_layer(model: nn.Module) -> None:
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        first.bias.fill_(-1e3)  # pre-activations far below zero for every input: the ReLUs never fire


def test_forced_dead_units_are_reported_per_layer(tmp_path):
    run_dir, summary = run_debug("digits-mlp", ["training.epochs=2"], out=tmp_path, model_hook=_kill_first_layer)
    acts = summary["debug"]["activations"]
    assert acts["init"]["3"]["dead"] == 1.0 and acts["trained"]["3"]["dead"] == 1.0  # no gradient revives them
    assert acts["trained"]["6"]["dead"] == 1.0  # nor the next layer's, fed a constant
    fit = summary["debug"]["overfit"]
    assert not fit["passed"] and any("dead units" in line for line in fit["diagnosis"])
    md = (run_dir / "report.md").read_text()
    assert "| 3 | ReLU | 256 |" in md and "| 1.00 |" in md
    assert any("3: 100% of its 256 ReLU units are dead" in line for line in summary["conclusion"])


def test_activation_stats_shares():
    cfg = validate_config({"recipe": "t", "data": {"name": "digits"}})
    split = data.load(cfg.data, seed=0, task="classification").train
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 8), nn.Sigmoid())
    with torch.no_grad():
        net[0].bias[:3] = -1e3  # 3 of 8 ReLU units dead
        net[2].weight.mul_(100.0)  # sigmoid driven into its tails
    stats = activation_stats(net, split.x, histograms=True)
    assert stats["1"]["dead"] == 3 / 8 and stats["1"]["saturated"] is None
    assert stats["3"]["saturated"] > 0.5 and stats["3"]["dead"] is None
    counts, edges = stats["1"]["hist"]
    assert sum(counts) == min(len(split) * 8, 20_000) and len(edges) == len(counts) + 1


def test_log_activation_stats_in_a_plain_run(tmp_path):
    result = run("digits-mlp", ["training.epochs=3", "training.log_activation_stats=true"], out=tmp_path)
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 3
    for r in records:
        assert set(r["activation_stats"]) == {"3", "6"}
        assert 0.0 <= r["activation_stats"]["3"]["dead"] < 0.5
    assert any(p["file"] == "plots/activation_stats.png" for p in result.summary["plots"])
    assert (result.run_dir / "plots" / "activation_stats.png").is_file()
