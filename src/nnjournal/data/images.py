"""What every image loader shares: a disk cache of decoded uint8 arrays, and turning
(n, C, H, W) uint8 images into a `DataBundle`.

Images stay uint8 in memory and on the device (a quarter of float32); the model's first
layer (`models.pixels.PixelStandardize`) turns each batch into standardized floats, with the
per-channel mean and std of the training split that `DataInfo.pixel_mean/std` carry.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from nnjournal.data.bundle import DataBundle, DataInfo, Split, missing_class_notes
from nnjournal.data.paths import cache_dir
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes

Arrays = dict[str, np.ndarray]


def cached_arrays(kind: str, key: dict[str, Any], decode: Callable[[], Arrays]) -> Arrays:
    """`decode()`'s arrays, decoded once and then read from `$NNJ_CACHE_DIR/images/`.

    `key` names everything the result depends on (source paths, sizes, mtimes, options), so a
    changed source or option decodes again. Written atomically; read with allow_pickle=False."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = cache_dir() / "images" / f"{kind}-{digest}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (ValueError, OSError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, not trusted
    arrays = decode()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return arrays


def _strata(y: np.ndarray, smaller_part: float) -> np.ndarray | None:
    """`y` to stratify on, or None where scikit-learn cannot (a part smaller than the number of
    classes, or a class with a single example): then the split is merely seeded."""
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < 2 or smaller_part < len(classes):
        return None
    return y


def stratified_subset(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices of a seeded, stratified subset of `n` examples (all of them when n is None)."""
    idx = np.arange(len(y))
    if n is None or n >= len(y):
        return idx
    keep, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=_strata(y, min(n, len(y) - n)))
    return np.sort(keep)


def split_test_off(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified (train, test) indices, for sets that ship without a test split."""
    idx = np.arange(len(y))
    if test_fraction <= 0:
        raise NNJError("this image set has no test split of its own; set data.test_fraction > 0")
    small = min(test_fraction, 1 - test_fraction) * len(y)
    return train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=_strata(y, small))


def pixel_statistics(x: np.ndarray, rows: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images `x[rows]` (n, C, H, W): what the model
    standardizes with. Computed in float64 chunks so a 50k-image set does not need a float
    copy of itself."""
    channels = x.shape[1]
    total = np.zeros(channels)
    total_sq = np.zeros(channels)
    for start in range(0, len(rows), 4096):
        chunk = x[rows[start : start + 4096]].astype(np.float64)
        total += chunk.sum(axis=(0, 2, 3))
        total_sq += (chunk**2).sum(axis=(0, 2, 3))
    count = len(rows) * x.shape[2] * x.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-6))
    return [float(m) for m in mean], [float(s) for s in std]


def image_bundle(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    class_names: list[str],
    val_fraction: float,
    seed: int,
    notes: list[str] | None = None,
    raw_per_pixel: float = 1.0,
    max_train: int | None = None,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    decode: dict[str, Any] | None = None,
) -> DataBundle:
    """A bundle of uint8 (n, C, H, W) images: validation split off the training images
    (seeded, stratified), pixel statistics from the remaining training images only.

    `raw_per_pixel`: how many units of a user's raw input make one stored pixel step (digits
    are stored 0..255 but given as 0..16), so `nnj predict` accepts the data as users have it.
    `decode`: how image files were turned into these pixels (saved with the model, see
    `Preprocessing`)."""
    x_tr, y_tr = train
    x_te, y_te = test
    for label, x in (("training", x_tr), ("test", x_te)):
        if x.dtype != np.uint8 or x.ndim != 4:
            raise NNJError(f"{name}: {label} images must be uint8 (n, C, H, W), got {x.dtype} {x.shape}")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise NNJError(f"{name}: training images are {x_tr.shape[1:]} but test images {x_te.shape[1:]}")
    if len(x_tr) == 0 or len(x_te) == 0:
        raise NNJError(f"{name}: no training or no test images were found")
    notes = list(notes or [])
    keep = stratified_subset(y_tr, max_train, seed)
    if len(keep) < len(y_tr):
        notes.append(f"Training on a seeded stratified subset of {len(keep):,} of {len(y_tr):,} images.")
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    tr, va = np.arange(len(y_tr)), np.arange(0)
    if val is not None:
        x_tr, y_tr = np.concatenate([x_tr, val[0]]), np.concatenate([y_tr, val[1]])
        tr, va = np.arange(len(tr)), np.arange(len(tr), len(y_tr))
    elif val_fraction > 0:
        small = min(val_fraction, 1 - val_fraction) * len(tr)
        try:
            tr, va = train_test_split(
                tr, test_size=val_fraction, random_state=seed + 1, stratify=_strata(y_tr, small)
            )
        except ValueError:
            raise NNJError(
                f"{name}: {len(tr)} training images are too few to split off a validation fraction "
                f"of {val_fraction:g}; add images or set data.val_fraction = 0"
            ) from None
    mean, std = pixel_statistics(x_tr, tr)
    shape = tuple(int(s) for s in x_tr.shape[1:])
    notes += missing_class_notes({"validation": y_tr[va], "test": y_te}, len(class_names), class_names)
    info = DataInfo(
        name,
        shape,
        n_classes=len(class_names),
        class_names=class_names,
        target_name="class",
        notes=notes,
        pixel_mean=mean,
        pixel_std=std,
    )

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        # np.require copies only arrays that are read-only (fresh from a file buffer) or strided.
        return Split(
            torch.from_numpy(np.require(x, requirements=["C", "W"])), torch.from_numpy(y.astype(np.int64))
        )

    return DataBundle(
        train=split(x_tr[tr], y_tr[tr]),
        val=split(x_tr[va], y_tr[va]) if len(va) else None,
        test=split(x_te, y_te),
        info=info,
        # Raw inputs -> stored pixel units; the model standardizes from there.
        preprocessing=Preprocessing(shape, 0.0, raw_per_pixel, decode=decode),
    )
