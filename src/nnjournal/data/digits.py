"""scikit-learn's handwritten digits: 1,797 real 8x8 scans, pixel values 0..16."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as sklearn_digits

from nnjournal.config import DigitsData
from nnjournal.data.bundle import DataBundle, DataInfo, as_split, split_indices
from nnjournal.data.preprocessing import Preprocessing


def load_digits(cfg: DigitsData, seed: int) -> DataBundle:
    raw = sklearn_digits()
    x, y = raw.data.astype(np.float32), raw.target.astype(np.int64)
    shape = (1, 8, 8) if cfg.as_images else (64,)
    # Pixel intensities share one scale, so a fixed /16 keeps images images (and is what
    # every digits tutorial does); no statistics are fitted.
    prep = Preprocessing(shape, 0.0, 16.0)
    tr, va, te = split_indices(y, (cfg.val_fraction, cfg.test_fraction), seed, stratify=True)
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
