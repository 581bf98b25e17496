"""MNIST, Fashion-MNIST and Kuzushiji-MNIST: 28x28 grey images in LeCun's IDX format.

Files are looked for in `data.path`, then `$NNJ_DATA_DIR/<name>/`, then the cache; missing
ones are downloaded from the canonical mirror and checked against the published MD5. When
only the official test split (10,000 images) is there, it is split 8,000 / 2,000 (seeded,
stratified) and the report says so.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from nnjournal.config import IdxImagesData
from nnjournal.data.bundle import DataBundle
from nnjournal.data.download import download
from nnjournal.data.images import cached_arrays, image_bundle, split_test_off
from nnjournal.data.paths import cache_dir, data_dir
from nnjournal.errors import NNJError

# name -> (canonical mirror, {file: md5}, class names); checksums as torchvision publishes them.
SOURCES: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        [str(i) for i in range(10)],
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    ),
    "kmnist": (
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        {
            "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
            "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
            "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
            "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
        },
        ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
    ),
}

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not) as a numpy array: magic 0 0 <type> <ndim>, then one
    big-endian uint32 per dimension, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise NNJError(f"{path}: not a readable IDX file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise NNJError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    data = raw[4 + 4 * ndim :]
    if len(data) != expected:
        raise NNJError(f"{path}: header says shape {dims} ({expected} bytes) but {len(data)} bytes follow")
    return np.frombuffer(data, dtype=dtype).reshape(dims)


_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    return None


def locate(cfg: IdxImagesData) -> dict[str, Path]:
    """Paths of the IDX files for `cfg.name`, keyed "train_images", "test_labels", ...

    Local files win: a folder holding at least the test split is used as it is (the loader
    then splits the test set itself). Only when no folder has them are all four downloaded
    into the cache (when `cfg.download`)."""
    mirror, files, _ = SOURCES[cfg.name]
    if cfg.path is not None:
        folder = Path(cfg.path).expanduser()
        if not folder.is_dir():
            raise NNJError(f"data.path {folder} is not a folder holding {cfg.name} IDX files")
        folders = [folder]
    else:
        folders = [d / cfg.name for d in (data_dir(), cache_dir()) if d is not None]
    for folder in folders:
        found = {key: p for key, stem in _STEMS.items() if (p := _find(folder, stem)) is not None}
        if "test_images" in found and "test_labels" in found:
            return found
    if not cfg.download or cfg.path is not None:
        return {}
    base = (cfg.mirror or mirror).rstrip("/") + "/"
    return {
        key: download(base + f"{stem}.gz", cache_dir() / cfg.name / f"{stem}.gz", md5=files[f"{stem}.gz"])
        for key, stem in _STEMS.items()
    }


def load_idx_images(cfg: IdxImagesData, seed: int) -> DataBundle:
    found = locate(cfg)
    if "test_images" not in found or "test_labels" not in found:
        where = cfg.path or f"$NNJ_DATA_DIR/{cfg.name}"
        raise NNJError(
            f"{cfg.name}: t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz) not found in {where}"
            " (set data.path, NNJ_DATA_DIR, or data.download=true)"
        )
    key = {k: (str(p), p.stat().st_size, p.stat().st_mtime_ns) for k, p in sorted(found.items())}
    arrays = cached_arrays(cfg.name, key, lambda: {k: read_idx(p) for k, p in found.items()})
    x_test, y_test = _images(arrays["test_images"]), arrays["test_labels"].astype(np.int64)
    _check_pair(cfg.name, "test", x_test, y_test)
    class_names = SOURCES[cfg.name][2]
    notes = []
    if "train_images" in arrays and "train_labels" in arrays:
        x_train, y_train = _images(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
        _check_pair(cfg.name, "train", x_train, y_train)
    else:
        tr, te = split_test_off(y_test, cfg.test_fraction, seed)
        notes.append(
            f"Only the official {cfg.name} test split ({len(y_test):,} images) was found, so it was split "
            f"{len(tr):,} train / {len(te):,} test (seeded, stratified); with the 60,000-image training "
            "files present they are used instead."
        )
        x_train, y_train, x_test, y_test = x_test[tr], y_test[tr], x_test[te], y_test[te]
    return image_bundle(
        cfg.name,
        (x_train, y_train),
        (x_test, y_test),
        class_names=class_names,
        val_fraction=cfg.val_fraction,
        seed=seed,
        notes=notes,
        max_train=cfg.max_train,
    )


def _images(x: np.ndarray) -> np.ndarray:
    if x.ndim != 3 or x.dtype != np.uint8:
        raise NNJError(f"IDX images must be uint8 (n, rows, cols), got {x.dtype} {x.shape}")
    return x[:, None, :, :]  # (n, 1, 28, 28)


def _check_pair(name: str, split: str, x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise NNJError(f"{name} {split}: {len(x)} images but {len(y)} labels")
    if y.min() < 0 or y.max() > 9:
        raise NNJError(f"{name} {split}: labels must be 0..9, found {y.min()}..{y.max()}")
