"""IDX files (MNIST family): parsing, the 10k-only split, and downloading with checksums."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import require_data

from nnjournal import data
from nnjournal.config import validate_config
from nnjournal.data.download import download
from nnjournal.data.idx import read_idx
from nnjournal.errors import NNJError


def write_idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def mnist_cfg(**data_opts):
    return validate_config({"data": {"name": "mnist", **data_opts}}).data


def test_read_idx_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    for name in ("x-idx3-ubyte", "x-idx3-ubyte.gz"):
        np.testing.assert_array_equal(read_idx(write_idx(tmp_path / name, images)), images)


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "a-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    truncated = tmp_path / "b-idx3-ubyte"
    truncated.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(NNJError, match="header says shape"):
        read_idx(truncated)
    foreign = tmp_path / "c-idx3-ubyte"
    foreign.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(NNJError, match="bad magic"):
        read_idx(foreign)


def test_mnist_test_split_only_is_split_8000_2000(data_dir: Path) -> None:
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    bundle = data.load(mnist_cfg(val_fraction=0.1), seed=0)
    assert bundle.train.x.dtype.is_floating_point is False  # uint8 pixels, converted per batch
    assert tuple(bundle.train.x.shape[1:]) == (1, 28, 28)
    assert len(bundle.train) + len(bundle.val) == 8000 and len(bundle.test) == 2000
    assert any("Only the official mnist test split" in note for note in bundle.info.notes)
    # Seeded: the same seed gives the same split, another seed a different one.
    again = data.load(mnist_cfg(val_fraction=0.1), seed=0)
    other = data.load(mnist_cfg(val_fraction=0.1), seed=1)
    assert bool((again.test.x == bundle.test.x).all())
    assert not bool((other.test.x == bundle.test.x).all())
    # Standardization statistics come from the training images (MNIST's mean is ~33 of 255).
    assert 25 < bundle.info.pixel_mean[0] < 40 and 70 < bundle.info.pixel_std[0] < 90


def test_mnist_uses_full_training_split_when_present(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 120), ("t10k", 30)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    bundle = data.load(mnist_cfg(path=str(tmp_path), val_fraction=0.25), seed=0)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (90, 30, 30)
    assert bundle.info.notes == []


def test_mnist_missing_files_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NNJError, match="t10k-images-idx3-ubyte"):
        data.load(mnist_cfg(path=str(tmp_path)), seed=0)


# ---------------------------------------------------------------- downloads
@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving a temporary folder."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_download_verifies_the_published_checksum(http_root, tmp_path: Path) -> None:
    url, root = http_root
    real = require_data("mnist/t10k-labels-idx1-ubyte.gz")
    shutil.copy(real, root / real.name)
    dest = tmp_path / "cache" / real.name
    download(url + real.name, dest, md5="ec29112dd5afa0611ce80d1b7f02629c")  # MNIST's published md5
    assert hashlib.md5(dest.read_bytes()).hexdigest() == "ec29112dd5afa0611ce80d1b7f02629c"
    assert read_idx(dest).shape == (10000,)


def test_download_checksum_mismatch_leaves_no_file(http_root, tmp_path: Path) -> None:
    url, root = http_root
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.arange(50) % 10)  # not the real file
    dest_dir = tmp_path / "cache"
    with pytest.raises(NNJError, match="checksum mismatch .* expected md5 ec29112dd5afa0611ce80d1b7f02629c"):
        download(
            url + "t10k-labels-idx1-ubyte.gz", dest_dir / "labels.gz", md5="ec29112dd5afa0611ce80d1b7f02629c"
        )
    assert list(dest_dir.iterdir()) == []  # neither the file nor a partial temp file


def test_loader_downloads_from_mirror_and_refuses_wrong_files(http_root, monkeypatch, tmp_path: Path) -> None:
    url, root = http_root
    monkeypatch.delenv("NNJ_DATA_DIR", raising=False)
    monkeypatch.setenv("NNJ_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    with pytest.raises(NNJError, match="checksum mismatch for http://127.0.0.1"):
        data.load(mnist_cfg(mirror=url), seed=0)
    assert not any((tmp_path / "cache").rglob("*ubyte*"))  # nothing half-downloaded kept


def test_loader_reports_unreachable_mirror(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NNJ_DATA_DIR", raising=False)
    monkeypatch.setenv("NNJ_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(NNJError, match="could not download http://127.0.0.1:9/"):
        data.load(mnist_cfg(mirror="http://127.0.0.1:9/"), seed=0)
    with pytest.raises(NNJError, match="not found"):
        data.load(mnist_cfg(download=False), seed=0)
