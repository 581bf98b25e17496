"""A classical grey -> colour model, the baseline a colorization network must beat.

Per pixel, a ridge regression maps features of the grey image around it to its colour
differences (R - Y, B - Y); RGB is rebuilt around the given luma Y, which is kept exactly
(up to clipping to 0..1). The features: the 7x7 grey neighbourhood, the local mean and
standard deviation over 9x9, 15x15 and 25x25 windows (texture: fur, grass, sky), the pixel's
position (sky is up) and the whole image's mean and spread (exposure, indoor or out). It is
fitted on the training photos' pixels and applied to the test photos.

Measured on the cats-dogs photos at 32x32 (docs/benchmarks.md, "Autoencoder applications"), ridge beats
both the grey image copied to every channel and the mean training chroma, while gradient
boosting on the same features (scikit-learn's histogram GBM, 200-300 rounds on 200k pixels)
scored below the mean chroma on the test photos: pixel features from 800 photos do not carry
a photo's colour cast, and the flexible model fits the training photos' own casts.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnjournal.errors import NNJError
from nnjournal.models.unet import LUMA, rgb_from_luma_chroma

PATCH = 7
WINDOWS = (9, 15, 25)


def _reflect_pad(x: torch.Tensor, r: int) -> torch.Tensor:
    # Reflection needs r < side; tiny images fall back to replicating the border.
    mode = "reflect" if r < min(x.shape[-2:]) else "replicate"
    return F.pad(x, (r, r, r, r), mode=mode)


def pixel_features(grey: torch.Tensor) -> np.ndarray:
    """(n * H * W, d) features of every pixel of (n, 1, H, W) grey images, row-major per image."""
    if grey.dim() != 4 or grey.shape[1] != 1:
        raise NNJError(f"the colour baseline needs grey images (n, 1, H, W), got shape {tuple(grey.shape)}")
    g = grey.float().cpu()
    n, _, h, w = g.shape
    parts = [F.unfold(_reflect_pad(g, PATCH // 2), PATCH)]  # (n, 49, H*W)
    for k in WINDOWS:
        mean = F.avg_pool2d(_reflect_pad(g, k // 2), k, 1)
        sq = F.avg_pool2d(_reflect_pad(g * g, k // 2), k, 1)
        parts += [mean.flatten(2), (sq - mean * mean).clamp_min(0).sqrt().flatten(2)]
    rows, cols = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    parts += [rows.reshape(1, 1, -1).expand(n, 1, -1), cols.reshape(1, 1, -1).expand(n, 1, -1)]
    whole = g.flatten(1)
    parts += [
        whole.mean(1).reshape(n, 1, 1).expand(n, 1, h * w),
        whole.std(1).reshape(n, 1, 1).expand(n, 1, h * w),
    ]
    feats = torch.cat(parts, dim=1)  # (n, d, H*W)
    return feats.permute(0, 2, 1).reshape(n * h * w, -1).numpy()


def colour_differences(rgb: torch.Tensor) -> np.ndarray:
    """(n * H * W, 2) R - Y and B - Y of (n, 3, H, W) colour images (BT.601 luma Y)."""
    x = rgb.float().cpu()
    y = sum(wt * x[:, i : i + 1] for i, wt in enumerate(LUMA))
    diff = torch.cat([x[:, :1] - y, x[:, 2:] - y], dim=1)
    return diff.permute(0, 2, 3, 1).reshape(-1, 2).numpy()


class RidgeColouriser:
    """Ridge regression from a pixel's grey neighbourhood to its colour differences."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, grey: torch.Tensor, rgb: torch.Tensor) -> RidgeColouriser:
        # Standardised features: the patch pixels and the local means are nearly collinear on
        # smooth (larger) photos, which leaves an unscaled ridge system ill-conditioned.
        model = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        self.model_ = model.fit(pixel_features(grey), colour_differences(rgb))
        return self

    def predict(self, grey: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) colour images with the given luma, clipped to 0..1."""
        n, _, h, w = grey.shape
        diff = self.model_.predict(pixel_features(grey))
        diff_t = torch.from_numpy(diff).float().reshape(n, h, w, 2).permute(0, 3, 1, 2)
        return rgb_from_luma_chroma(grey.float().cpu(), diff_t).clamp(0, 1)


def colour_baselines(
    train_grey: torch.Tensor, train_rgb: torch.Tensor, test_grey: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Each classical colorization of the test images, by report name: the grey image copied
    to every channel, the mean training chroma added to the grey, and the ridge model."""
    g = test_grey.float().cpu()
    mean_diff = torch.from_numpy(colour_differences(train_rgb).mean(axis=0)).float()
    flat = mean_diff.reshape(1, 2, 1, 1).expand(len(g), 2, *g.shape[-2:])
    ridge = RidgeColouriser().fit(train_grey, train_rgb).predict(g)
    return {
        "grey copied to RGB": g.expand(-1, 3, -1, -1),
        "grey + mean training chroma": rgb_from_luma_chroma(g, flat).clamp(0, 1),
        "ridge on grey patches (classical colour model)": ridge,
    }
