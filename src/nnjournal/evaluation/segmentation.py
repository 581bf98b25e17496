"""Segmentation metrics and the classical baselines they are compared with.

Mean IoU is computed from counts, never averaged over chunks: `overlap_counts` gives, for one
batch of predicted and true masks, each class's intersection (pixels both call c) and union
(pixels either calls c) as float64 sums, plus the same for "any digit" (every class but 0).
Summed over the chunks of a split they are the whole split's counts, and `iou_metrics` turns
them into IoU_c = I_c / U_c, `miou` = their mean over the classes present in the split
(prediction or truth; a class nobody mentions has no IoU), and `digit_iou`, the IoU of the
digit pixels whatever their class (for binary masks, the digit class's IoU).

Baselines see the input image alone (uint8 pixels scaled to 0..1):
- `otsu_thresholds`: Otsu's (1979) threshold per image, the one that maximises the
  between-class variance of the image's own histogram;
- `best_threshold`: the single global threshold with the highest mean IoU on the training
  scenes, read off two 256-bin histograms (digit and background pixels) in one pass;
- all background: what a model that never finds a digit scores;
- `PatchLogistic`: logistic regression on each pixel's 7x7 neighbourhood, a learnt local
  classifier without the network's depth or context.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

PATCH = 7  # side of the neighbourhood the logistic-regression baseline sees
PATCH_PIXELS = 60_000  # training pixels it is fitted on (seeded sample)


def overlap_counts(pred: torch.Tensor, target: torch.Tensor, n_classes: int) -> dict[str, torch.Tensor]:
    """Per-class intersection and union pixel counts of predicted vs true masks (any shape,
    class ids 0..n_classes-1), and of the digit pixels (class > 0), as float64 0-d tensors."""
    k = n_classes
    cells = target.reshape(-1).long() * k + pred.reshape(-1).long()
    conf = torch.bincount(cells, minlength=k * k).view(k, k).double()  # rows: truth, columns: prediction
    inter = conf.diagonal()
    union = conf.sum(0) + conf.sum(1) - inter
    out = {f"intersection_{c}": inter[c] for c in range(k)}
    out.update({f"union_{c}": union[c] for c in range(k)})
    out["digit_intersection"] = conf[1:, 1:].sum()
    out["digit_union"] = conf.sum() - conf[0, 0]
    return out


def iou_metrics(sums: Mapping[str, float], n_classes: int) -> dict[str, float]:
    """`miou` and `digit_iou` from summed `overlap_counts` (see the module's note)."""
    ious = [
        float(sums[f"intersection_{c}"]) / float(sums[f"union_{c}"])
        for c in range(n_classes)
        if float(sums[f"union_{c}"]) > 0
    ]
    union = float(sums["digit_union"])
    return {
        "miou": float(np.mean(ious)) if ious else float("nan"),
        "digit_iou": float(sums["digit_intersection"]) / union if union > 0 else float("nan"),
    }


def mask_metrics(pred: torch.Tensor, target: torch.Tensor, n_classes: int) -> dict[str, float]:
    """miou, digit_iou and pixel accuracy of whole prediction and truth masks at once."""
    counts = {k: float(v) for k, v in overlap_counts(pred, target, n_classes).items()}
    accuracy = float((pred.reshape(-1).long() == target.reshape(-1).long()).double().mean())
    return {**iou_metrics(counts, n_classes), "pixel_accuracy": accuracy}


def otsu_thresholds(pixels: np.ndarray) -> np.ndarray:
    """Otsu's threshold of each uint8 image in (n, ...): pixels above it are foreground."""
    n = len(pixels)
    flat = pixels.reshape(n, -1).astype(np.int64)
    hist = np.bincount((flat + 256 * np.arange(n)[:, None]).ravel(), minlength=256 * n).reshape(n, 256)
    p = hist / flat.shape[1]
    w0 = np.cumsum(p, axis=1)  # share at or below each threshold
    mu = np.cumsum(p * np.arange(256), axis=1)
    mu_t = mu[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - mu) ** 2 / (w0 * (1 - w0))
    between = np.nan_to_num(between, nan=-1.0, posinf=-1.0)
    return between.argmax(axis=1)


def otsu_masks(pixels: np.ndarray) -> np.ndarray:
    """(n, H, W) 0/1 masks: each image's pixels above its own Otsu threshold."""
    t = otsu_thresholds(pixels)
    return (pixels.reshape(len(pixels), *pixels.shape[-2:]) > t[:, None, None]).astype(np.uint8)


def best_threshold(pixels: np.ndarray, masks: np.ndarray) -> int:
    """The global threshold t (pixels > t are digit) with the highest binary mean IoU on these
    images and masks, from the digit and background pixels' histograms."""
    v = pixels.reshape(-1).astype(np.int64)
    fg = masks.reshape(-1) > 0
    h_fg = np.bincount(v[fg], minlength=256).astype(np.float64)
    h_bg = np.bincount(v[~fg], minlength=256).astype(np.float64)
    above_fg = h_fg.sum() - np.cumsum(h_fg)  # digit pixels above t, for t = 0..255
    above_bg = h_bg.sum() - np.cumsum(h_bg)
    tp, fp = above_fg, above_bg
    fn, tn = h_fg.sum() - tp, h_bg.sum() - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        miou = (np.nan_to_num(tp / (tp + fp + fn)) + np.nan_to_num(tn / (tn + fn + fp))) / 2
    return int(miou.argmax())


def patch_features(pixels: np.ndarray) -> torch.Tensor:
    """(n, 1, H, W) uint8 -> (n, H, W, PATCH^2) floats: each pixel's neighbourhood (reflected
    at the border), in 0..1."""
    x = torch.from_numpy(pixels).float().div_(255.0)
    x = F.pad(x, (PATCH // 2,) * 4, mode="reflect")
    cols = F.unfold(x, PATCH)  # (n, PATCH^2, H * W)
    n, h, w = pixels.shape[0], pixels.shape[-2], pixels.shape[-1]
    return cols.transpose(1, 2).reshape(n, h, w, PATCH * PATCH)


class PatchLogistic:
    """Logistic regression from a pixel's 7x7 neighbourhood to its class, fitted on a seeded
    sample of training pixels."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.model = LogisticRegression(max_iter=300, C=1.0)

    def fit(self, pixels: np.ndarray, masks: np.ndarray) -> PatchLogistic:
        rng = np.random.default_rng(self.seed)
        total = masks.size
        take = rng.choice(total, size=min(PATCH_PIXELS, total), replace=False)
        per_image = masks[0].size
        rows = []
        for i in np.unique(take // per_image):  # features of the sampled scenes only
            where = take[take // per_image == i] % per_image
            rows.append(
                (
                    patch_features(pixels[i : i + 1]).reshape(per_image, -1)[where].numpy(),
                    masks[i].reshape(-1)[where],
                )
            )
        x = np.concatenate([r[0] for r in rows])
        y = np.concatenate([r[1] for r in rows]).astype(np.int64)
        self.model.fit(x, y)
        return self

    def predict(self, pixels: np.ndarray, chunk: int = 64) -> np.ndarray:
        out = []
        for s in range(0, len(pixels), chunk):
            f = patch_features(pixels[s : s + chunk])
            pred = self.model.predict(f.reshape(-1, f.shape[-1]).numpy())
            out.append(pred.reshape(f.shape[:3]).astype(np.uint8))
        return np.concatenate(out)
