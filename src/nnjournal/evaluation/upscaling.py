"""Classical image resizing: bilinear, bicubic and Lanczos-3, the baselines a super-resolution
network must beat.

Bicubic and Lanczos are separable convolution resamplers computed the way Pillow computes
them (`Image.resize` in mode "F"): output pixel i is centred at (i + 0.5) * in / out in input
coordinates, its kernel window is clipped at the image border and its weights renormalised to
sum to one, and when shrinking the kernel is stretched by the scale (antialiasing). One
(out, in) matrix per axis does the whole batch: `out = W_h @ image @ W_w^T`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal.errors import NNJError


def cubic_kernel(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel; a = -0.5 (Keys 1981, Pillow's BICUBIC) reproduces
    quadratics exactly, support 2."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((x - 5) * x + 8) * x * a - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def lanczos_kernel(x: np.ndarray, lobes: int = 3) -> np.ndarray:
    """sinc(x) sinc(x / lobes) inside |x| < lobes (Lanczos-3 for lobes = 3)."""
    return np.where(np.abs(x) < lobes, np.sinc(x) * np.sinc(x / lobes), 0.0)


KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "bicubic": (cubic_kernel, 2.0),
    "lanczos": (lanczos_kernel, 3.0),
}


def resample_matrix(n_in: int, n_out: int, method: str) -> np.ndarray:
    """(n_out, n_in) weights resizing one axis from n_in to n_out samples with `method`
    ("bicubic" or "lanczos"), as Pillow's precompute_coeffs does."""
    if method not in KERNELS:
        raise NNJError(f"resampling method must be one of {sorted(KERNELS)}, got {method!r}")
    if n_in < 1 or n_out < 1:
        raise NNJError(f"cannot resize an axis of {n_in} samples to {n_out}")
    kernel, support = KERNELS[method]
    scale = n_in / n_out
    stretch = max(scale, 1.0)  # shrinking widens the kernel: it low-passes before sampling
    reach = support * stretch
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo = max(int(centre - reach + 0.5), 0)
        hi = min(int(centre + reach + 0.5), n_in)
        taps = np.arange(lo, hi)
        w = kernel((taps - centre + 0.5) / stretch)
        weights[i, lo:hi] = w / w.sum()
    return weights


def resize(images: torch.Tensor, size: tuple[int, int], method: str) -> torch.Tensor:
    """(n, C, H, W) images resized to `size` = (H', W'): "bilinear" (torch, half-pixel
    centres, as `align_corners=False`), "bicubic" or "lanczos" (Pillow's). Values are not
    clipped: bicubic and Lanczos overshoot at edges by design."""
    if images.dim() != 4:
        raise NNJError(f"resize needs (n, C, H, W) images, got shape {tuple(images.shape)}")
    x = images.float()
    if method == "bilinear":
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    h, w = x.shape[-2:]
    rows = torch.from_numpy(resample_matrix(h, size[0], method)).to(x)
    cols = torch.from_numpy(resample_matrix(w, size[1], method)).to(x)
    return rows @ x @ cols.T


UPSCALERS = {
    "bilinear": "bilinear upsampling",
    "bicubic": "bicubic upsampling",
    "lanczos": "Lanczos-3 upsampling",
}


def upscaling_baselines(low: torch.Tensor, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Each classical upscaler's answer, clipped to the 0..1 pixel range, by report name."""
    return {name: resize(low.cpu(), size, method).clamp(0, 1) for method, name in UPSCALERS.items()}
