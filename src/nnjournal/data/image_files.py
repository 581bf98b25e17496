"""Opening a user's image file safely: the header is read first, and an image claiming more
pixels than PIL's limit is refused before anything is decoded."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from nnjournal.errors import NNJError


def open_image(path: Path) -> Image.Image:
    """`Image.open(path)` (lazy: reads the header only) that refuses, before any decoding, an
    image whose header claims more pixels than `Image.MAX_IMAGE_PIXELS` (a decompression bomb
    or a giant scan: decoding it would take gigabytes). Raises `NNJError`; PIL's own errors
    (unreadable files) pass through."""
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        # Between MAX_IMAGE_PIXELS and twice that PIL only warns; the check below refuses it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except Image.DecompressionBombError as err:  # over twice the limit: PIL refuses it itself
            raise NNJError(
                f"{path}: {str(err).rstrip('.')} (a damaged file or a decompression bomb); resize it first"
            ) from None
    if limit is not None and img.width * img.height > limit:
        img.close()
        raise NNJError(
            f"{path}: the image claims {img.width}x{img.height} = {img.width * img.height:,} pixels, more than "
            f"the {limit:,} allowed (PIL's Image.MAX_IMAGE_PIXELS; a damaged file or a decompression bomb); "
            "resize it first"
        )
    return img


# What counts as an image file, in training folders and for `nnj predict` alike (compared
# lower-cased): the formats torchvision's ImageFolder reads, and GIF (its first frame).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def files_under(folder: Path) -> tuple[list[Path], list[Path]]:
    """The image files anywhere under `folder`, sorted, and the other files there (a user's
    notes, an .heic photo), which are left out. Hidden files and folders (`.DS_Store`, macOS
    `._photo.jpg` resource forks, `.ipynb_checkpoints/`) are neither: they are not the user's data."""
    images, others = [], []
    for p in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in p.relative_to(folder).parts) or not p.is_file():
            continue
        (images if is_image_file(p) else others).append(p)
    return images, others
