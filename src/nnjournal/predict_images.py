"""`nnj predict` for image-to-image models (colorization, super-resolution, denoising,
watermark removal, compression: the reconstruction task on images): a folder of output
images instead of a CSV of values.

Each input photo is read as the training *targets* were read (the image-folder loader's size,
resize and colour; other image sets: stretched to the target's size in its channels), given
the training input transform by the task (`Reconstruction.apply_to_images`: grey for
colorization, halved for super-resolution) and reconstructed. So a colorization model colours
any photo, grey or not, at its training size; a super-resolution model returns each photo at
its training size rebuilt from the half-size version it was trained to upscale.

The outputs are PNGs under the output folder at the inputs' relative paths, with `index.csv`
(input, output). The folder is written next to its final place and renamed into it, so a
failure leaves nothing half-written."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from nnjournal.errors import NNJError
from nnjournal.files import check_writable_folder
from nnjournal.saved_model import TrainedModel


def writes_images(trained: TrainedModel) -> bool:
    """Whether `nnj predict` writes this model's outputs as images (a reconstruction of
    images whose saved task knows the targets' shape)."""
    return hasattr(trained.task, "apply_to_images") and bool(getattr(trained.task, "target_shape", None))


def default_folder(input_path: Path) -> Path:
    """`photos/` -> `photos_outputs/` beside it; `cat.jpg` -> `cat_outputs/`."""
    named = input_path.resolve() if input_path.is_dir() else input_path
    return named.with_name((named.name if input_path.is_dir() else named.stem) + "_outputs")


def check_output_folder(folder: Path) -> None:
    if folder.exists():
        raise NNJError(f"{folder} already exists; remove it or give another folder with --out")
    if not folder.parent.is_dir():
        raise NNJError(f"{folder.parent} is not an existing folder; create it or give another --out")
    check_writable_folder(folder.parent, f"--out {folder}")


def predict_images(trained: TrainedModel, input_path: Path, folder: Path) -> int:
    """Read, reconstruct and write every image of `input_path` (a file or a folder); returns
    how many were written."""
    from nnjournal.predict_io import read_images

    if not input_path.exists():
        raise NNJError(f"input file not found: {input_path}")
    if not input_path.is_dir() and input_path.suffix.lower() in (".csv", ".npy", ".npz", ".txt"):
        raise NNJError(
            f"{input_path}: this {trained.task.name} model turns images into images; give an image file "
            "or a folder of images"
        )
    check_output_folder(folder)  # before any work: never written over
    shape = tuple(trained.task.target_shape)
    files, pixels = read_images(input_path, trained, shape=shape, decode=trained.task.target_decode)
    outputs = trained.task.apply_to_images(trained.model, pixels)
    root = input_path if input_path.is_dir() else input_path.parent
    names = [f.relative_to(root).with_suffix(".png") for f in files]
    if len(set(names)) < len(names):  # cat.jpg and cat.png would write one cat.png
        raise NNJError(f"{input_path}: two images share a name apart from the extension; rename one")
    staging = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    try:
        for name, image in zip(names, outputs, strict=True):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            array = image[0] if image.shape[0] == 1 else np.transpose(image, (1, 2, 0))
            Image.fromarray(np.ascontiguousarray(array)).save(target)
        with (staging / "index.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["input", "output"])
            writer.writerows([str(src), str(name)] for src, name in zip(files, names, strict=True))
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files)
