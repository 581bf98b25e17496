"""CNN builders: the named architectures, every layer option, summaries, saving/loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pydantic import TypeAdapter
from torch import nn

from nnjournal import models
from nnjournal.config import ConvBlock, ModelConfig
from nnjournal.data.bundle import DataInfo
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.errors import NNJError
from nnjournal.models.cnn import ConvNet, ResidualBlock, SumPool2d, TiledConv2d
from nnjournal.models.summary import summarize
from nnjournal.saved_model import load_model, save_model

MODEL = TypeAdapter(ModelConfig)


def info(shape=(1, 28, 28), classes=10, pixels=True) -> DataInfo:
    c = shape[0]
    return DataInfo(
        "test",
        shape,
        n_classes=classes,
        class_names=[str(i) for i in range(classes)],
        pixel_mean=[100.0] * c if pixels else None,
        pixel_std=[50.0] * c if pixels else None,
    )


@pytest.mark.parametrize("name", ["cnn", "lenet5", "vgg-small", "resnet-small"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_named_architectures_build_and_run_on_common_image_sizes(name, shape) -> None:
    model = models.build(MODEL.validate_python({"name": name}), info(shape), 10)
    x = torch.randint(0, 256, (4, *shape), dtype=torch.uint8)  # raw pixels, as the data is stored
    out = model(x)
    assert out.shape == (4, 10)
    out.sum().backward()  # gradients flow through every layer
    assert all(p.grad is not None for p in model.parameters())


def test_lenet5_has_the_classic_shape_on_mnist() -> None:
    model = models.build(MODEL.validate_python({"name": "lenet5"}), info((1, 28, 28)), 10)
    rows = {r.name: r for r in summarize(model, (1, 28, 28))}
    assert rows["net.features.0.0"].output_shape == (6, 28, 28)
    assert rows["net.features.1.0"].output_shape == (16, 10, 10)  # 5x5 'valid': 14 -> 10
    assert rows["net.features.1.2"].output_shape == (16, 5, 5)
    # 400 -> 120 -> 84 -> 10 and the convs: LeNet-5's 61,706 parameters
    assert models.count_parameters(model) == 61_706


def test_resnet_small_has_skip_connections() -> None:
    model = models.build(MODEL.validate_python({"name": "resnet-small"}), info((3, 32, 32)), 10)
    blocks = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 3
    assert isinstance(blocks[0].shortcut, nn.Identity)  # same shape: identity skip
    assert isinstance(blocks[1].shortcut, nn.Sequential)  # stride 2: 1x1 projection
    block = blocks[0].eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        expected = block.act(block.body(x) + x)
        torch.testing.assert_close(block(x), expected)


def convnet(block: dict, shape=(3, 16, 16), norm=False) -> ConvNet:
    return ConvNet(shape, [ConvBlock(**block)], 5, norm=norm)


@pytest.mark.parametrize(
    "block, out_shape",
    [
        ({"filters": 4, "kernel": 3, "padding": "valid"}, (4, 14, 14)),
        ({"filters": 4, "kernel": 3, "padding": "same"}, (4, 16, 16)),
        ({"filters": 4, "kernel": 5, "padding": 1}, (4, 14, 14)),
        ({"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, (4, 8, 8)),
        ({"filters": 4, "kernel": 3, "dilation": 2, "padding": "valid"}, (4, 12, 12)),
        ({"filters": 4, "kernel": 3, "dilation": 2, "padding": "same"}, (4, 16, 16)),
        ({"filters": 6, "kernel": 1}, (6, 16, 16)),  # 1x1 convolution: mixes channels only
        ({"filters": 4, "kind": "transposed", "kernel": 3, "stride": 2, "padding": "same"}, (4, 32, 32)),
        ({"filters": 4, "kind": "transposed", "kernel": 2, "stride": 2, "padding": "valid"}, (4, 32, 32)),
        ({"filters": 4, "kind": "tiled", "tile": 2, "kernel": 3}, (4, 16, 16)),
        ({"filters": 4, "pool": "max"}, (4, 8, 8)),
        ({"filters": 4, "pool": "avg", "pool_size": 4}, (4, 4, 4)),
        ({"filters": 4, "pool": "sum"}, (4, 8, 8)),
    ],
)
def test_layer_options_give_the_expected_shapes(block, out_shape) -> None:
    net = convnet(block)
    assert tuple(net.features(torch.zeros(1, 3, 16, 16)).shape[1:]) == out_shape


def test_groups_split_channels_and_count_parameters() -> None:
    dense = convnet({"filters": 6, "kernel": 3}, shape=(6, 8, 8))
    grouped = convnet({"filters": 6, "kernel": 3, "groups": 3}, shape=(6, 8, 8))
    conv = lambda net: net.features[0][0]  # noqa: E731
    assert conv(dense).weight.numel() == 6 * 6 * 9
    assert conv(grouped).weight.numel() == 6 * 2 * 9  # each output sees 6/3 input channels
    with pytest.raises(NNJError, match="groups=4 must divide"):
        convnet({"filters": 6, "kernel": 3, "groups": 4}, shape=(6, 8, 8))


def test_sum_pool_is_the_window_sum() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(SumPool2d(2)(x), torch.tensor([[[[10.0, 18.0], [42.0, 50.0]]]]))


def test_global_pooling_heads() -> None:
    for head, pool in (("global-avg", nn.AdaptiveAvgPool2d), ("global-max", nn.AdaptiveMaxPool2d)):
        net = ConvNet((1, 8, 8), [ConvBlock(filters=4)], 3, head=head)
        assert isinstance(net.head[0], pool)
        assert net.head[-1].in_features == 4
    flat = ConvNet((1, 8, 8), [ConvBlock(filters=4)], 3, head="flatten")
    assert flat.head[-1].in_features == 4 * 8 * 8


def test_tiled_conv_unties_weights_with_period_k() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 6)
    one = TiledConv2d(3, 4, 3, tile=1, padding=1)
    torch.testing.assert_close(one(x), one.conv(x))  # tile 1 = ordinary convolution
    tiled = TiledConv2d(3, 4, 3, tile=2, padding=1)
    out = tiled(x)
    w, b = tiled.conv.weight.view(4, 4, 3, 3, 3), tiled.conv.bias.view(4, 4)
    for i in range(6):
        for j in range(6):
            s = (i % 2) * 2 + (j % 2)  # the kernel set this position uses
            expected = F.conv2d(x, w[s], b[s], padding=1)[:, :, i, j]
            torch.testing.assert_close(out[:, :, i, j], expected)
    # Positions one apart use different kernels; two apart the same ones (period 2).
    assert tiled.conv.weight.shape[0] == 4 * 4


def test_block_that_does_not_fit_names_itself() -> None:
    cfg = MODEL.validate_python(
        {
            "name": "cnn",
            "blocks": [{"filters": 4, "pool": "max"}, {"filters": 4, "kernel": 5, "padding": "valid"}],
        }
    )
    with pytest.raises(
        NNJError, match=r"model block 1 \(conv, 4 filters\) does not fit input of shape \(4, 4, 4\)"
    ):
        models.build(cfg, info((1, 8, 8)), 10)
    with pytest.raises(NNJError, match="needs image inputs"):
        models.build(MODEL.validate_python({"name": "cnn"}), info((64,), pixels=False), 10)


def test_pixels_are_standardized_inside_the_model() -> None:
    model = models.build(MODEL.validate_python({"name": "cnn"}), info((1, 8, 8)), 10)
    x = torch.full((1, 1, 8, 8), 150, dtype=torch.uint8)
    torch.testing.assert_close(model.pixels(x), torch.ones(1, 1, 8, 8))  # (150 - 100) / 50
    model.eval()
    torch.testing.assert_close(model(x), model(x.float()))  # uint8 and float pixels agree


def test_saved_cnn_predicts_the_same_after_loading(tmp_path: Path) -> None:
    cfg = MODEL.validate_python({"name": "resnet-small", "widths": [4, 8]})
    i = info((1, 8, 8))
    model = models.build(cfg, i, 10).eval()
    save_model(tmp_path, model, cfg, "classification", i, Preprocessing((1, 8, 8), 0.0, 1.0))
    loaded = load_model(tmp_path)
    raw = np.random.default_rng(0).integers(0, 256, (3, 64)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(raw).view(3, 1, 8, 8))
    torch.testing.assert_close(loaded.outputs(raw), expected)
