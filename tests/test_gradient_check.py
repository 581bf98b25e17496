"""The gradient check passes on every model family nnjournal builds, including its own layers
(tiled convolution, contractive penalty, the gate-by-gate recurrent cells, the VAE loss), and
fails, naming the layer, on a layer whose backward is deliberately wrong."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nnjournal import data, models, recipes, tasks
from nnjournal.config import validate_config
from nnjournal.data.bundle import Split
from nnjournal.debugging.gradient_check import check_task_gradients, gradient_check
from nnjournal.models.recurrent_cells import ManualRNN


def _digits(images: bool = False):
    cfg = validate_config({"recipe": "t", "data": {"name": "digits", "as_images": images}})
    return data.load(cfg.data, seed=0, task="classification")


def _check(model_cfg: dict, task_cfg: dict | None = None, images: bool = False, overrides=()):
    raw = {"recipe": "t", "data": {"name": "digits", "as_images": images}, "model": model_cfg}
    if task_cfg:
        raw["task"] = task_cfg
    cfg = validate_config(raw)
    bundle = data.load(cfg.data, seed=0, task=tasks.task_class(cfg.task).data_kind)
    task = tasks.build_task(cfg.task, bundle.info, bundle)
    bundle = task.prepare_data(bundle, cfg)
    torch.manual_seed(0)
    model = models.build(cfg.model, bundle.info, task.out_features)
    return check_task_gradients(model, task, bundle.train.take(torch.arange(6)))


@pytest.mark.parametrize(
    "model_cfg, task_cfg, images",
    [
        ({"name": "mlp", "hidden": [16, 8], "activation": "tanh", "norm": "batch", "dropout_hidden": 0.3}, None, False),
        ({"name": "mlp", "hidden": [8, 8], "residual": True, "init": "he"}, None, False),
        ({"name": "perceptron"}, None, False),
        ({"name": "cnn", "blocks": [{"filters": 4, "kind": "tiled", "tile": 2, "pool": "max"},
                                    {"filters": 4, "kind": "residual"}], "hidden": [8]}, None, True),
        ({"name": "lenet5"}, None, True),
        ({"name": "autoencoder", "hidden": [], "code_size": 6, "activation": "sigmoid", "code_activation": "sigmoid",
          "contractive": 0.5}, {"name": "reconstruction"}, False),  # closed-form contractive penalty
        ({"name": "autoencoder", "hidden": [12], "code_size": 6, "contractive": 0.5}, {"name": "reconstruction"}, False),  # Hutchinson
        ({"name": "autoencoder", "hidden": [12], "code_size": 6, "sparsity": "kl", "sparsity_weight": 0.1,
          "code_activation": "sigmoid"}, {"name": "reconstruction"}, False),
        ({"name": "vae", "hidden": [12], "latent": 3}, {"name": "vae"}, False),
    ],
)
def test_gradient_check_passes_on_every_family(model_cfg, task_cfg, images):
    result = _check(model_cfg, task_cfg, images)
    worst = max(r.max_rel_error for r in result.rows)
    assert result.passed, result.table()
    assert worst < 1e-5  # float64 agreement; a wrong backward is off by > 1e-1
    assert all(r.entries > 0 for r in result.rows)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_gradient_check_passes_on_the_recurrent_cells(mode):
    # Each digit's 8 rows of 8 pixels read top to bottom as a sequence of 8 steps.
    split = _digits().train
    x, y = split.x[:4].reshape(4, 8, 8).double(), split.y[:4]
    torch.manual_seed(0)
    rnn = ManualRNN(mode, 8, 5, num_layers=2, bidirectional=True)
    head = nn.Linear(10, 10)
    model = nn.ModuleDict({"rnn": rnn, "head": head})

    def loss(net: nn.Module) -> torch.Tensor:
        out, _ = net["rnn"](x)
        return nn.functional.cross_entropy(net["head"](out[:, -1]), y)

    result = gradient_check(model, loss)
    assert result.passed, result.table()
    assert {r.name.split(".")[1].rsplit("_", 2)[0] for r in result.rows if r.name.startswith("rnn")} >= {"weight_ih", "weight_hh"}


class _WrongBackward(torch.autograd.Function):
    """y = x * w with a backward that forgets to... multiply w's gradient by x (a typical bug)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # noqa: ANN001, ANN205
        x, w = ctx.saved_tensors
        return g * w, (g * 2 * x).sum(0)  # w's gradient doubled: wrong


class _Scale(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _WrongBackward.apply(x, self.weight)


def test_gradient_check_fails_naming_the_wrong_layer():
    split = _digits().train
    model = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), _Scale(16), nn.Linear(16, 10))
    x, y = split.x[:8].double(), split.y[:8]
    result = gradient_check(model, lambda net: nn.functional.cross_entropy(net(x), y))
    assert not result.passed
    assert result.failed_layers == ["2"]  # the _Scale module, and only it
    by_name = {r.name: r for r in result.rows}
    assert by_name["2.weight"].max_rel_error > 0.1
    assert by_name["0.weight"].passed and by_name["3.weight"].passed  # x's gradient is right


def test_gradient_check_on_a_recipe_model():
    cfg = recipes.load("digits-cnn")
    bundle = data.load(cfg.data, seed=0, task="classification")
    task = tasks.build_task(cfg.task, bundle.info, bundle)
    torch.manual_seed(0)
    model = models.build(cfg.model, bundle.info, task.out_features)
    result = check_task_gradients(model, task, Split(bundle.train.x[:4], bundle.train.y[:4]))
    assert result.passed, result.table()
    assert len(result.rows) == len(list(model.parameters()))
