"""CIFAR-10: the canonical pickle batches through the restricted unpickler, .tar.gz and .npz,
and the cifar10-cnn recipe on a small CIFAR-format set written here."""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from nnjournal import data, experiment
from nnjournal.config import validate_config
from nnjournal.data.cifar import read_batch, restricted_load
from nnjournal.errors import NNJError


def make_images(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Learnable fake photos: class k is a noisy image with its own mean colour."""
    rng = np.random.default_rng(seed)
    labels = [i % 10 for i in range(n)]
    palette = np.random.default_rng(99).integers(30, 226, (10, 3))
    x = rng.normal(0, 25, (n, 3, 32, 32)) + palette[labels][:, :, None, None]
    return np.clip(x, 0, 255).astype(np.uint8), labels


def write_batch(path: Path, n: int, seed: int) -> None:
    """One batch in the canonical layout: a dict of bytes keys, (n, 3072) uint8 rows."""
    x, labels = make_images(n, seed)
    batch = {
        b"batch_label": b"training batch",
        b"labels": labels,
        b"data": x.reshape(n, 3072),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    path.write_bytes(pickle.dumps(batch, protocol=2))


def write_cifar_folder(root: Path, per_batch: int = 100) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in (1, 2):
        write_batch(folder / f"data_batch_{i}", per_batch, seed=i)
    write_batch(folder / "test_batch", per_batch, seed=9)
    return folder


class Boom:
    """What an attacker would pickle: unpickling it runs a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_execution(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": Boom(marker), b"labels": [0]}, protocol=2)
    with pytest.raises(NNJError, match=r"refused to load (posix|os|nt)\.system"):
        restricted_load(evil, "evil_batch")
    assert not marker.exists()
    # Plain pickle would have run it: the test file really is malicious.
    pickle.loads(evil)
    assert marker.exists()


def test_restricted_unpickler_refuses_other_classes_and_object_arrays(tmp_path: Path) -> None:
    from collections import OrderedDict

    with pytest.raises(NNJError, match="refused to load collections.OrderedDict"):
        restricted_load(pickle.dumps(OrderedDict(a=1)), "x")
    with pytest.raises(NNJError, match="object array"):
        restricted_load(pickle.dumps({b"data": np.array([1, "a"], dtype=object)}), "x")


def test_cifar_batch_round_trip(tmp_path: Path) -> None:
    write_batch(tmp_path / "b", 20, seed=0)
    x, y = read_batch((tmp_path / "b").read_bytes(), "b")
    expected, labels = make_images(20, 0)
    np.testing.assert_array_equal(x, expected)
    assert y.tolist() == labels


def test_cifar_batch_with_wrong_layout_is_refused(tmp_path: Path) -> None:
    bad = pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]})
    with pytest.raises(NNJError, match=r"uint8 \(n, 3072\)"):
        read_batch(bad, "bad")


def test_cifar_loader_reads_folder_tar_and_npz(tmp_path: Path) -> None:
    folder = write_cifar_folder(tmp_path)
    cfg = validate_config({"data": {"name": "cifar10", "path": str(folder), "val_fraction": 0.1}}).data
    bundle = data.load(cfg, seed=0)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (180, 20, 100)
    assert tuple(bundle.train.x.shape[1:]) == (3, 32, 32)
    assert bundle.info.class_names[0] == "airplane"

    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    from_tar = data.load(cfg.model_copy(update={"path": archive}), seed=0)
    assert bool((from_tar.test.x == bundle.test.x).all())

    x_tr, y_tr = make_images(50, 1)
    x_te, y_te = make_images(20, 2)
    npz = tmp_path / "cifar.npz"
    np.savez(
        npz, x_train=x_tr.transpose(0, 2, 3, 1), y_train=y_tr, x_test=x_te.transpose(0, 2, 3, 1), y_test=y_te
    )
    from_npz = data.load(cfg.model_copy(update={"path": npz}), seed=0)
    np.testing.assert_array_equal(from_npz.test.x.numpy(), x_te)  # NHWC converted to NCHW


def test_cifar_loader_refuses_a_malicious_batch_file(tmp_path: Path) -> None:
    folder = write_cifar_folder(tmp_path, per_batch=20)
    marker = tmp_path / "pwned"
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Boom(marker), b"labels": [0]}, protocol=2))
    cfg = validate_config({"data": {"name": "cifar10", "path": str(folder)}}).data
    with pytest.raises(NNJError, match="data_batch_2: refused to load"):
        data.load(cfg, seed=0)
    assert not marker.exists()


def test_cifar10_cnn_recipe_on_a_small_cifar_file(tmp_path: Path) -> None:
    folder = write_cifar_folder(tmp_path, per_batch=100)
    result = experiment.run(
        "cifar10-cnn",
        [f'data.path="{folder}"', "training.epochs=6", "model.widths=[8, 16]"],  # a small profile
        out=tmp_path / "runs",
        quiet=True,
    )
    acc = result.summary["variants"]["vgg-small"]["test"]["accuracy"]
    assert acc >= 0.6, acc  # chance is 0.1; each class has its own colour
    assert result.summary["data"]["description"].startswith("cifar10: 180 train / 20 val / 100 test")
    plot_files = {p["file"] for p in result.summary["plots"]}
    assert {
        "plots/misclassified.png",
        "plots/per_class_accuracy.png",
        "plots/first_layer_filters.png",
    } <= plot_files
