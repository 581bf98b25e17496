"""Data augmentation applied to each training batch on the device (never at evaluation).

Labels are unchanged. Each function takes a batch `x` (n, ...) and returns a new tensor;
random draws use the global torch RNG, which `seed_everything` seeds.

Image augmentations take (n, C, H, W) batches in pixel units (uint8 0..255 or floats on the
same scale; the model standardizes afterwards) and draw separate random parameters for
every image in the batch, all in a few batched tensor operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from nnjournal.config import AugmentConfig
from nnjournal.data.corruption import corruption_steps
from nnjournal.errors import NNJError

Augment = Callable[[torch.Tensor], torch.Tensor]


def gaussian_noise(std: float) -> Augment:
    """Additive N(0, std^2) noise on every input feature (inputs are standardized, so std is
    in units of one feature's spread)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x + std * torch.randn_like(x)

    return apply


def feature_dropout(p: float) -> Augment:
    """Zero a random fraction `p` of each example's input features (no rescaling: a missing
    feature reads as its mean after standardization)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x * (torch.rand_like(x) >= p)

    return apply


# ---------------------------------------------------------------- images (n, C, H, W)
def random_crop(padding: int) -> Augment:
    """Zero-pad by `padding` pixels, then crop the original size at a random offset (a random
    shift of up to `padding` pixels each way; the classic CIFAR augmentation)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        padded = F.pad(x, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (n,), device=x.device)
        dx = torch.randint(0, 2 * padding + 1, (n,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (n, 1, H, 1)
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (n, 1, 1, W)
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        chan = torch.arange(c, device=x.device)[None, :, None, None]
        return padded[batch, chan, rows, cols]

    return apply


def horizontal_flip(x: torch.Tensor) -> torch.Tensor:
    """Mirror a random half of the images left-right."""
    flip = torch.rand(len(x), device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_affine(rotation: float, zoom: float, translate: float) -> Augment:
    """Rotate by up to +-`rotation` degrees, scale by [1 - zoom, 1 + zoom] and shift by up to
    `translate` of the size, each image its own draw; bilinear, zeros outside."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        n = len(x)

        def uniform(half_width: float) -> torch.Tensor:
            return (torch.rand(n, device=x.device) * 2 - 1) * half_width

        angle = uniform(math.radians(rotation))
        scale = 1 + uniform(zoom)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        # affine_grid maps output to input coordinates in [-1, 1]: the inverse transform, so a
        # zoom-in divides by the scale and a shift of t pixels is 2t/size in these units.
        theta = torch.stack(
            [
                torch.stack([cos, -sin, uniform(2 * translate)], dim=1),
                torch.stack([sin, cos, uniform(2 * translate)], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    return apply


def brightness_contrast(brightness: float, contrast: float) -> Augment:
    """Multiply each image by a brightness factor in [1 - b, 1 + b], and stretch it around its
    own mean by a contrast factor in [1 - c, 1 + c]."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        if brightness > 0:
            x = x * (1 + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * brightness)
        if contrast > 0:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * (1 + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * contrast) + mean
        return x

    return apply


def cutout(size: int) -> Augment:
    """Blank a `size` x `size` square at a random centre of each image (DeVries & Taylor
    2017); the square may hang over the border. Filled with the batch's per-channel mean,
    which the model's standardization turns into zeros, as in the paper."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        cy = torch.randint(0, h, (n, 1, 1), device=x.device)
        cx = torch.randint(0, w, (n, 1, 1), device=x.device)
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        lo, hi = -(size // 2), size - size // 2  # offsets lo..hi-1 from the centre: `size` pixels
        dy, dx = rows - cy, cols - cx
        hole = ((dy >= lo) & (dy < hi) & (dx >= lo) & (dx < hi))[:, None]  # (n, 1, H, W)
        return torch.where(hole, x.mean(dim=(0, 2, 3), keepdim=True), x)

    return apply


def _image_steps(cfg: AugmentConfig) -> list[Augment]:
    steps: list[Augment] = []
    if cfg.crop_padding > 0:
        steps.append(random_crop(cfg.crop_padding))
    if cfg.hflip:
        steps.append(horizontal_flip)
    if cfg.rotation > 0 or cfg.zoom > 0 or cfg.translate > 0:
        steps.append(random_affine(cfg.rotation, cfg.zoom, cfg.translate))
    if cfg.brightness > 0 or cfg.contrast > 0:
        steps.append(brightness_contrast(cfg.brightness, cfg.contrast))
    if cfg.cutout > 0:
        steps.append(cutout(cfg.cutout))
    return steps


def build_augment(cfg: AugmentConfig) -> Augment | None:
    """One function applying every augmentation the config switches on, or None."""
    image_steps = _image_steps(cfg)
    steps: list[Augment] = []
    if cfg.feature_dropout > 0:
        steps.append(feature_dropout(cfg.feature_dropout))
    if cfg.noise_std > 0:
        steps.append(gaussian_noise(cfg.noise_std))
    steps += corruption_steps(cfg)  # denoising corruptions and clipping (data/corruption.py)
    if not steps and not image_steps:
        return None

    def apply(x: torch.Tensor) -> torch.Tensor:
        pixels = not x.is_floating_point()
        if pixels:
            x = x.float()  # uint8 images: augment in float, same pixel units
        if image_steps:
            if x.dim() != 4:
                raise NNJError(
                    "training.augment: crop/flip/rotation/zoom/translate/brightness/contrast/cutout need "
                    f"image batches (n, C, H, W), got shape {tuple(x.shape)}; use noise_std or "
                    "feature_dropout instead"
                )
            for step in image_steps:
                x = step(x)
            if pixels:  # brightness/contrast must not leave the range real pixels have
                x = x.clamp(0, 255)
        if steps and pixels:
            # Noise, feature dropout and corruptions act on the 0..1 pixel scale (noise_std 0.1 =
            # a tenth of the full range), as for float images; not on 0..255, where they vanish.
            x = x / 255.0
            for step in steps:
                x = step(x)
            return x * 255.0
        for step in steps:
            x = step(x)
        return x

    return apply
