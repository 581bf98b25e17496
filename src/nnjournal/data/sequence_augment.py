"""Augmentations for series and feature sequences (n, T) or (n, T, F), as plain functions.

Each draws separate random parameters per sequence from `generator` (or the global torch
RNG, which `seed_everything` seeds) and returns a new tensor of the same shape; labels are
unchanged. After Um et al. (2017) and Le Guennec et al. (2016): jitter and scaling change
amplitudes, window slicing and time warping change timing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nnjournal.errors import NNJError


def _as_3d(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if x.dim() == 2:
        return x.unsqueeze(-1), True
    if x.dim() == 3:
        return x, False
    raise NNJError(f"sequence augmentation takes (n, T) or (n, T, F), got shape {tuple(x.shape)}")


def jitter(x: torch.Tensor, sigma: float = 0.03, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive N(0, sigma^2) noise at every step: robustness to measurement noise."""
    noise = torch.randn(x.shape, generator=generator, device="cpu").to(x.device, x.dtype)
    return x + sigma * noise


def scaling(x: torch.Tensor, sigma: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each sequence multiplied by one factor ~ N(1, sigma^2) (per feature): the same shape at
    a different amplitude."""
    x3, flat = _as_3d(x)
    factor = 1 + sigma * torch.randn((x3.shape[0], 1, x3.shape[2]), generator=generator).to(x.device, x.dtype)
    out = x3 * factor
    return out.squeeze(-1) if flat else out


def _resample(x3: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """x3 (n, T, F) read at fractional step `positions` (n, T) by linear interpolation."""
    T = x3.shape[1]
    lo = positions.floor().clamp(0, T - 1).long()
    hi = (lo + 1).clamp(max=T - 1)
    w = (positions - lo.to(positions.dtype)).clamp(0, 1).unsqueeze(-1)  # (n, T, 1)
    gather = lambda idx: torch.gather(x3, 1, idx.unsqueeze(-1).expand(-1, -1, x3.shape[2]))  # noqa: E731
    return (1 - w) * gather(lo) + w * gather(hi)


def window_slice(x: torch.Tensor, ratio: float = 0.9, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random window of `ratio` * T steps of each sequence, stretched back to T steps."""
    if not 0 < ratio <= 1:
        raise NNJError(f"window_slice ratio must be in (0, 1], got {ratio}")
    x3, flat = _as_3d(x)
    n, T, _ = x3.shape
    width = ratio * (T - 1)
    start = torch.rand((n, 1), generator=generator) * (T - 1 - width)
    positions = (start + torch.linspace(0, width, T).unsqueeze(0)).to(x.device, x3.dtype)
    out = _resample(x3, positions)
    return out.squeeze(-1) if flat else out


def time_warp(x: torch.Tensor, sigma: float = 0.2, knots: int = 4,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Time runs at a smoothly varying speed (random speeds at `knots` points, interpolated,
    ~ N(1, sigma^2)); the warped clock is rescaled to start at step 0 and end at T - 1."""
    x3, flat = _as_3d(x)
    n, T, _ = x3.shape
    speeds = (1 + sigma * torch.randn((n, 1, knots + 2), generator=generator)).clamp(min=0.1)
    speed = F.interpolate(speeds, size=T, mode="linear", align_corners=True).squeeze(1)  # (n, T)
    clock = torch.cumsum(speed, dim=1) - speed[:, :1]
    positions = (clock / clock[:, -1:] * (T - 1)).to(x.device, x3.dtype)
    out = _resample(x3, positions)
    return out.squeeze(-1) if flat else out
