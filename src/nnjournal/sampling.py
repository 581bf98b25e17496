"""`nnj sample`: images from a trained GAN in a finished run directory, deterministic for a seed.

The GAN is loaded from the run's `model.json` + `model.safetensors` (`saved_model.load_gan`) in
a fresh process; noise comes from a CPU generator seeded with `seed`, so the same command
gives the same images on any machine. Output: a PNG grid (8 columns) or the raw (n, C, H, W)
float32 array in [0, 1] as .npy (written without pickle)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes, check_output_file

EXTENSIONS = (".png", ".npy")
MAX_BYTES = 2**31  # one call's images as float32: 2 GiB (over 680,000 MNIST digits)
SEEDS = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts


def check_output(out: Path) -> None:
    """Refuse, before the GAN is loaded, an --out that could not be written: another extension,
    a folder, a path under a file."""
    if out.suffix.lower() not in EXTENSIONS:
        raise NNJError(f"--out {out}: unknown extension {out.suffix or '(none)'!r}; use .png or .npy")
    check_output_file(out)


def sample_run(
    run_dir: Path, n: int, *, label: int | None = None, seed: int = 0, variant: str | None = None
) -> np.ndarray:
    """n images (n, C, H, W) in [0, 1] from the run's GAN (its moving average when it has one)."""
    from nnjournal.saved_model import load_gan

    if n <= 0:
        raise NNJError(f"--n must be positive, got {n}")
    if not SEEDS[0] <= seed <= SEEDS[1]:
        raise NNJError(f"--seed {seed} is out of range: give a whole number from -2**63 to 2**64 - 1")
    gan = load_gan(run_dir, variant)
    size = 4 * math.prod(gan.image_shape)
    if n * size > MAX_BYTES:
        most = MAX_BYTES // size
        raise NNJError(
            f"--n {n}: that many {'x'.join(map(str, gan.image_shape))} images would take {n * size / 2**30:.1f} GiB; "
            f"nnj sample draws at most {most:,} at once: give a smaller --n, and other --seed values for more files"
        )
    with torch.no_grad():
        images = gan.sample(n, label, torch.Generator().manual_seed(seed))
    return images.cpu().numpy().astype(np.float32)


def write_images(images: np.ndarray, out: Path, columns: int = 8) -> None:
    """.npy: the array as is; .png: an 8-column grid, 8-bit grey (or RGB for colour images)."""
    check_output(out)
    buf = io.BytesIO()
    if out.suffix.lower() == ".npy":
        np.save(buf, images, allow_pickle=False)
    else:
        from PIL import Image

        from nnjournal.journal.gan_plots import tile

        grid = np.round(tile(images, min(columns, len(images))) * 255).astype(np.uint8)
        Image.fromarray(grid).save(buf, format="PNG")
    atomic_write_bytes(out, buf.getvalue())
