"""The learning-rate range test: the sweep leaves model, optimizer and random state exactly as
they were, stops on divergence and NaN, and its suggestion trains digits-mlp well."""

from __future__ import annotations

import json
import math

import pytest
import torch
from helpers import nnj

from nnjournal import experiment, recipes
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.tasks import build_task
from nnjournal.training.lr_finder import lr_range_test, suggest
from nnjournal.tuning.lr_find import find_lr

torch.set_num_threads(1)  # small models: one thread, as under `make test`'s workers


def _toy(n: int = 256) -> tuple[torch.nn.Module, Split, object]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()  # three classes
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 3))
    task = build_task({"name": "classification"}, DataInfo("toy", (8,), n_classes=3))
    return model, Split(x, y), task


def test_weights_optimizer_and_rng_are_restored_bit_exactly():
    model, train, task = _toy()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):  # an optimizer with state (moments, step counts) to restore
        task.training_step(model, train, None).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    moments = {i: {k: v.clone() for k, v in s.items()} for i, s in opt_state["state"].items()}
    rng = torch.get_rng_state()
    result = lr_range_test(model, optimizer, train, task, steps=60, batch_size=32)
    assert len(result.lrs) > 10  # it really trained, so there was something to undo
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k]), k
    after = optimizer.state_dict()
    assert after["param_groups"][0]["lr"] == 1e-3
    for i, s in after["state"].items():
        for k, v in s.items():
            assert torch.equal(v, moments[i][k]), (i, k)
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training  # its mode too
    assert all(p.grad is None for p in model.parameters())


def test_sweep_is_exponential_and_stops_on_divergence():
    model, train, task = _toy()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_range_test(model, optimizer, train, task, start_lr=1e-5, end_lr=1e3, steps=100, batch_size=32)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:], strict=False)]
    assert all(math.isclose(r, (1e8) ** (1 / 99), rel_tol=1e-9) for r in ratios)
    assert len(result.lrs) < 100 and ("4x" in result.stopped or "loss became" in result.stopped)
    assert result.lrs[0] < result.steepest < result.lrs[-1]
    assert math.isclose(result.min_over_10 * 10, result.lrs[int(torch.tensor(result.centered).argmin())])


def test_a_nan_loss_stops_the_sweep_and_is_not_recorded():
    model, train, task = _toy()
    train = Split(train.x.clone(), train.y)
    train.x[200:] = float("nan")  # batches that reach these rows give a NaN loss
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    result = lr_range_test(model, optimizer, train, task, steps=100, batch_size=32)
    assert "loss became nan" in result.stopped
    assert all(math.isfinite(v) for v in result.losses)
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_suggestions_on_a_known_curve():
    lrs = [10 ** (-6 + 0.1 * i) for i in range(60)]
    # flat, a drop centred at 1e-3, a minimum near 1e-2, then a rise
    losses = [2.0 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 4)) + max(0.0, math.log10(lr) + 2) ** 2 for lr in lrs]
    steepest, min_over_10 = suggest(lrs, losses)
    assert 10**-3.4 < steepest < 10**-2.6
    assert 10**-3.3 < min_over_10 < 10**-2.7


def test_lr_find_command_writes_an_entry_and_its_suggestion_trains_digits(data_dir, tmp_path):
    result = nnj("lr-find", "digits-mlp", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    run_dir = next(tmp_path.glob("*_digits-mlp-lr-find"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "plots" / "lr_range.png").stat().st_size > 10_000
    assert "steepest descent of the smoothed loss" in (run_dir / "report.md").read_text()
    lr = summary["lr_find"]["steepest"]
    assert f"{lr:.3g}" in result.stdout
    assert 1e-4 < lr < 3e-2
    # acceptance 4: 20 epochs from the suggested rate reach 0.97 (the recipe otherwise unchanged)
    cfg = recipes.load("digits-mlp", ["training.epochs=20", f"training.optimizer.lr={lr}", "journal.plots=false"])
    run = experiment.run(cfg, out=tmp_path / "runs")
    assert run.test_metrics["mlp"]["accuracy"] >= 0.97, (lr, run.test_metrics)


def test_find_lr_is_repeatable_and_bad_options_are_one_line(data_dir, tmp_path):
    cfg = recipes.load("digits-mlp")
    a, _ = find_lr(cfg, steps=30)
    b, _ = find_lr(cfg, steps=30)
    assert a.losses == b.losses
    result = nnj("lr-find", "digits-mlp", "--start", "1", "--end", "0.1", "--out", str(tmp_path))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "--start" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("steps", [2])
def test_too_few_steps_is_refused(steps, tmp_path):
    result = nnj("lr-find", "digits-mlp", "--steps", str(steps), "--out", str(tmp_path))
    assert result.exit_code == 2 and "--steps" in result.stderr
