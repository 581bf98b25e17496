"""U-Net (Ronneberger et al. 2015): an encoder-decoder whose decoder levels also see the
encoder's feature maps at the same resolution (skip connections, concatenated), so fine
detail does not have to squeeze through the bottleneck. Used for image-to-image
autoencoder applications: super-resolution and colorization.

    input ─ [conv3x3 act]x2 ─────────────────────────── concat ─ [conv3x3 act]x2 ─ head
               └ pool ─ [conv3x3 act]x2 ──── concat ─ [conv]x2 ┘ up
                          └ pool ─ ... bottleneck ┘ up

The head is a 3x3 conv to `out * upscale^2` channels, rearranged by a pixel shuffle
(sub-pixel convolution, Shi et al. 2016) when `upscale > 1`. With `skip=True` the classical
answer is added to the head's output (the input upscaled with Lanczos-3, or the grey image
copied to every channel), so the network learns only the residual; the head starts at zero,
so the untrained network *is* that classical answer. `chroma=True` (grey in, colour out)
predicts only the two colour differences R - Y and B - Y and rebuilds RGB around the given
luma Y, which is therefore kept exactly (up to clipping to 0..1).

A forward pass returns `AEOutput(recon, code, penalty)` like the other autoencoders; the
code is the bottleneck feature map, flattened.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nnjournal.errors import NNJError
from nnjournal.evaluation.upscaling import resample_matrix
from nnjournal.models.autoencoders import AEOutput, activation

# ITU-R BT.601 luma weights, as tasks/reconstruction.grayscale uses.
LUMA = (0.299, 0.587, 0.114)


def rgb_from_luma_chroma(luma: torch.Tensor, diff: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) RGB from luma Y (n, 1, H, W) and colour differences (R - Y, B - Y)
    (n, 2, H, W); G follows from Y = 0.299 R + 0.587 G + 0.114 B, so the luma is exact."""
    r = luma + diff[:, :1]
    b = luma + diff[:, 1:]
    g = (luma - LUMA[0] * r - LUMA[2] * b) / LUMA[1]
    return torch.cat([r, g, b], dim=1)


def _double_conv(c_in: int, c_out: int, act: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        activation(act),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        activation(act),
    )


class UNet(nn.Module):
    """U-Net with `len(channels)` levels (the last is the bottleneck): two 3x3 convs per
    level, 2x2 max-pool down, 2x2 transposed conv up, encoder maps concatenated into the
    decoder. Image sides must be divisible by 2^(len(channels) - 1)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (32, 64, 128),
        *,
        act: str = "relu",
        output_act: str = "linear",
        upscale: int = 1,
        skip: bool = True,
        chroma: bool = False,
    ) -> None:
        super().__init__()
        if len(channels) < 1:
            raise NNJError("model.channels needs at least one level for a U-Net")
        if chroma and (in_channels != 1 or out_channels != 3 or upscale != 1):
            raise NNJError(
                f"model.chroma needs grey (1-channel) inputs and colour (3-channel) targets at the same size, "
                f"got {in_channels} -> {out_channels} channels, upscale {upscale}; set model.chroma = false"
            )
        if skip and not chroma and in_channels not in (1, out_channels):
            raise NNJError(
                f"model.skip needs inputs with 1 or {out_channels} channels, got {in_channels}; set model.skip = false"
            )
        if (skip or chroma) and output_act != "linear":
            # The residual is added in pixel units; a squashing output would bend it.
            raise NNJError("model.skip and model.chroma need model.output_activation = 'linear' for a U-Net")
        self.down = nn.ModuleList()
        c = in_channels
        for width in channels:
            self.down.append(_double_conv(c, width, act))
            c = width
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for width in reversed(channels[:-1]):
            self.up.append(nn.ConvTranspose2d(c, width, 2, stride=2))
            self.merge.append(_double_conv(2 * width, width, act))
            c = width
        head_out = (2 if chroma else out_channels) * upscale**2
        self.head = nn.Conv2d(c, head_out, 3, padding=1)
        self.shuffle = nn.PixelShuffle(upscale) if upscale > 1 else nn.Identity()
        self.output_act = activation(output_act)
        self.out_channels, self.upscale, self.skip, self.chroma = out_channels, upscale, skip, chroma
        self.levels = len(channels)
        if skip or chroma:
            # Start at the classical answer: the head's residual is zero until training moves it.
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the decoder's last feature map, the bottleneck map)."""
        side = 2 ** (self.levels - 1)
        if x.shape[-1] % side or x.shape[-2] % side:
            raise NNJError(
                f"a {self.levels}-level U-Net needs image sides divisible by {side}, got "
                f"{tuple(x.shape[-2:])}; change data.size or model.channels"
            )
        kept = []
        h = x
        for i, block in enumerate(self.down):
            h = block(h if i == 0 else F.max_pool2d(h, 2))
            kept.append(h)
        bottleneck = h
        for up, merge, enc in zip(self.up, self.merge, reversed(kept[:-1]), strict=True):
            h = merge(torch.cat([up(h), enc], dim=1))
        return h, bottleneck

    def forward(self, x: torch.Tensor) -> AEOutput:
        h, bottleneck = self.features(x)
        out = self.shuffle(self.head(h))
        if self.chroma:
            recon = rgb_from_luma_chroma(x, out)
        else:
            recon = self.output_act(out + self._classical(x) if self.skip else out)
        code = bottleneck.flatten(1)
        return AEOutput(recon, code, code.new_zeros(code.shape[0]))

    def _classical(self, x: torch.Tensor) -> torch.Tensor:
        """The input resized to the output with Lanczos-3 (the strongest classical upscaler
        measured, docs/benchmarks.md, "Autoencoder applications"), grey repeated to every channel."""
        base = x
        if self.upscale > 1:
            h, w = x.shape[-2:]
            rows = torch.from_numpy(resample_matrix(h, h * self.upscale, "lanczos")).to(x)
            cols = torch.from_numpy(resample_matrix(w, w * self.upscale, "lanczos")).to(x)
            base = rows @ x @ cols.T
        if base.shape[1] != self.out_channels:
            base = base.expand(-1, self.out_channels, -1, -1)
        return base
