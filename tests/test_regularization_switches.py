"""The regularization switches added for the study: each does what its name says."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from nnjournal import models, tasks
from nnjournal.config import EnsembleConfig, MLPModel, TrainingConfig
from nnjournal.data.bundle import DataInfo, Split
from nnjournal.errors import NNJError
from nnjournal.regularization.ensemble import Ensemble, train_ensemble
from nnjournal.regularization.label_smoothing import smoothed_loss
from nnjournal.regularization.max_norm import apply_max_norm
from nnjournal.regularization.mc_dropout import mc_dropout_predict
from nnjournal.regularization.noise import GaussianNoise
from nnjournal.training.fit import fit

INFO = DataInfo("blobs", (6,), n_classes=3)


def _blobs(n: int = 240, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(3, (n,), generator=g)
    x = torch.randn(n, 6, generator=g) * 0.7 + F.one_hot(y, 6).float() * 2.0
    return Split(x, y)


def test_max_norm_caps_each_units_incoming_weights_during_fit():
    torch.manual_seed(0)
    model = models.build(MLPModel(hidden=[16]), INFO, 3)
    fit(model, _blobs(), epochs=5, optimizer={"name": "sgd", "lr": 0.5}, max_norm=0.5)
    for w in models.weight_parameters(model):
        assert w.norm(dim=1).max() <= 0.5 + 1e-5
    w = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    apply_max_norm([w], 1.0)
    assert torch.allclose(w, torch.tensor([[0.6, 0.8], [0.3, 0.4]]))  # large rows capped, small untouched


def test_label_smoothing_matches_the_smoothed_target_cross_entropy():
    task = tasks.get("classification", INFO)
    logits, y = torch.randn(8, 3), torch.randint(3, (8,))
    soft = F.one_hot(y, 3).float() * 0.9 + 0.1 / 3
    expected = -(soft * logits.log_softmax(1)).sum(1).mean()
    assert torch.allclose(smoothed_loss(task, 0.1)(logits, y), expected, atol=1e-6)
    with pytest.raises(NNJError, match="classification only"):
        smoothed_loss(tasks.get("regression", DataInfo("r", (6,))), 0.1)


def test_hidden_noise_only_while_training():
    layer = GaussianNoise(1.0)
    x = torch.zeros(1000)
    assert layer(x).std() > 0.9
    layer.eval()
    assert torch.equal(layer(x), x)
    model = models.build(MLPModel(hidden=[8], noise_hidden=0.3), INFO, 3)
    assert any(isinstance(m, GaussianNoise) for m in model.modules())


@pytest.mark.parametrize("method", ["seeds", "bagging", "snapshot"])
def test_ensemble_members_differ_and_probabilities_are_averaged(method):
    task = tasks.get("classification", INFO)
    train, test = _blobs(seed=0), _blobs(seed=1)
    result = train_ensemble(
        lambda: models.build(MLPModel(hidden=[16]), INFO, 3),
        train,
        None,
        task=task,
        training=TrainingConfig(epochs=15, optimizer={"lr": 0.01}, vectorize=False),
        ensemble=EnsembleConfig(size=3, method=method),
    )
    assert len(result.members) == 3
    outs = [m.eval()(test.x) for m in result.members]
    assert not torch.allclose(outs[0], outs[1])
    mean = torch.stack([o.softmax(1) for o in outs]).mean(0)
    combined = result.model.eval()(test.x).softmax(1)
    assert torch.allclose(combined, mean, atol=1e-5)
    assert (combined.argmax(1) == test.y).float().mean() > 0.8


def test_vote_and_regression_combination():
    a, b, c = (torch.nn.Linear(2, 3) for _ in range(3))
    vote = Ensemble([a, b, c], "classification", "vote")
    x = torch.randn(5, 2)
    votes = torch.stack([m(x).argmax(1) for m in (a, b, c)])
    majority = torch.mode(votes, 0).values
    clear = (votes == majority).sum(0) >= 2
    assert torch.equal(vote(x).argmax(1)[clear], majority[clear])
    r1, r2 = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    assert torch.allclose(Ensemble([r1, r2], "regression")(x), (r1(x) + r2(x)) / 2)


def test_mc_dropout_passes_vary_and_their_mean_is_returned():
    torch.manual_seed(0)
    model = models.build(MLPModel(hidden=[32], dropout_hidden=0.5), INFO, 3)
    fit(model, _blobs(), epochs=15, optimizer={"lr": 0.01})
    model.eval()
    pred = mc_dropout_predict(model, _blobs(seed=1).x, samples=30)
    assert pred.proba.shape == (240, 3)
    assert abs(pred.proba.sum(1) - 1).max() < 1e-5
    assert pred.std.max() > 0  # dropout was on: the passes disagree
    assert not model.training and not model[3].training  # left in evaluation mode, as found


def test_weight_noise_perturbs_only_inside_the_step_and_restores_exact_weights():
    from nnjournal.regularization.weight_noise import perturbed_weights

    torch.manual_seed(0)
    model = models.build(MLPModel(hidden=[16]), INFO, 3)
    weights = models.weight_parameters(model)
    clean = [w.detach().clone() for w in weights]
    with perturbed_weights(weights, 0.1):
        moved = [(w - c).std().item() for w, c in zip(weights, clean, strict=True)]
    assert all(0.08 < m < 0.12 for m in moved)  # noise of the asked size while inside
    assert all(torch.equal(w, c) for w, c in zip(weights, clean, strict=True))  # bit-exact after
    bias = next(p for p in model.parameters() if p.dim() == 1)
    assert all(bias is not w for w in weights)  # biases are never perturbed


def test_weight_noise_in_fit_changes_the_gradient_and_is_seeded():
    def train(noise: float) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = models.build(MLPModel(hidden=[16]), INFO, 3)
        fit(model, _blobs(), epochs=3, optimizer={"name": "sgd", "lr": 0.1}, weight_noise=noise, seed=0)
        return [p.detach().clone() for p in model.parameters()]

    plain, noisy, again = train(0.0), train(0.05), train(0.05)
    assert not all(torch.equal(a, b) for a, b in zip(plain, noisy, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(noisy, again, strict=True))  # same seed, same numbers


def test_weight_noise_in_vectorized_training_draws_per_member_noise():
    from nnjournal.training.vectorized import fit_vectorized

    task = tasks.get("classification", INFO)
    torch.manual_seed(0)
    base = models.build(MLPModel(hidden=[16]), INFO, 3)
    nets = [copy.deepcopy(base) for _ in range(2)]  # same start, same batch order below
    fit_vectorized(nets, _blobs(), None, task=task, seeds=[0, 0], epochs=3, weight_noise=0.05)
    a, b = (models.weight_parameters(n)[0] for n in nets)
    assert not torch.equal(a, b)  # only the weight noise told them apart
    fit_vectorized(
        nets2 := [copy.deepcopy(base) for _ in range(2)], _blobs(), None, task=task, seeds=[0, 0], epochs=3
    )
    assert torch.equal(*(models.weight_parameters(n)[0] for n in nets2))
