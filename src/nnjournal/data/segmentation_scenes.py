"""Generated segmentation scenes with exact masks: MNIST digits on cluttered canvases.

A scene is a `canvas` x `canvas` grey image: a smooth background (an offset, a linear
gradient and low-frequency blobs, plus fine texture), clutter drawn over it (pen strokes as
bright as ink, and pieces of other digits at lower intensity), then `min_digits`..`max_digits`
MNIST digits resized to `min_size`..`max_size` pixels and pasted over everything, each with
its own brightness. The mask is exactly the pasted digits' pixels: a pixel belongs to a digit
when the resized digit's ink there is above `ink_threshold` (a later digit covers an earlier
one, in the image and in the semantic labels alike).

The clutter is what makes a plain threshold a real but beatable baseline: bright background
regions and strokes pass any global threshold, and a dim digit on a bright region falls below
it. Shape tells them apart; brightness alone does not.

The digits themselves are split before any scene is made: test scenes use only held-out
digits (their fragments too), validation scenes digits of their own, so a test score measures
segmentation of digits the network never saw. Scenes are seeded (one generator per split) and
cached under `$NNJ_CACHE_DIR/images/` like decoded image sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from nnjournal.config.data import DigitScenesData, IdxImagesData
from nnjournal.data.bundle import DataBundle, DataInfo, Split
from nnjournal.data.idx import locate, read_idx
from nnjournal.data.images import cached_arrays, pixel_statistics, split_test_off
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.errors import NNJError

GENERATOR_VERSION = 1  # part of the cache key: bump when the scenes a seed gives change
STROKE_SPACING = 0.75  # pixels between the points that draw a stroke (closer than its width: no dots)
FRAGMENT_SIDES = (10, 18)  # side range of the window cut from another digit's 28x28 image


@dataclass
class Scene:
    """One generated scene: `image` (H, W) floats in 0..1, `mask` (H, W) class per pixel
    (0 = background), and where each digit went: (pool index, top, left, side)."""

    image: np.ndarray
    mask: np.ndarray
    placed: list[tuple[int, int, int, int]] = field(default_factory=list)


def resized_ink(digit: np.ndarray, side: int) -> np.ndarray:
    """A 28x28 uint8 digit resized to `side` x `side` (bilinear), as ink in 0..1."""
    img = Image.fromarray(np.ascontiguousarray(digit)).resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def _background(rng: np.random.Generator, s: int, amplitude: float) -> np.ndarray:
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / max(s - 1, 1)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    coarse = Image.fromarray(rng.random((5, 5), dtype=np.float32), mode="F")
    blobs = np.asarray(coarse.resize((s, s), Image.Resampling.BICUBIC), dtype=np.float32)
    img = (
        rng.uniform(0.0, 0.15)
        + rng.uniform(0.0, amplitude) * ramp
        + rng.uniform(0.0, amplitude) * blobs
        + rng.normal(0.0, rng.uniform(0.01, 0.06), (s, s))
    )
    return img.astype(np.float32)


def _stroke(rng: np.random.Generator, s: int) -> np.ndarray:
    """A soft quadratic Bezier pen stroke, as bright as ink can be."""
    ctrl = rng.uniform(-0.1 * s, 1.1 * s, size=(3, 2))
    length = float(np.linalg.norm(ctrl[1] - ctrl[0]) + np.linalg.norm(ctrl[2] - ctrl[1]))  # >= the curve's
    t = np.linspace(0.0, 1.0, max(int(np.ceil(length / STROKE_SPACING)), 2))[:, None]
    pts = ((1 - t) ** 2 * ctrl[0] + 2 * (1 - t) * t * ctrl[1] + t**2 * ctrl[2]).astype(np.float32)  # (P, 2)
    width = rng.uniform(0.7, 1.5)
    # exp(-d^2 / 2w^2) to the nearest point = the max over points of a separable Gaussian:
    # exp(-(r - r_p)^2 / 2w^2) * exp(-(c - c_p)^2 / 2w^2), an (S, S, P) product of two (S, P) tables.
    axis = np.arange(s, dtype=np.float32)[:, None]
    rows = np.exp(-((axis - pts[:, 0]) ** 2) / (2 * width**2))
    cols = np.exp(-((axis - pts[:, 1]) ** 2) / (2 * width**2))
    return np.float32(rng.uniform(0.35, 1.0)) * (rows[:, None, :] * cols[None, :, :]).max(axis=-1)


def _paste_max(img: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    """img = max(img, patch) where the patch (placed at top, left) overlaps the canvas."""
    s = img.shape[0]
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + patch.shape[0], s), min(left + patch.shape[1], s)
    if t1 > t0 and l1 > l0:
        region = img[t0:t1, l0:l1]
        np.maximum(region, patch[t0 - top : t1 - top, l0 - left : l1 - left], out=region)


def make_scene(
    rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray, cfg: DigitScenesData
) -> Scene:
    """One scene from the digit pool `digits` (m, 28, 28) uint8 with their `labels`."""
    s = cfg.canvas
    img = _background(rng, s, cfg.background)
    for _ in range(rng.integers(0, cfg.strokes + 1)):
        np.maximum(img, _stroke(rng, s), out=img)
    for _ in range(rng.integers(0, cfg.fragments + 1)):
        source = digits[rng.integers(len(digits))]
        w = int(rng.integers(FRAGMENT_SIDES[0], FRAGMENT_SIDES[1] + 1))
        r, c = rng.integers(0, 28 - w + 1, size=2)
        side = max(2, round(w * rng.integers(cfg.min_size, cfg.max_size + 1) / 28))
        piece = resized_ink(source[r : r + w, c : c + w], side) * rng.uniform(0.3, 0.75)
        _paste_max(
            img,
            piece,
            int(rng.integers(-side // 2, s - side // 2)),
            int(rng.integers(-side // 2, s - side // 2)),
        )
    mask = np.zeros((s, s), dtype=np.uint8)
    placed = []
    for _ in range(rng.integers(cfg.min_digits, cfg.max_digits + 1)):
        i = int(rng.integers(len(digits)))
        side = int(rng.integers(cfg.min_size, cfg.max_size + 1))
        top, left = (int(v) for v in rng.integers(0, s - side + 1, size=2))
        ink = resized_ink(digits[i], side)
        region = img[top : top + side, left : left + side]
        # "Over" compositing with the ink as opacity: the digit covers what lies beneath it.
        region[:] = region * (1 - ink) + ink * rng.uniform(0.65, 1.0)
        mask[top : top + side, left : left + side][ink > cfg.ink_threshold] = (
            labels[i] + 1 if cfg.semantic else 1
        )
        placed.append((i, top, left, side))
    return Scene(np.clip(img, 0.0, 1.0), mask, placed)


def make_scenes(
    n: int, digits: np.ndarray, labels: np.ndarray, cfg: DigitScenesData, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """`n` seeded scenes: (n, 1, S, S) uint8 pixels and (n, S, S) uint8 masks."""
    rng = np.random.default_rng(seed)
    s = cfg.canvas
    x = np.empty((n, 1, s, s), dtype=np.uint8)
    y = np.empty((n, s, s), dtype=np.uint8)
    for k in range(n):
        scene = make_scene(rng, digits, labels, cfg)
        x[k, 0] = np.rint(scene.image * 255).astype(np.uint8)
        y[k] = scene.mask
    return x, y


def digit_pools(cfg: DigitScenesData, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MNIST digits split into disjoint train / val / test pools (seeded, stratified): the
    official training files when present, else the 10,000 test images split in three."""
    found = locate(IdxImagesData(name="mnist", path=cfg.path, download=cfg.download))
    if "test_images" not in found or "test_labels" not in found:
        where = cfg.path or "$NNJ_DATA_DIR/mnist"
        raise NNJError(
            f"digit-scenes: MNIST's t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz) not found in "
            f"{where} (set data.path, NNJ_DATA_DIR, or data.download=true)"
        )
    key = {k: (str(p), p.stat().st_size, p.stat().st_mtime_ns) for k, p in sorted(found.items())}
    arrays = cached_arrays("mnist", key, lambda: {k: read_idx(p) for k, p in found.items()})
    x_te, y_te = arrays["test_images"], arrays["test_labels"].astype(np.int64)
    if "train_images" in arrays and "train_labels" in arrays:
        x_tr, y_tr = arrays["train_images"], arrays["train_labels"].astype(np.int64)
    else:
        tr, te = split_test_off(y_te, cfg.test_fraction, seed)
        x_tr, y_tr, x_te, y_te = x_te[tr], y_te[tr], x_te[te], y_te[te]
    pools = {"test": (x_te, y_te)}
    if cfg.val_fraction > 0:
        tr, va = split_test_off(y_tr, cfg.val_fraction, seed + 1)
        pools["val"] = (x_tr[va], y_tr[va])
        x_tr, y_tr = x_tr[tr], y_tr[tr]
    pools["train"] = (x_tr, y_tr)
    return pools


