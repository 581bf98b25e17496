"""Your own arrays from an .npz file (`x` and `y`), loaded with allow_pickle=False."""

from __future__ import annotations

import zipfile

import numpy as np

from nnjournal.config import ArraysData
from nnjournal.data.bundle import DataBundle, DataInfo, as_split, missing_class_notes, split_indices
from nnjournal.data.paths import data_file
from nnjournal.data.preprocessing import Preprocessing
from nnjournal.errors import NNJError


def load_arrays(cfg: ArraysData, seed: int, classification: bool) -> DataBundle:
    path = data_file("", cfg.path)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"x", "y"} - set(f.files)
            if missing:
                raise NNJError(
                    f"{path}: missing array(s) {sorted(missing)}; save with np.savez(path, x=X, y=y)"
                )
            x, y = f["x"].astype(np.float32), f["y"]
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise NNJError(f"{path}: not a readable .npz file without pickled objects ({err})") from None
    if len(x) != len(y):
        raise NNJError(f"{path}: x has {len(x)} rows but y has {len(y)}")
    if not np.isfinite(x).all():
        raise NNJError(f"{path}: x contains NaN or infinite values; impute or drop them first")
    shape = tuple(x.shape[1:])
    if classification:
        classes, y = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise NNJError(f"{path}: y has a single class {classes[0]!r}; classification needs two or more")
        class_names = [str(c) for c in classes]
    else:
        try:
            y, class_names = y.astype(np.float32), None
        except ValueError:
            raise NNJError(f"{path}: a regression target y must hold numbers, got {y.dtype} values") from None
    tr, va, te = split_indices(
        y, (cfg.val_fraction, cfg.test_fraction), seed, stratify=classification, class_names=class_names
    )
    notes = missing_class_notes({"validation": y[va], "test": y[te]}, len(class_names), class_names) if (
        class_names
    ) else []
    prep = Preprocessing.standardize(x[tr], shape) if cfg.standardize else Preprocessing(shape)
    info = DataInfo(
        path.stem,
        shape,
        n_classes=len(class_names) if class_names else None,
        class_names=class_names,
        notes=notes,
    )
    return DataBundle(
        train=as_split(prep.transform(x[tr]), y[tr], classification),
        val=as_split(prep.transform(x[va]), y[va], classification) if len(va) else None,
        test=as_split(prep.transform(x[te]), y[te], classification),
        info=info,
        preprocessing=prep,
    )
