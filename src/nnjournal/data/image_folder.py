"""Your own photos: one sub-folder per class (`root/<class>/*.jpg|png|...`), or
`root/train/<class>/...` and `root/test/<class>/...` when the test photos are fixed.

Every photo is decoded once, resized to `size` x `size` and cached as uint8; files that
cannot be decoded are skipped with a warning that names them (also in the report), and
files that are not images (`IMAGE_SUFFIXES`) are named in the report as left out."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from nnjournal.config import ImageFolderData
from nnjournal.data.bundle import DataBundle
from nnjournal.data.image_files import IMAGE_SUFFIXES, files_under, open_image
from nnjournal.data.images import cached_arrays, image_bundle, split_test_off
from nnjournal.data.spelling import closest_name
from nnjournal.errors import NNJError

log = logging.getLogger(__name__)

KINDS = "/".join(IMAGE_SUFFIXES)  # for messages: ".jpg/.jpeg/.png/..."


def list_images(
    root: Path, class_names: list[str] | None = None, by_class: bool = True
) -> tuple[list[Path], list[int], list[str], list[Path]]:
    """Image files under `root/<class>/` (sorted), their class indices, the class names
    (the sub-folder names, sorted, unless given) and the files there that are not images.
    `by_class=False` (data.classes = false): every image under `root`, one class named after
    the folder."""
    if not root.is_dir():
        raise NNJError(f"image folder {root} does not exist or is not a folder")
    if not by_class:
        files, ignored = files_under(root)
        if not files:
            raise NNJError(f"{root}: no {KINDS} images in it or its sub-folders")
        return files, [0] * len(files), [root.name], ignored
    if class_names is None:
        class_names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_names) < 2:
        raise NNJError(
            f"{root}: needs one sub-folder per class (at least two), found {class_names}; for a recipe that "
            "ignores classes (colorization, super-resolution, watermark removal) set data.classes = false"
        )
    files, labels, ignored = [], [], []
    for k, name in enumerate(class_names):
        folder = root / name
        if not folder.is_dir():
            here = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in class_names)
            near = closest_name(name, here)
            hint = f"; {near!r} is here: rename it {name!r} (folder names must match the training split's)" if near else ""
            raise NNJError(f"{root}: class folder {name!r} is missing (the training split has it){hint}")
        found, others = files_under(folder)
        files += found
        labels += [k] * len(found)
        ignored += others
    if not files:
        raise NNJError(f"{root}: no {KINDS} images in its class folders")
    present = set(labels)
    empty = [name for k, name in enumerate(class_names) if k not in present]
    if empty:
        # An empty folder would still be a class: a dead output and deflated macro metrics.
        raise NNJError(
            f"{root}: class folder(s) {', '.join(empty)} hold no {KINDS} images; "
            "add images or remove the folder(s)"
        )
    return files, labels, class_names, ignored


def decode_image(path: Path, size: int, resize: str = "stretch", color: str = "rgb") -> np.ndarray:
    """One photo as uint8 (C, size, size); raises OSError/ValueError if it cannot be decoded."""
    with open_image(path) as img:
        img.draft(
            "RGB" if color == "rgb" else "L", (size, size)
        )  # JPEG: decode at reduced scale, much faster
        img = img.convert("RGB" if color == "rgb" else "L")
        if resize == "crop":
            side = min(img.size)
            left, top = (img.width - side) // 2, (img.height - side) // 2
            img = img.crop((left, top, left + side, top + side))
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _decode_all(files: list[Path], labels: list[int], cfg: ImageFolderData) -> dict[str, np.ndarray]:
    images, kept, skipped, reasons = [], [], [], []
    for path, label in zip(files, labels, strict=True):
        try:
            images.append(decode_image(path, cfg.size, cfg.resize, cfg.color))
            kept.append(label)
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, NNJError) as err:
            # Reported once per load (below), not per file: a folder of 500 bad files is one line.
            skipped.append(str(path))
            reasons.append(f"{path}: {str(err).removeprefix(f'{path}: ')}")
    channels = 3 if cfg.color == "rgb" else 1
    x = np.stack(images) if images else np.zeros((0, channels, cfg.size, cfg.size), np.uint8)
    return {
        "x": x,
        "y": np.asarray(kept, dtype=np.int64),
        "skipped": np.asarray(skipped, dtype=str),
        "reasons": np.asarray(reasons, dtype=str),
    }


def _load_split(root: Path, cfg: ImageFolderData, class_names: list[str] | None):
    files, labels, class_names, ignored = list_images(root, class_names, by_class=cfg.classes)
    key = {
        "files": [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files],
        # the labels depend on data.classes; older caches (classes = true) keep their key
        "options": [cfg.size, cfg.resize, cfg.color] + ([] if cfg.classes else ["one class"]),
    }
    arrays = cached_arrays("image-folder", key, lambda: _decode_all(files, labels, cfg))
    skipped = [str(s) for s in arrays["skipped"]]
    reasons = [str(r) for r in arrays.get("reasons", [])]
    why = f" (first: {reasons[0]})" if reasons else ""  # caches written before reasons were kept lack them
    if len(arrays["y"]) == 0:
        raise NNJError(f"{root}: none of the {len(files)} image files could be decoded{why}")
    if skipped:  # also on a cached load, so the user hears about them every time
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        log.warning("skipped %d unreadable image(s): %s%s", len(skipped), shown, why)
    return arrays["x"], arrays["y"], class_names, skipped, ignored


def _named(paths: list[str] | list[Path], limit: int = 10) -> str:
    return ", ".join(Path(s).name for s in paths[:limit]) + (" ..." if len(paths) > limit else "")


def load_image_folder(cfg: ImageFolderData, seed: int) -> DataBundle:
    if cfg.path is None:
        raise NNJError("image-folder needs data.path=FOLDER (class sub-folders of photos)")
    root = Path(cfg.path).expanduser()
    notes = []
    if (root / "train").is_dir() and (root / "test").is_dir():
        x_tr, y_tr, class_names, skipped, ignored = _load_split(root / "train", cfg, None)
        x_te, y_te, _, skipped_te, ignored_te = _load_split(root / "test", cfg, class_names)
        skipped, ignored = skipped + skipped_te, ignored + ignored_te
        notes.append(f"Test photos from {root / 'test'}; training photos from {root / 'train'}.")
    else:
        x, y, class_names, skipped, ignored = _load_split(root, cfg, None)
        tr, te = split_test_off(y, cfg.test_fraction, seed)
        x_tr, y_tr, x_te, y_te = x[tr], y[tr], x[te], y[te]
    notes.append(f"Photos resized to {cfg.size}x{cfg.size} ({cfg.resize}, {cfg.color}).")
    if skipped:
        notes.append(f"Skipped {len(skipped)} unreadable image file(s): {_named(skipped)}.")
    if ignored:  # an .heic photo or a .txt among the photos: the user hears why the count is lower
        notes.append(f"Left out {len(ignored)} file(s) that are not {KINDS} images: {_named(ignored)}.")
    return image_bundle(
        root.name,
        (x_tr, y_tr),
        (x_te, y_te),
        class_names=class_names,
        val_fraction=cfg.val_fraction,
        seed=seed,
        notes=notes,
        decode={"size": cfg.size, "resize": cfg.resize, "color": cfg.color},
    )
