"""A task defined entirely here — its own step, a metric that is better high, a report
section and a conclusion — trains through `fit` and `nnj.run` without touching the package:
the shape every new task (sequences, GANs) relies on."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pytest
import torch
from torch import nn

import nnjournal as nnj
from nnjournal import tasks
from nnjournal.config import TASK_SECTIONS, TaskSection, TrainingConfig
from nnjournal.data.bundle import DataBundle, Split
from nnjournal.journal.plots import plt, save
from nnjournal.tasks.base import StepOutput, SupervisedTask
from nnjournal.training.fit import fit
from nnjournal.training.predict import predict_outputs


class ParitySection(TaskSection):
    name: Literal["parity"] = "parity"
    margin: float = 1.0


class Parity(SupervisedTask):
    """Is the digit even? One output trained with a hinge loss; scored by 'agreement'."""

    name = "parity"
    headline = "agreement"
    directions = {"loss": "min", "agreement": "max", "hinge": "min"}
    logged = ["loss", "agreement"]
    out_features = 1

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = margin

    @classmethod
    def from_config(cls, section: Any, info: Any, bundle: Any = None) -> Parity:
        return cls(section.margin)

    def prepare_data(self, bundle: DataBundle, cfg: Any) -> DataBundle:
        def signs(split: Split | None) -> Split | None:
            return None if split is None else Split(split.x, (1 - 2 * (split.y % 2)).float())

        info = type(bundle.info)(bundle.info.name, bundle.info.input_shape)
        return DataBundle(
            signs(bundle.train), signs(bundle.val), signs(bundle.test), info, bundle.preprocessing
        )

    # its own step: forward -> hinge loss, sums of the loss and of agreeing signs
    def training_step(self, model: nn.Module, batch: Split, state: Any = None) -> StepOutput:
        score = model(batch.x).squeeze(1)
        loss = torch.clamp(self.margin - batch.y * score, min=0).mean()
        n = len(batch.y)
        return StepOutput(
            loss, {"loss": loss.detach() * n, "agreement": ((score > 0) == (batch.y > 0)).sum()}, n
        )

    @torch.no_grad()
    def evaluation_step(self, model: nn.Module, batch: Split) -> StepOutput:
        return self.training_step(model, batch)

    def evaluate(self, model: nn.Module, split: Split) -> dict[str, float]:
        score = predict_outputs(model, split.x).squeeze(1)
        hinge = torch.clamp(self.margin - split.y * score, min=0).mean()
        return {"agreement": float(((score > 0) == (split.y > 0)).float().mean()), "hinge": float(hinge)}

    def plots(self, run_dir, results, context) -> list[dict[str, str]]:
        r = next(iter(results.values()))
        score = predict_outputs(r.model, r.bundle.test.x).squeeze(1).numpy()
        fig, ax = plt.subplots()
        ax.hist(score * r.bundle.test.y.numpy(), bins=30)
        ax.set(title="Signed margins on the test split", xlabel="y * score", ylabel="digits")
        save(fig, run_dir / "plots" / "margins.png")
        return [{"file": "plots/margins.png", "caption": "Parity margins: right of zero is right"}]

    def conclusion(self, summary: dict[str, Any]) -> list[str]:
        v = summary["variants"]["mlp"]["test"]
        return [f"The parity network agrees with the labels on {v['agreement']:.1%} of test digits."]


@pytest.fixture
def parity(monkeypatch):
    monkeypatch.setitem(tasks.TASKS, "parity", Parity)
    monkeypatch.setitem(TASK_SECTIONS, "parity", ParitySection)


RECIPE = {
    "recipe": "parity",
    "data": {"name": "digits"},
    "model": {"name": "mlp", "hidden": [32]},
    "task": {"name": "parity", "margin": 1.0},
    "training": {
        "epochs": 60,
        "optimizer": {"lr": 3e-3},
        "early_stopping": {"monitor": "val_agreement", "patience": 4},
    },
    "evaluation": {"baselines": []},
}


def test_a_task_from_outside_trains_early_stops_on_a_maximised_metric_and_reports(parity, tmp_path):
    result = nnj.run(RECIPE, out=tmp_path)
    h = result.variants["mlp"].history
    agreement = h.series("val_agreement")
    assert h.monitor == "val_agreement" and h.stopped_early
    # maximised, not minimised: the best epoch is the highest agreement, and the run
    # stopped `patience` epochs after it
    assert h.best_value == max(agreement) and agreement[h.best_epoch - 1] == max(agreement)
    assert len(agreement) == h.best_epoch + 4
    assert result.summary["headline"] == {
        "metric": "agreement",
        "variant": "mlp",
        "value": result.test_metrics["mlp"]["agreement"],
    }
    assert result.test_metrics["mlp"]["agreement"] > 0.8  # parity of real digits is learnable (chance 0.5)
    report = (result.run_dir / "report.md").read_text()
    assert "Parity margins" in report and (result.run_dir / "plots" / "margins.png").stat().st_size > 1000
    assert "agrees with the labels" in report
    assert "margin = 1.0" in (result.run_dir / "config.toml").read_text()  # its own config section


class _Killed(Exception):
    pass


def test_a_task_from_outside_checkpoints_and_resumes_to_the_same_weights(parity, tmp_path):
    bundle = Parity().prepare_data(nnj.load("digits"), None)
    cfg = TrainingConfig(epochs=6, checkpoint_every_s=0, early_stopping={"monitor": "val_agreement"})

    def make() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 32), nn.Dropout(0.2), nn.ReLU(), nn.Linear(32, 1))

    full = make()
    fit(full, bundle.train, bundle.val, task=Parity(), config=cfg, seed=1)

    def kill(epoch: int, record: dict) -> None:
        if epoch == 3:
            raise _Killed

    killed = make()
    with pytest.raises(_Killed):
        fit(
            killed,
            bundle.train,
            bundle.val,
            task=Parity(),
            config=cfg,
            seed=1,
            checkpoint=tmp_path / "ckpt",
            on_epoch_end=[kill],
        )
    resumed = make()
    h = fit(
        resumed,
        bundle.train,
        bundle.val,
        task=Parity(),
        config=cfg,
        seed=1,
        checkpoint=tmp_path / "ckpt",
        resume=True,
    )
    assert [r["epoch"] for r in h.records] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert np.isfinite(h.best_value)
