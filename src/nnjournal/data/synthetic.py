"""XOR: the classic problem a single perceptron cannot solve and one hidden layer can."""

from __future__ import annotations

import numpy as np

from nnjournal.config import XorData
from nnjournal.data.bundle import DataBundle, DataInfo, as_split
from nnjournal.data.preprocessing import Preprocessing

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0], dtype=np.int64)


def load_xor(cfg: XorData, seed: int) -> DataBundle:
    """Train and test on the four points; validate on a Gaussian cloud around each corner."""
    rng = np.random.default_rng(seed)
    cloud = np.repeat(XOR_X, cfg.cloud_size, axis=0)
    cloud = cloud + rng.normal(0.0, cfg.noise, cloud.shape).astype(np.float32)
    cloud_y = np.repeat(XOR_Y, cfg.cloud_size)
    info = DataInfo(
        "xor",
        (2,),
        n_classes=2,
        class_names=["0", "1"],
        feature_names=["x1", "x2"],
        notes=[f"validation: {len(cloud)} noisy points (sigma={cfg.noise}) around the corners"],
    )
    return DataBundle(
        train=as_split(XOR_X, XOR_Y, True),
        val=as_split(cloud, cloud_y, True),
        test=as_split(XOR_X, XOR_Y, True),
        info=info,
        preprocessing=Preprocessing((2,)),
    )
