"""CIFAR-10: 60,000 32x32 colour photos in 10 classes (50,000 train / 10,000 test).

The canonical distribution is Python pickles (`data_batch_1..5`, `test_batch`,
`batches.meta`). A pickle can run arbitrary code, so they are read with
`RestrictedUnpickler`, which admits only what those files contain (dicts, lists, bytes,
numbers and numpy arrays) and refuses any other object before it is built. An `.npz` with
`x_train, y_train, x_test, y_test` (uint8 NHWC or NCHW) is read with allow_pickle=False.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnjournal.config import Cifar10Data
from nnjournal.data.bundle import DataBundle
from nnjournal.data.download import download
from nnjournal.data.images import cached_arrays, image_bundle
from nnjournal.data.paths import cache_dir, data_dir
from nnjournal.errors import NNJError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]

# The only globals a CIFAR batch needs: how numpy pickles an ndarray and its dtype
# (`numpy.core` before NumPy 2, `numpy._core` after; `_frombuffer` for protocol 5), and
# `_codecs.encode`, which protocol-2 pickles written by Python 3 use to rebuild bytes.
# Each only builds plain data.
_ALLOWED = (
    {(m, "_reconstruct") for m in ("numpy.core.multiarray", "numpy._core.multiarray")}
    | {(m, "scalar") for m in ("numpy.core.multiarray", "numpy._core.multiarray")}
    | {(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")}
    | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refused to load {module}.{name}: only numpy arrays, lists, dicts and bytes"
        )


def restricted_load(data: bytes, source: str) -> Any:
    """Unpickle `data` (from `source`, named in errors) with `RestrictedUnpickler`."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as err:
        raise NNJError(f"{source}: {err}; not loading it") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError) as err:
        raise NNJError(f"{source}: not a readable CIFAR batch ({err})") from None
    _check_plain(obj, source)
    return obj


def _check_plain(obj: Any, source: str) -> None:
    # Object arrays could smuggle anything the pickle reconstructed; CIFAR has none.
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise NNJError(f"{source}: holds an object array; not loading it")
    if isinstance(obj, dict):
        for v in obj.values():
            _check_plain(v, source)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _check_plain(v, source)


def read_batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch dict -> (uint8 images (n, 3, 32, 32), int64 labels (n,))."""
    batch = restricted_load(data, source)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise NNJError(f"{source}: expected a dict with b'data' and b'labels' (the CIFAR-10 batch layout)")
    x = np.asarray(batch[b"data"])
    y = np.asarray(batch[b"labels"], dtype=np.int64)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise NNJError(
            f"{source}: b'data' must be uint8 (n, 3072) matching the labels, got {x.dtype} {x.shape}"
        )
    return x.reshape(-1, 3, 32, 32), y


def _source(cfg: Cifar10Data) -> Path:
    if cfg.path is not None:
        path = Path(cfg.path).expanduser()
        if not path.exists():
            raise NNJError(
                f"data.path {path} not found (a cifar-10-batches-py folder, its .tar.gz, or an .npz)"
            )
        return path
    for root in (data_dir(), cache_dir()):
        if root is None:
            continue
        for candidate in (
            root / "cifar10" / "cifar-10-batches-py",
            root / "cifar10" / "cifar-10-python.tar.gz",
        ):
            if candidate.exists():
                return candidate
    if not cfg.download:
        raise NNJError("CIFAR-10 not found; set data.path=... or NNJ_DATA_DIR, or data.download=true")
    return download(URL, cache_dir() / "cifar10" / "cifar-10-python.tar.gz", md5=MD5)


def _decode(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npz":
        return _decode_npz(path)
    members: dict[str, bytes] = {}
    if path.is_dir():
        for name in [*TRAIN_BATCHES, "test_batch"]:
            if (path / name).exists():
                members[name] = (path / name).read_bytes()
    else:
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar.getmembers():
                    name = Path(member.name).name
                    if member.isfile() and name in [*TRAIN_BATCHES, "test_batch"]:
                        members[name] = tar.extractfile(member).read()
        except (tarfile.TarError, OSError) as err:
            raise NNJError(f"{path}: not a readable CIFAR-10 archive ({err})") from None
    train = [n for n in TRAIN_BATCHES if n in members]
    if "test_batch" not in members or not train:
        raise NNJError(f"{path}: needs test_batch and at least one data_batch_N (found {sorted(members)})")
    xs, ys = zip(*(read_batch(members[n], f"{path}/{n}") for n in train), strict=True)
    x_test, y_test = read_batch(members["test_batch"], f"{path}/test_batch")
    return {"x_train": np.concatenate(xs), "y_train": np.concatenate(ys), "x_test": x_test, "y_test": y_test}


def _decode_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise NNJError(f"{path}: missing array(s) {sorted(missing)}")
            out = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise NNJError(f"{path}: not a readable .npz without pickled objects ({err})") from None
    for key in ("x_train", "x_test"):
        x = out[key]
        if x.dtype != np.uint8 or x.ndim != 4 or 3 not in (x.shape[1], x.shape[3]):
            raise NNJError(
                f"{path}: {key} must be uint8 (n, 32, 32, 3) or (n, 3, 32, 32), got {x.dtype} {x.shape}"
            )
        out[key] = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.shape[3] == 3 else x
    return out


def load_cifar10(cfg: Cifar10Data, seed: int) -> DataBundle:
    path = _source(cfg)
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    key = {
        "path": str(path.resolve()),
        "files": [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files],
    }
    arrays = cached_arrays("cifar10", key, lambda: _decode(path))
    y_train, y_test = arrays["y_train"].astype(np.int64), arrays["y_test"].astype(np.int64)
    for label, y in (("y_train", y_train), ("y_test", y_test)):
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise NNJError(f"{path}: {label} must hold labels 0..9, found {y.min()}..{y.max()}")
    return image_bundle(
        "cifar10",
        (arrays["x_train"], y_train),
        (arrays["x_test"], y_test),
        class_names=CLASS_NAMES,
        val_fraction=cfg.val_fraction,
        seed=seed,
        max_train=cfg.max_train,
    )
