"""Image quality: PSNR and SSIM between a reference and a reconstruction, per image.

Both assume values on a known `data_range` (1.0 for images scaled to 0..1). Flat inputs
(n, d) with a square d are treated as 1-channel images."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nnjournal.errors import NNJError


def as_images(x: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) view of image-like inputs."""
    if x.dim() == 4:
        return x
    if x.dim() == 3:
        return x[:, None]
    side = int(round(math.sqrt(x.shape[1])))
    if side * side != x.shape[1]:
        raise NNJError(f"image metrics need images: {x.shape[1]} features per example is not a square image")
    return x.reshape(len(x), 1, side, side)


def psnr(reference: torch.Tensor, estimate: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: 10 log10(range^2 / MSE), (n,)."""
    mse = (reference - estimate).flatten(1).pow(2).mean(dim=1).clamp_min(1e-12)
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float, channels: int, device: torch.device) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(reference: torch.Tensor, estimate: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) per image, (n,): an 11x11 Gaussian window
    (sigma 1.5) as in the paper, shrunk to the image for small images such as 8x8 digits;
    K1 = 0.01, K2 = 0.03; channels averaged."""
    x, y = as_images(reference).float(), as_images(estimate).float()
    c, h, w = x.shape[1:]
    size = min(11, h, w)
    size -= 1 - size % 2  # odd, so the window has a centre
    win = _gaussian_window(size, 1.5 * size / 11, c, x.device)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x**2
    syy = blur(y * y) - mu_y**2
    sxy = blur(x * y) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(dim=1)
