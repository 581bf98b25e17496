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
