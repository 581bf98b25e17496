"""MNIST-1D (Greydanus, 2020): 40-long 1-D signals of 10 digit templates, generated locally
by the `mnist1d` package (no download), cached as .npz after the first generation."""

from __future__ import annotations

import numpy as np

from nnjournal.config import Mnist1dData
from nnjournal.data.bundle import DataBundle, DataInfo, as_split
from nnjournal.data.paths import cache_dir
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.files import atomic_write_bytes


def _generate(num_samples: int, train_split: float) -> dict[str, np.ndarray]:
    path = cache_dir() / f"mnist1d_n{num_samples}_s{train_split}_seed42.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split = num_samples, train_split
    ds = make_dataset(args)  # seed 42, the paper's fixed data set
    arrays = {k: np.asarray(ds[k]) for k in ("x", "y", "x_test", "y_test")}
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return arrays


def load_mnist1d(cfg: Mnist1dData, seed: int) -> DataBundle:
    ds = _generate(cfg.num_samples, cfg.train_split)
    x, y = ds["x"].astype(np.float32), ds["y"].astype(np.int64)
    x_test = ds["x_test"].astype(np.float32)
    if cfg.shuffle_time:  # one fixed permutation of the steps, the same for every split
        perm = np.random.default_rng(1234).permutation(x.shape[1])
        x, x_test = x[:, perm], x_test[:, perm]
    # The paper's test split is fixed; validation comes out of its training split.
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_val = int(round(cfg.val_fraction * len(x)))
    va, tr = order[:n_val], order[n_val:]
    prep = Preprocessing.standardize(x[tr], (40,))
    info = DataInfo(
        "mnist1d",
        (40,),
        n_classes=10,
        class_names=[str(i) for i in range(10)],
        feature_names=[f"t{i}" for i in range(40)],
        target_name="digit",
        notes=["Time steps shuffled by one fixed permutation (the control for order)."] if cfg.shuffle_time else [],
    )
    return DataBundle(
        train=as_split(prep.transform(x[tr]), y[tr], True),
        val=as_split(prep.transform(x[va]), y[va], True) if n_val else None,
        test=as_split(prep.transform(x_test), ds["y_test"].astype(np.int64), True),
        info=info,
        preprocessing=prep,
    )