def load_digit_scenes(cfg: DigitScenesData, seed: int) -> DataBundle:
    """The `digit-scenes` loader: seeded scenes per split, masks as uint8 class maps in `y`."""
    pools = digit_pools(cfg, seed)
    sizes = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    pool_sizes = {name: len(p[1]) for name, p in pools.items()}

    def generate() -> dict[str, np.ndarray]:
        out = {}
        for i, name in enumerate(("train", "val", "test")):
            if sizes[name] and name in pools:
                out[f"x_{name}"], out[f"y_{name}"] = make_scenes(
                    sizes[name], *pools[name], cfg, seed * 1000 + i
                )
        return out

    key: dict[str, Any] = {
        "version": GENERATOR_VERSION,
        "config": cfg.model_dump(mode="json", exclude={"path", "download"}),
        "seed": seed,
        "pools": pool_sizes,
        "first_digits": {
            n: int(p[0][:50].astype(np.int64).sum()) for n, p in pools.items()
        },  # a changed source
    }
    arrays = cached_arrays("digit-scenes", key, generate)
    x_tr = arrays["x_train"]
    mean, std = pixel_statistics(x_tr, np.arange(len(x_tr)))
    class_names = ["background", *(str(d) for d in range(10))] if cfg.semantic else ["background", "digit"]
    share = float((arrays["y_test"] > 0).mean())
    notes = [
        f"Generated scenes ({cfg.canvas}x{cfg.canvas}, {cfg.min_digits}-{cfg.max_digits} MNIST digits of "
        f"{cfg.min_size}-{cfg.max_size} px on a cluttered background): {cfg.n_train:,} training scenes from "
        f"{pool_sizes['train']:,} digits, {cfg.n_val:,} validation scenes from {pool_sizes.get('val', 0):,} others, "
        f"{cfg.n_test:,} test scenes from {pool_sizes['test']:,} held-out digits. Digit pixels (ink > "
        f"{cfg.ink_threshold:g}) are {share:.1%} of the test pixels."
    ]
    info = DataInfo(
        "digit-scenes",
        (1, cfg.canvas, cfg.canvas),
        n_classes=len(class_names),
        class_names=class_names,
        target_name="mask",
        notes=notes,
        pixel_mean=mean,
        pixel_std=std,
    )

    def split(name: str) -> Split | None:
        if f"x_{name}" not in arrays:
            return None
        # Masks stay uint8 (an int64 copy would be 8x the pixels' memory); the task widens per batch.
        return Split(
            torch.from_numpy(arrays[f"x_{name}"].copy()), torch.from_numpy(arrays[f"y_{name}"].copy())
        )

    train, test = split("train"), split("test")
    assert train is not None and test is not None
    return DataBundle(
        train=train,
        val=split("val"),
        test=test,
        info=info,
        preprocessing=Preprocessing(info.input_shape, 0.0, 1.0),
    )
