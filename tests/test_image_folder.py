"""Photos in class folders: decoding, resizing, caching, corrupt files, bad folders."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import require_data
from PIL import Image

from nnjournal import data
from nnjournal.config import validate_config
from nnjournal.errors import NNJError


def folder_cfg(path: Path, **opts):
    return validate_config({"data": {"name": "image-folder", "path": str(path), **opts}}).data


def make_folder(root: Path, per_class: int = 6) -> Path:
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    for k, (name, rgb) in enumerate(colours.items()):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            img = Image.new("RGB", (40 + 7 * i, 30 + 5 * i), rgb)
            img.save(root / name / f"{i}.{'png' if (i + k) % 2 else 'jpg'}")
    return root


def test_class_folders_become_resized_uint8_images(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "photos")
    bundle = data.load(folder_cfg(root, size=12, val_fraction=0.0, test_fraction=0.25), seed=0)
    assert bundle.info.class_names == ["blue", "red"]
    assert tuple(bundle.train.x.shape[1:]) == (3, 12, 12) and str(bundle.train.x.dtype) == "torch.uint8"
    assert len(bundle.train) + len(bundle.test) == 12
    red = bundle.train.x[bundle.train.y == 1][0].float().mean(dim=(1, 2))
    assert red[0] > 200 and red[2] < 50
    grey = data.load(
        folder_cfg(root, size=12, color="grayscale", test_fraction=0.25, val_fraction=0.0), seed=0
    )
    assert tuple(grey.train.x.shape[1:]) == (1, 12, 12)


def test_corrupt_files_are_skipped_with_a_warning_naming_them(tmp_path: Path, caplog) -> None:
    root = make_folder(tmp_path / "photos")
    (root / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with caplog.at_level(logging.WARNING):
        bundle = data.load(folder_cfg(root, size=8, val_fraction=0.0, test_fraction=0.25), seed=0)
    assert "broken.jpg" in caplog.text
    assert any("broken.jpg" in note for note in bundle.info.notes)
    assert len(bundle.train) + len(bundle.test) == 12
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # from the cache: still said
        data.load(folder_cfg(root, size=8, val_fraction=0.0, test_fraction=0.25), seed=0)
    assert "broken.jpg" in caplog.text


def test_decoded_images_are_cached_and_refreshed_when_files_change(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NNJ_CACHE_DIR", str(tmp_path / "cache"))
    root = make_folder(tmp_path / "photos")
    cfg = folder_cfg(root, size=8, val_fraction=0.0, test_fraction=0.25)
    data.load(cfg, seed=0)
    assert len(list((tmp_path / "cache" / "images").glob("image-folder-*.npz"))) == 1
    data.load(cfg, seed=0)
    assert len(list((tmp_path / "cache" / "images").glob("image-folder-*.npz"))) == 1
    Image.new("RGB", (20, 20), (0, 255, 0)).save(root / "red" / "new.png")
    bundle = data.load(cfg, seed=0)
    assert len(bundle.train) + len(bundle.test) == 13


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda r: None, "does not exist"),
        (lambda r: (r / "only").mkdir(parents=True), "at least two"),
        (lambda r: [(r / c).mkdir(parents=True) for c in ("a", "b")], r"no .jpg/.jpeg/.png/\S* images"),
        # An empty class folder would silently become a class no image belongs to.
        (lambda r: (make_folder(r), (r / "green").mkdir()), "class folder.s. green hold no"),
        # One photo per class: nothing left to split a validation set from.
        (lambda r: make_folder(r, per_class=1), "too few to split off a validation fraction"),
        # A test split whose class folder is spelt otherwise (Windows folders ignore case)
        (
            lambda r: (make_folder(r / "train"), make_folder(r / "test"), (r / "test" / "red").rename(r / "test" / "Red")),
            r"test: class folder 'red' is missing \(the training split has it\); 'Red' is here: rename it 'red'",
        ),
    ],
)
def test_bad_folders_are_clear_errors(tmp_path: Path, setup, message) -> None:
    root = tmp_path / "photos"
    setup(root)
    with pytest.raises(NNJError, match=message):
        data.load(folder_cfg(root), seed=0)


def test_all_files_corrupt_is_an_error(tmp_path: Path) -> None:
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        (tmp_path / c / "x.png").write_bytes(b"nope")
    with pytest.raises(NNJError, match="none of the 2 image files could be decoded"):
        data.load(folder_cfg(tmp_path), seed=0)


def test_real_photos_with_a_given_test_split() -> None:
    root = require_data("images/cats-dogs")
    bundle = data.load(folder_cfg(root, size=32, val_fraction=0.1), seed=0)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (720, 80, 88)
    assert bundle.info.class_names == ["cat", "dog"]
    assert np.bincount(bundle.test.y.numpy()).tolist() == [44, 44]


def test_every_common_image_format_is_read_and_other_files_are_named(tmp_path: Path) -> None:
    # Photos from the web or a phone come as .webp, .bmp, .gif, .tif too; a folder used to
    # train on only its .jpg/.png and say nothing of the rest, while `nnj predict` read them all.
    root = make_folder(tmp_path / "photos", per_class=2)
    for k, suffix in enumerate((".webp", ".bmp", ".gif", ".tif", ".TIFF", ".jpeg")):
        Image.new("RGB", (30, 20 + k), (220, 30, 30)).save(root / "red" / f"extra{k}{suffix}")
    (root / "red" / "IMG_0001.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")  # Pillow cannot read it
    (root / "blue" / "notes.txt").write_text("where these came from")
    # Hidden files are not data: a macOS resource fork and a notebook's checkpoint copy.
    (root / "blue" / "._0.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (root / "blue" / ".ipynb_checkpoints").mkdir()
    Image.new("RGB", (20, 20), (30, 30, 220)).save(root / "blue" / ".ipynb_checkpoints" / "0-checkpoint.png")
    bundle = data.load(folder_cfg(root, size=8, val_fraction=0.0, test_fraction=0.25), seed=0)
    assert len(bundle.train) + len(bundle.test) == 2 * 2 + 6
    assert int((bundle.train.y == 1).sum() + (bundle.test.y == 1).sum()) == 2 + 6  # red: every format
    (left_out,) = [n for n in bundle.info.notes if n.startswith("Left out")]
    assert "2 file(s)" in left_out and "IMG_0001.heic" in left_out and "notes.txt" in left_out
    assert not any("Skipped" in n for n in bundle.info.notes)  # the hidden ._0.jpg was never opened
