import pytest
import torch
from torch import nn

from nnjournal.models import MLP, Perceptron, count_parameters


def _types(model: nn.Module) -> list[type]:
    return [type(m) for m in model]


def test_batch_norm_placement_before_and_after_activation():
    before = MLP(4, [8], 2, norm="batch", norm_placement="before_activation")
    after = MLP(4, [8], 2, norm="batch", norm_placement="after_activation")
    assert _types(before)[1:4] == [nn.Linear, nn.BatchNorm1d, nn.ReLU]
    assert _types(after)[1:4] == [nn.Linear, nn.ReLU, nn.BatchNorm1d]


def test_layer_norm_and_separate_input_and_hidden_dropout():
    model = MLP(4, [8, 8], 2, norm="layer", dropout_input=0.1, dropout_hidden=0.5)
    drops = [m.p for m in model if isinstance(m, nn.Dropout)]
    assert drops == [0.1, 0.5, 0.5]
    assert sum(isinstance(m, nn.LayerNorm) for m in model) == 2


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu"])
def test_every_activation_builds_and_runs(activation):
    model = MLP(3, [5], 2, activation=activation)
    assert model(torch.randn(7, 3)).shape == (7, 2)


def test_zero_init_never_breaks_symmetry_between_hidden_units():
    from nnjournal import data, fit

    digits = data.load("digits")
    model = MLP(64, [8], 10, activation="tanh", init="zeros")
    fit(model, digits.train, epochs=3, optimizer={"name": "sgd", "lr": 0.5})
    hidden = model[1].weight.detach()
    # Every hidden unit received the same gradient, so all rows are still equal: one unit's worth.
    assert torch.equal(hidden, hidden[:1].expand_as(hidden))


def test_he_init_has_the_expected_spread():
    torch.manual_seed(0)
    model = MLP(1000, [1000], 1, init="he")
    std = float(model[1].weight.detach().std())
    assert abs(std - (2 / 1000) ** 0.5) < 0.003
    assert float(model[1].bias.detach().abs().sum()) == 0


def test_perceptron_is_one_linear_layer_and_flattens_images():
    model = Perceptron(64, 10)
    assert count_parameters(model) == 64 * 10 + 10
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
