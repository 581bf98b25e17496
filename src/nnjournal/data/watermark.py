"""A generated watermark as a corruption (issue 18's watermark removal): text in Pillow's
default bitmap font blended into each image at a random position (always wholly inside) and a
random opacity, out = (1 - a m) x + a m c, with m the text's 0/1 pixel mask, a the opacity
and c the mark's grey level.

Every random choice (characters, position, opacity, grey level) is drawn from torch's global
CPU generator, so `corrupt_fixed` gives the same marks for a seed and training batches get
fresh ones, like the other corruptions in data/corruption.py.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch

from nnjournal.config.watermark import WatermarkConfig
from nnjournal.errors import NNJError

ALPHABET = string.ascii_letters + string.digits


@lru_cache(maxsize=1)
def _font():  # noqa: ANN202 - a PIL.ImageFont.ImageFont
    from PIL import ImageFont

    return ImageFont.load_default_imagefont()  # the bitmap font, the same on every machine


@lru_cache(maxsize=4096)
def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """The pixels Pillow's default bitmap font sets for `text`, (11 * scale, width * scale) bool."""
    m = _font().getmask(text)
    width, height = m.size
    mask = np.asarray(m, dtype=np.uint8).reshape(height, width) > 0
    if scale > 1:
        mask = mask.repeat(scale, axis=0).repeat(scale, axis=1)
    mask.setflags(write=False)  # shared by the cache
    return mask


def draw_watermarks(
    n: int, height: int, width: int, cfg: WatermarkConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    """n random marks for (height, width) images: masks (n, 1, H, W) float 0/1, opacities
    (n,), grey levels (n,) and the texts. Random draws use torch's global CPU generator."""
    if cfg.text is not None:
        texts = [cfg.text] * n
    else:
        idx = torch.randint(0, len(ALPHABET), (n, cfg.chars)).tolist()
        texts = ["".join(ALPHABET[i] for i in row) for row in idx]
    lo, hi = cfg.opacity
    opacity = lo + (hi - lo) * torch.rand(n)
    fixed = torch.full((n,), 1.0 if cfg.color == "white" else 0.0)
    level = torch.rand(n) if cfg.color == "random" else fixed
    u = torch.rand(n, 2)  # where the mark's top-left corner goes, as a share of the free room
    masks = torch.zeros(n, 1, height, width)
    for i, text in enumerate(texts):
        m = text_mask(text, cfg.scale)
        mh, mw = m.shape
        if mh > height or mw > width:
            raise NNJError(
                f"training.augment.watermark: the mark {text!r} is {mw} x {mh} pixels, larger than the "
                f"{width} x {height} images; use fewer chars, a shorter text or a smaller scale"
            )
        top = int(u[i, 0] * (height - mh + 1))
        left = int(u[i, 1] * (width - mw + 1))
        masks[i, 0, top : top + mh, left : left + mw] = torch.from_numpy(m.astype(np.float32))
    return masks, opacity, level, texts


def _square_images(x: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) as given; flat (n, d) rows with a square d as (n, 1, side, side)."""
    if x.dim() == 4:
        return x
    d = x.shape[1:].numel()
    side = int(round(d**0.5))
    if side * side != d:
        raise NNJError(
            f"training.augment.watermark needs image inputs; {d} features is not a square image (remove it)"
        )
    return x.reshape(len(x), 1, side, side)


def watermark(cfg: WatermarkConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    """Blend a fresh random mark into every image of a batch (n, C, H, W) on the 0..1 scale;
    flat inputs are treated as square one-channel images."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        img = _square_images(x)
        n, _, h, w = img.shape
        masks, opacity, level, _ = draw_watermarks(n, h, w, cfg)
        a = (opacity[:, None, None, None] * masks).to(device=x.device, dtype=x.dtype)
        c = level[:, None, None, None].to(device=x.device, dtype=x.dtype)
        return (img * (1 - a) + a * c).reshape(x.shape)

    return apply
