"""scikit-learn's handwritten digits: 1,797 real 8x8 scans, pixel values 0..16."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as sklearn_digits

from nnjournal.config import DigitsData
from nnjournal.data.bundle import DataBundle, DataInfo, as_split, split_indices
from nnjournal.data.images import image_bundle
from nnjournal.data.preprocessing import Preprocessing


def load_digits(cfg: DigitsData, seed: int) -> DataBundle:
    raw = sklearn_digits()
    x, y = raw.data.astype(np.float32), raw.target.astype(np.int64)
    tr, va, te = split_indices(y, (cfg.val_fraction, cfg.test_fraction), seed, stratify=True)
    if cfg.as_images:
        # As images: uint8 pixels like every other image set. The 17 grey levels 0..16 map
        # exactly onto 0..255 (x 255/16, rounded), and raw 0..16 inputs still work in predict.
        pixels = np.rint(x * (255 / 16)).astype(np.uint8).reshape(-1, 1, 8, 8)
        return image_bundle(
            "digits",
            (pixels[tr], y[tr]),
            (pixels[te], y[te]),
            class_names=[str(i) for i in range(10)],
            val_fraction=0.0,
            val=(pixels[va], y[va]),
            seed=seed,
            raw_per_pixel=16 / 255,
        )
    shape = (64,)
    # Pixel intensities share one scale, so a fixed /16 keeps images images (and is what
    # every digits tutorial does); no statistics are fitted.
    prep = Preprocessing(shape, 0.0, 16.0)
    info = DataInfo(
        "digits",
        shape,
        n_classes=10,
        class_names=[str(i) for i in range(10)],
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        target_name="digit",
    )
    return DataBundle(
        train=as_split(prep.transform(x[tr]), y[tr], True),
        val=as_split(prep.transform(x[va]), y[va], True) if len(va) else None,
        test=as_split(prep.transform(x[te]), y[te], True),
        info=info,
        preprocessing=prep,
    )
