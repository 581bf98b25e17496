"""Corruptions for denoising autoencoders: the model sees a corrupted input and learns to
reconstruct the clean one (the targets are never touched).

Each function takes a batch `x` (n, ...) on the data's 0..1 scale and returns a new tensor;
random draws use the global torch RNG. They are reached through `training.augment` (the
per-batch augmentation hook) and, with a fixed seed, through `corrupt_fixed` for evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnjournal.config import AugmentConfig
from nnjournal.errors import NNJError

Corruption = Callable[[torch.Tensor], torch.Tensor]


def additive_gaussian(std: float) -> Corruption:
    """x + N(0, std^2) on every value (the Keras denoising example uses std 0.5, we 0.4)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x + std * torch.randn_like(x)

    return apply


def zero_mask(fraction: float) -> Corruption:
    """Set a random `fraction` of the values to zero (masking noise, Vincent et al. 2008)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x * (torch.rand_like(x) >= fraction)

    return apply


def salt_and_pepper(fraction: float, low: float = 0.0, high: float = 1.0) -> Corruption:
    """Set a random `fraction` of the values to `low` or `high` (half each)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        u = torch.rand_like(x)
        hit = u < fraction
        # Reuse the same draw: below fraction/2 is pepper, between fraction/2 and fraction is salt.
        value = torch.where(u < fraction / 2, torch.full_like(x, low), torch.full_like(x, high))
        return torch.where(hit, value, x)

    return apply


def square_mask(side: int) -> Corruption:
    """Blank one random `side` x `side` square per image (n, C, H, W): the "auto filling"
    (inpainting) corruption. Flat inputs are treated as square images."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        img = x if x.dim() == 4 else x.reshape(len(x), 1, *_square(x.shape[1:].numel()))
        n, _, h, w = img.shape
        s = min(side, h, w)
        top = torch.randint(0, h - s + 1, (n, 1, 1), device=x.device)
        left = torch.randint(0, w - s + 1, (n, 1, 1), device=x.device)
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        inside = (rows >= top) & (rows < top + s) & (cols >= left) & (cols < left + s)  # (n, H, W)
        return (img * ~inside[:, None]).reshape(x.shape)

    return apply


def clip_to(low: float, high: float) -> Corruption:
    """Keep corrupted values inside the data range (Gaussian noise otherwise leaves it)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        return x.clamp(low, high)

    return apply


def corruption_steps(cfg: AugmentConfig) -> list[Corruption]:
    """The corruptions `cfg` switches on, in the order they apply after additive noise;
    clipping comes last so every corrupted value stays in range."""
    steps: list[Corruption] = []
    if cfg.watermark is not None:  # issue 18: a generated watermark (data/watermark.py)
        from nnjournal.data.watermark import watermark

        steps.append(watermark(cfg.watermark))
    if cfg.square_mask > 0:
        steps.append(square_mask(cfg.square_mask))
    if cfg.mask_fraction > 0:
        steps.append(zero_mask(cfg.mask_fraction))
    if cfg.salt_pepper_fraction > 0:
        lo, hi = cfg.clip if cfg.clip is not None else (0.0, 1.0)
        steps.append(salt_and_pepper(cfg.salt_pepper_fraction, lo, hi))
    if cfg.clip is not None:
        steps.append(clip_to(*cfg.clip))
    return steps


def is_corrupting(cfg: AugmentConfig) -> bool:
    """Whether training inputs differ from the clean targets (a denoising set-up)."""
    return bool(cfg.noise_std or cfg.feature_dropout or cfg.mask_fraction or cfg.salt_pepper_fraction) or (
        cfg.square_mask > 0 or cfg.watermark is not None
    )


def corrupt_fixed(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor], seed: int) -> torch.Tensor:
    """`fn(x)` with its random draws fixed by `seed` (the same corrupted test set every run),
    leaving the global RNG as it was."""
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return fn(x)


def _square(n: int) -> tuple[int, int]:
    side = int(round(n**0.5))
    if side * side != n:
        raise NNJError(
            f"training.augment square_mask needs image inputs; {n} features is not a square image (remove it)"
        )
    return side, side
