"""Convolutional networks: a configurable stack of blocks and the named architectures of the
lecture notes (LeNet-5, a small VGG, a small ResNet), all built from the same parts.

A block is `conv -> [batch norm] -> activation -> [pool] -> [channel dropout]`; the head is
`global pool or flatten -> [dense layers] -> Linear(out)`. Shapes are (N, C, H, W).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nnjournal.config import ConvBlock
from nnjournal.data.bundle import DataInfo
from nnjournal.errors import NNJError
from nnjournal.models.init import init_weights
from nnjournal.models.mlp import make_activation


def conv_padding(padding: str | int, kernel: int, dilation: int) -> int:
    """Pixels of zero padding per side: `valid` = 0; `same` = d(k-1)/2, which keeps the size
    at stride 1 for odd kernels (and gives ceil(n/s) at stride s)."""
    if padding == "valid":
        return 0
    if padding == "same":
        return dilation * (kernel - 1) // 2
    return int(padding)


class SumPool2d(nn.Module):
    """Sum over each k x k window (average pooling times k^2)."""

    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, self.kernel) * (self.kernel * self.kernel)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel}"


class TiledConv2d(nn.Module):
    """Tiled convolution: k x k sets of kernels, untied within a k x k tile of output
    positions and repeated (tied) every k positions. k = 1 is an ordinary convolution;
    k = output size is a locally connected layer.

    All k^2 kernel sets are applied as one wide convolution, then each output position keeps
    the channels of its own set: cheap for small k, and simple to check."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, tile: int, **conv: Any) -> None:
        super().__init__()
        self.out_channels, self.tile = out_channels, tile
        self.conv = nn.Conv2d(in_channels, out_channels * tile * tile, kernel, **conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (N, k*k*C, H, W): every kernel set at every position
        n, _, h, w = y.shape
        k = self.tile
        rows = torch.arange(h, device=y.device) % k
        cols = torch.arange(w, device=y.device) % k
        which = (rows[:, None] * k + cols[None, :]).view(1, 1, 1, h, w)  # kernel set per position
        y = y.view(n, k * k, self.out_channels, h, w)
        return y.gather(1, which.expand(n, 1, self.out_channels, h, w)).squeeze(1)

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}, tile={self.tile}"


class ResidualBlock(nn.Module):
    """`act(F(x) + shortcut(x))` with F = conv3x3 -> BN -> act -> conv3x3 -> BN (He et al.
    2016). The shortcut is the identity, or a strided 1x1 conv + BN when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm: bool, activation: str) -> None:
        super().__init__()

        def bn(c: int) -> nn.Module:
            return nn.BatchNorm2d(c) if norm else nn.Identity()

        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=not norm),
            bn(out_channels),
            make_activation(activation),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=not norm),
            bn(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=not norm), bn(out_channels)
            )
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def make_block(in_channels: int, spec: ConvBlock, norm: bool, activation: str) -> nn.Sequential:
    """One block from its spec: conv (of the spec's kind) -> [BN] -> act -> [pool] -> [dropout]."""
    if in_channels % spec.groups or spec.filters % spec.groups:
        raise ValueError(
            f"groups={spec.groups} must divide the input channels ({in_channels}) and filters ({spec.filters})"
        )
    layers: list[nn.Module] = []
    if spec.kind == "residual":
        layers.append(ResidualBlock(in_channels, spec.filters, spec.stride, norm, activation))
    else:
        pad = conv_padding(spec.padding, spec.kernel, spec.dilation)
        opts = {"stride": spec.stride, "dilation": spec.dilation, "groups": spec.groups, "bias": not norm}
        if spec.kind == "conv":
            layers.append(nn.Conv2d(in_channels, spec.filters, spec.kernel, padding=pad, **opts))
        elif spec.kind == "tiled":
            layers.append(TiledConv2d(in_channels, spec.filters, spec.kernel, spec.tile, padding=pad, **opts))
        else:  # transposed: `same` padding multiplies the size by the stride
            extra = spec.stride - 1 if spec.padding == "same" else 0
            layers.append(
                nn.ConvTranspose2d(
                    in_channels, spec.filters, spec.kernel, padding=pad, output_padding=extra, **opts
                )
            )
        if norm:
            layers.append(nn.BatchNorm2d(spec.filters))
        layers.append(make_activation(activation))
    if spec.pool != "none":
        pool = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d, "sum": SumPool2d}[spec.pool]
        layers.append(pool(spec.pool_size))
    if spec.dropout > 0:
        layers.append(nn.Dropout2d(spec.dropout))
    return nn.Sequential(*layers)


