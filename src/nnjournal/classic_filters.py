"""Hand-made convolution kernels of the lecture notes, applied to a real image: what a
convolution layer computes before any learning (the first layer of a trained CNN learns
kernels much like these edge detectors and blurs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import UnidentifiedImageError

from nnjournal.data.image_files import open_image
from nnjournal.errors import NNJError

_GAUSS_1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0])

# name -> kernel; the three edge detectors are the usual textbook trio (diagonal differences,
# the 4-neighbour Laplacian, the 8-neighbour Laplacian).
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "edge detection 1 (diagonal)": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=float),
    "edge detection 2 (Laplacian, 4-neighbour)": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float),
    "edge detection 3 (Laplacian, 8-neighbour)": np.array(
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float
    ),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "box blur 3x3": np.ones((3, 3)) / 9.0,
    "Gaussian blur 5x5": np.outer(_GAUSS_1D, _GAUSS_1D) / 256.0,
}
EDGE_KERNELS = {name for name in KERNELS if name.startswith("edge")}


def load_grey(path: Path, max_side: int = 256) -> np.ndarray:
    """An image file as float grey values 0..255, shrunk so its longer side is `max_side`."""
    if Path(path).is_dir():
        raise NNJError(f"{path} is a folder; give one JPEG/PNG image file")
    try:
        with open_image(path) as img:
            img = img.convert("L")
            img.thumbnail((max_side, max_side))
            return np.asarray(img, dtype=np.float32)
    except FileNotFoundError:
        raise NNJError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise NNJError(f"{path}: not a readable image ({err})") from None


def apply_kernel(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D cross-correlation (what deep-learning libraries call convolution) with the border
    padded by reflection, so the output has the input's size."""
    x = torch.from_numpy(image)[None, None].float()
    k = torch.from_numpy(np.ascontiguousarray(kernel)).float()[None, None]
    pad = kernel.shape[0] // 2
    # Reflection needs more pixels than the padding; tiny images repeat their edge instead.
    mode = "reflect" if min(image.shape) > pad else "replicate"
    x = F.pad(x, (pad, pad, pad, pad), mode=mode)
    return F.conv2d(x, k)[0, 0].numpy()


def apply_all(image: np.ndarray) -> dict[str, np.ndarray]:
    """Every kernel's output, ready to show as 0..255: edge maps as magnitudes stretched to
    the full range (their values are signed and small), the rest clipped."""
    out = {}
    for name, kernel in KERNELS.items():
        y = apply_kernel(image, kernel)
        if name in EDGE_KERNELS:
            y = np.abs(y)
            y = y * (255.0 / max(float(np.percentile(y, 99.5)), 1e-6))
        out[name] = np.clip(y, 0, 255).astype(np.uint8)
    return out
