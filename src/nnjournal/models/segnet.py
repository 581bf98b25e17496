"""SegNet (Badrinarayanan, Kendall & Cipolla 2017): an encoder-decoder for per-pixel classes.

The encoder is stages of (conv 3x3 -> batch norm -> ReLU) x `convs_per_stage` followed by a
2x2 max pool that also returns *where* each maximum was. The decoder mirrors it: each stage
first un-pools with `MaxUnpool2d`, putting every value back at the position its encoder stage
took the maximum from (zeros elsewhere: a sparse map that keeps the boundaries the encoder
saw), then convolves the sparse map dense again. Passing indices instead of whole feature
maps is SegNet's idea: the decoder learns no upsampling and remembers little. A 1x1
convolution ends it with one logit per class and pixel.

`decoder = "unet"` is the comparison (Ronneberger et al. 2015): a learnt 2x2 transposed
convolution upsamples, and the encoder stage's whole feature map is concatenated before the
convolutions (a skip connection), at the memory cost SegNet avoids.

Input (n, C, H, W) floats; output (n, n_classes, H, W) logits. Odd sizes work: pooling rounds
down and each decoder stage is told the size its encoder stage had.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from nnjournal.errors import NNJError

Skip = tuple[torch.Tensor, torch.Size, torch.Tensor]  # (pool indices, pre-pool size, pre-pool features)


def conv_block(cin: int, cout: int, n: int, norm: bool, dropout: float = 0.0) -> nn.Sequential:
    """`n` x (conv 3x3 same -> [batch norm] -> ReLU), `cin` -> `cout` channels (the last conv
    changes the width), then optional channel dropout."""
    layers: list[nn.Module] = []
    for k in range(n):
        a, b = (cin if k == 0 else cout), cout
        layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not norm))  # a norm's shift replaces the bias
        if norm:
            layers.append(nn.BatchNorm2d(b))
        layers.append(nn.ReLU(inplace=True))
    if dropout > 0:
        layers.append(nn.Dropout2d(dropout))
    return nn.Sequential(*layers)


class SegNet(nn.Module):
    """Encoder stages of `channels` widths with index-returning max pools; a mirrored decoder
    that un-pools with those indices (`decoder = "unpool"`) or upsamples and concatenates the
    encoder's features (`"unet"`); a 1x1 classifier."""

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        channels: Sequence[int],
        *,
        convs_per_stage: int = 2,
        decoder: Literal["unpool", "unet"] = "unpool",
        norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not channels:
            raise NNJError("model.channels must name at least one encoder stage, e.g. [16, 32, 64]")
        self.decoder_kind = decoder
        widths = list(channels)
        self.encoder = nn.ModuleList(
            conv_block(cin, cout, convs_per_stage, norm)
            for cin, cout in zip([in_channels, *widths[:-1]], widths, strict=True)
        )
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        # Decoder stage i (deepest first) maps widths[i] back to widths[i - 1] (widths[0] last).
        outs = [widths[i - 1] if i > 0 else widths[0] for i in range(len(widths))]
        skip_width = widths if decoder == "unet" else [0] * len(widths)
        self.decoder = nn.ModuleList(
            conv_block(widths[i] + skip_width[i], outs[i], convs_per_stage, norm, dropout if i > 0 else 0.0)
            for i in reversed(range(len(widths)))
        )
        self.upsample = (
            nn.ModuleList(nn.ConvTranspose2d(w, w, 2, stride=2) for w in reversed(widths))
            if decoder == "unet"
            else None
        )
        self.classifier = nn.Conv2d(widths[0], n_classes, 1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[Skip]]:
        """The deepest feature map and, per stage (first first), what the decoder reuses."""
        skips: list[Skip] = []
        h = x
        for stage in self.encoder:
            f = stage(h)  # (n, c_i, H_i, W_i)
            h, idx = self.pool(f)  # (n, c_i, H_i // 2, W_i // 2), flat positions of each max in f
            skips.append((idx, f.shape, f))
        return h, skips

    def decode(self, h: torch.Tensor, skips: list[Skip]) -> torch.Tensor:
        for k, (stage, (idx, size, f)) in enumerate(zip(self.decoder, reversed(skips), strict=True)):
            if self.upsample is None:
                h = self.unpool(h, idx, output_size=size[-2:])  # each value back where its max was
            else:
                h = torch.cat([self.upsample[k](h, output_size=size[-2:]), f], dim=1)
            h = stage(h)
        return self.classifier(h)  # (n, n_classes, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, skips = self.encode(x)
        return self.decode(h, skips)


def check_fits(channels: Sequence[int], height: int, width: int) -> None:
    """Refuse more pooling stages than the image can halve (each stage needs >= 2 pixels)."""
    h, w = height, width
    for i in range(len(channels)):
        if h < 2 or w < 2:
            raise NNJError(
                f"model.channels has {len(channels)} encoder stages, but a {height}x{width} image is {h}x{w} "
                f"before stage {i + 1}'s 2x2 pooling; use at most {i} stages or a larger image"
            )
        h, w = h // 2, w // 2
