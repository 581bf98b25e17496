"""Vectorized training (torch.func) must be the same arithmetic as training one by one."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from nnjournal import data, models, tasks
from nnjournal.config import DigitsData, MLPModel, TrainingConfig
from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError
from nnjournal.models import MLP
from nnjournal.training.fit import fit
from nnjournal.training.vectorized import can_vectorize, fit_vectorized, should_vectorize


def _nets(k: int, info, out: int, **model) -> list[torch.nn.Module]:
    nets = []
    for s in range(k):
        torch.manual_seed(s)
        nets.append(models.build(MLPModel(hidden=[24, 16], **model), info, out))
    return nets


@pytest.fixture(scope="module")
def digits():
    # 300 training rows keep the test quick; one thread because these models are tiny (see
    # nnjournal.studies.run_study) and the comparison needs identical arithmetic, not speed.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    bundle = data.load(DigitsData(val_fraction=0.2, test_fraction=0.2), seed=0, task="classification")
    bundle.train = Split(bundle.train.x[:300], bundle.train.y[:300])
    yield bundle, tasks.build_task("classification", bundle.info)
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "options",
    [
        {"optimizer": {"name": "adam", "lr": 1e-3}},
        {
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
            "penalty": {"l1": 1e-4, "l2": 1e-3},
            "clip": {"norm": 0.5},
            "max_norm": 2.0,
            "label_smoothing": 0.1,
            "early_stopping": {"patience": 1, "restore_best": True},
        },
    ],
    ids=["adam", "sgd-penalties-clip-maxnorm-smoothing-earlystop"],
)
def test_members_match_sequential_training(digits, options):
    bundle, task = digits
    nets = _nets(4, bundle.info, task.out_features)
    alone = [copy.deepcopy(n) for n in nets]
    kw = {"epochs": 4, "batch_size": 64, **options}
    together = fit_vectorized(nets, bundle.train, bundle.val, task=task, seeds=[0, 1, 2, 3], **kw)
    for s, (net, ref) in enumerate(zip(nets, alone, strict=True)):
        history = fit(ref, bundle.train, bundle.val, task=task, seed=s, **kw)
        for (name, a), b in zip(net.state_dict().items(), ref.state_dict().values(), strict=True):
            assert torch.allclose(a, b, atol=1e-5, rtol=0), (
                f"member {s}, {name}: max diff {(a - b).abs().max()}"
            )
        assert len(together[s].records) == len(history.records)
        assert together[s].best_epoch == history.best_epoch
        assert together[s].records[-1]["val_loss"] == pytest.approx(history.records[-1]["val_loss"], abs=1e-5)


def test_bagging_rows_match_training_on_the_bootstrap_sample(digits):
    bundle, task = digits
    nets = _nets(3, bundle.info, task.out_features)
    alone = [copy.deepcopy(n) for n in nets]
    n = len(bundle.train)
    rows = [torch.randint(n, (n,), generator=torch.Generator().manual_seed(s)) for s in range(3)]
    fit_vectorized(nets, bundle.train, None, task=task, seeds=[0, 1, 2], rows=rows, epochs=2)
    for s, (net, ref) in enumerate(zip(nets, alone, strict=True)):
        sample = (bundle.train.x[rows[s]], bundle.train.y[rows[s]])
        fit(ref, sample, None, task=task, seed=s, epochs=2)
        for a, b in zip(net.state_dict().values(), ref.state_dict().values(), strict=True):
            assert torch.allclose(a, b, atol=1e-5, rtol=0)


def test_batch_norm_is_refused_and_auto_falls_back(digits):
    bundle, task = digits
    nets = _nets(4, bundle.info, task.out_features, norm="batch")
    assert not can_vectorize(nets[0])
    assert should_vectorize("auto", nets) is False
    with pytest.raises(NNJError, match="batch norm"):
        should_vectorize(True, nets)
    assert should_vectorize("auto", _nets(4, bundle.info, task.out_features)) is True
    assert should_vectorize("auto", _nets(2, bundle.info, task.out_features)) is False


def test_vectorized_training_stops_a_diverging_model_with_a_diagnosis(digits):
    from nnjournal.errors import NNJError

    bundle, task = digits
    nets = []
    for s in range(4):
        torch.manual_seed(s)
        nets.append(MLP(64, [32], 10))
    cfg = TrainingConfig(epochs=3, optimizer={"name": "sgd", "lr": 1e12})
    with pytest.raises(NNJError, match="diverged.*epoch 1"):
        fit_vectorized(nets, bundle.train, bundle.val, task=task, config=cfg, seeds=[0, 1, 2, 3])


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_a_learning_rate_beta1_and_ridge_penalty_per_member_match_training_each_alone(digits, name):
    # The tuning study's sweeps: one value per member, the same arithmetic as separate fits.
    bundle, task = digits
    nets = _nets(3, bundle.info, task.out_features, dropout_hidden=0.0)
    alone = [copy.deepcopy(n) for n in nets]
    lrs, beta1s, l2s = [3e-4, 2e-3, 1e-2], [0.9, 0.99, 0.95], [0.0, 1e-4, 1e-2]
    kw = {"epochs": 3, "batch_size": 64, "optimizer": {"name": name, "weight_decay": 1e-3}}
    together = fit_vectorized(
        nets, bundle.train, bundle.val, task=task, seeds=[0, 1, 2], members={"lr": lrs, "beta1": beta1s, "l2": l2s},
        **kw,
    )
    for s, (net, ref) in enumerate(zip(nets, alone, strict=True)):
        opt = {**kw["optimizer"], "lr": lrs[s], "betas": (beta1s[s], 0.999)}
        history = fit(ref, bundle.train, bundle.val, task=task, seed=s, **{**kw, "optimizer": opt, "penalty": {"l2": l2s[s]}})
        for (pname, a), b in zip(net.state_dict().items(), ref.state_dict().values(), strict=True):
            assert torch.allclose(a, b, atol=1e-5, rtol=0), f"member {s}, {pname}: max diff {(a - b).abs().max()}"
        assert together[s].records[-1]["lr"] == lrs[s]
        assert together[s].records[-1]["val_loss"] == pytest.approx(history.records[-1]["val_loss"], abs=1e-5)


def test_same_randomness_gives_members_the_same_dropout_masks_and_diverged_members_are_kept(digits):
    bundle, task = digits

    def losses(randomness: str) -> list[list[float]]:
        nets = []
        for _ in range(3):
            torch.manual_seed(0)  # identical members: only their dropout masks can tell them apart
            nets.append(models.build(MLPModel(hidden=[24], dropout_hidden=0.5), bundle.info, task.out_features))
        hs = fit_vectorized(
            nets, bundle.train, bundle.val, task=task, seeds=[0, 0, 0], epochs=2, randomness=randomness,
            members={"lr": [1e-3, 1e-3, 1e6]}, keep_diverged=True,
        )
        return [[r["train_loss"] for r in h.records] for h in hs]

    same, different = losses("same"), losses("different")
    assert same[0] == same[1] and different[0] != different[1]
    assert len(same[2]) == 2 and not (math.isfinite(same[2][-1]) and same[2][-1] < 10)  # diverged, kept