class ConvNet(nn.Module):
    """`features` (the conv blocks) then `head` (pool/flatten -> dense -> output)."""

    def __init__(
        self,
        input_shape: Sequence[int],
        blocks: Sequence[ConvBlock],
        out_features: int,
        *,
        activation: str = "relu",
        norm: bool = True,
        head: str = "global-avg",
        hidden: Sequence[int] = (),
        dropout_head: float = 0.0,
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise NNJError(f"a CNN needs image inputs (C, H, W), got input shape {tuple(input_shape)}")
        self.features = nn.Sequential()
        channels, probe = input_shape[0], torch.zeros(1, *input_shape)
        for i, spec in enumerate(blocks):
            try:
                block = make_block(channels, spec, norm, activation).eval()
                with torch.no_grad():
                    probe = block(probe)
            except (ValueError, RuntimeError) as err:
                raise NNJError(
                    f"model block {i} ({spec.kind}, {spec.filters} filters) does not fit input of shape "
                    f"{tuple(probe.shape[1:])}: {str(err).splitlines()[0]}; use larger inputs (e.g. data.size) "
                    "or fewer, smaller-kernel or unpooled blocks (model.blocks)"
                ) from None
            self.features.append(block.train())
            channels = spec.filters
        pool = {"global-avg": nn.AdaptiveAvgPool2d(1), "global-max": nn.AdaptiveMaxPool2d(1)}.get(head)
        layers: list[nn.Module] = [pool, nn.Flatten()] if pool is not None else [nn.Flatten()]
        width = channels if pool is not None else probe[0].numel()
        for units in hidden:
            if dropout_head > 0:
                layers.append(nn.Dropout(dropout_head))
            layers += [nn.Linear(width, units), make_activation(activation)]
            width = units
        if dropout_head > 0:
            layers.append(nn.Dropout(dropout_head))
        layers.append(nn.Linear(width, out_features))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ---------------------------------------------------------------- builders
def _cnn(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    net = ConvNet(
        info.input_shape,
        cfg.blocks,
        out_features,
        activation=cfg.activation,
        norm=cfg.norm == "batch",
        head=cfg.head,
        hidden=cfg.hidden,
        dropout_head=cfg.dropout_head,
    )
    init_weights(net, cfg.init, cfg.activation)
    return net


def _lenet5(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    # The 1998 net sees 32x32 inputs: its first 5x5 conv keeps MNIST's 28x28 ("same"), the
    # second one shrinks 14 -> 10 ("valid"). On smaller images both keep the size, so 8x8
    # digits still fit.
    side = min(info.input_shape[1:]) if len(info.input_shape) == 3 else 0
    second = "valid" if side // 2 >= 10 else "same"
    blocks = [
        ConvBlock(filters=6, kernel=5, padding="same", pool=cfg.pool),
        ConvBlock(filters=16, kernel=5, padding=second, pool=cfg.pool),
    ]
    return ConvNet(
        info.input_shape,
        blocks,
        out_features,
        activation=cfg.activation,
        norm=False,
        head="flatten",
        hidden=[120, 84],
        dropout_head=cfg.dropout_head,
    )


def _vgg_small(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    blocks = []
    for width in cfg.widths:
        blocks += [ConvBlock(filters=width) for _ in range(cfg.convs_per_stage - 1)]
        blocks.append(ConvBlock(filters=width, pool="max", dropout=cfg.dropout))
    return ConvNet(
        info.input_shape,
        blocks,
        out_features,
        norm=cfg.norm == "batch",
        head=cfg.head,
        dropout_head=cfg.dropout_head,
    )


def _resnet_small(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    blocks = [ConvBlock(filters=cfg.widths[0])]  # the stem
    for i, width in enumerate(cfg.widths):
        for j in range(cfg.blocks_per_stage):
            stride = 2 if i > 0 and j == 0 else 1
            blocks.append(ConvBlock(kind="residual", filters=width, stride=stride))
    return ConvNet(info.input_shape, blocks, out_features, head="global-avg", dropout_head=cfg.dropout_head)


CNN_BUILDERS = {"cnn": _cnn, "lenet5": _lenet5, "vgg-small": _vgg_small, "resnet-small": _resnet_small}


def describe_cnn(cfg: Any) -> str:
    """One line for the journal: which CNN, with its main options."""
    if cfg.name == "lenet5":
        return f"LeNet-5 ({cfg.activation}, {cfg.pool} pooling)" + _dropout(cfg)
    if cfg.name == "vgg-small":
        return (
            f"VGG-style CNN, widths {cfg.widths} x {cfg.convs_per_stage} convs, {cfg.norm} norm"
            + _dropout(cfg)
        )
    if cfg.name == "resnet-small":
        return (
            f"small ResNet, widths {cfg.widths}, {cfg.blocks_per_stage} residual block(s) per stage"
            + _dropout(cfg)
        )
    kinds = ", ".join(
        f"{b.kind} {b.filters}@{b.kernel}x{b.kernel}"
        + (f"/s{b.stride}" if b.stride > 1 else "")
        + (f" +{b.pool}pool" if b.pool != "none" else "")
        for b in cfg.blocks
    )
    return f"CNN [{kinds}], {cfg.norm} norm, {cfg.activation}, {cfg.head} head" + _dropout(cfg)


def _dropout(cfg: Any) -> str:
    return f", dropout {cfg.dropout_head:g} in the head" if cfg.dropout_head else ""
