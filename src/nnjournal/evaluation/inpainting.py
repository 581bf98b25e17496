"""Harmonic (Laplace) inpainting: the classical way to fill pixels known to be missing.

Inside the mask each pixel equals the mean of its 4-neighbours (the discrete Laplace equation
with the known pixels as boundary values; at the image border only the neighbours that exist
count). That is one sparse linear system for all masked pixels of all images; its solution is
the smoothest fill, exact for anything linear across the hole (a ramp) and blurry for texture.
Used as the watermark-removal and inpainting baseline, given the true mask of changed pixels.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from scipy.sparse.linalg import splu

from nnjournal.evaluation.image_quality import as_images


def harmonic_inpaint(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`images` (n, C, H, W) (or flat square images) with the pixels where `mask` is true
    (same shape, or (n, 1, H, W); a pixel counts as missing if any channel is) replaced by
    the harmonic fill of the rest; the other pixels are returned unchanged."""
    img = as_images(images.detach().float().cpu())
    n, c, h, w = img.shape
    hole = as_images(mask.detach().cpu()).reshape(n, -1, h, w).any(dim=1).numpy()  # (n, H, W)
    values = img.numpy().transpose(0, 2, 3, 1).reshape(-1, c).astype(np.float64)  # (n*H*W, C)
    flat_hole = hole.reshape(-1)
    unknown = np.flatnonzero(flat_hole)
    if len(unknown) == 0:
        return images.clone()
    index = np.full(flat_hole.shape, -1, dtype=np.int64)
    index[unknown] = np.arange(len(unknown))
    row, col = np.divmod(unknown % (h * w), w)
    degree = np.zeros(len(unknown))
    rhs = np.zeros((len(unknown), c))
    off_rows, off_cols = [], []  # -1 entries: neighbours that are missing too
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        inside = (row + dr >= 0) & (row + dr < h) & (col + dc >= 0) & (col + dc < w)
        me = np.flatnonzero(inside)
        nb = unknown[me] + dr * w + dc  # the neighbour's flat index, same image
        degree[me] += 1
        missing = index[nb] >= 0
        off_rows.append(me[missing])
        off_cols.append(index[nb[missing]])
        np.add.at(rhs, me[~missing], values[nb[~missing]])  # known neighbours: boundary values
    # A hole with no known pixel around it (a whole image masked) has no unique harmonic fill;
    # a pull of 1e-9 towards mid-grey makes it solvable and changes nothing measurable elsewhere.
    eps = 1e-9
    diag = np.arange(len(unknown))
    off_r, off_c = np.concatenate(off_rows), np.concatenate(off_cols)
    a = sparse.csc_matrix(
        (
            np.concatenate([degree + eps, -np.ones(len(off_r))]),
            (np.concatenate([diag, off_r]), np.concatenate([diag, off_c])),
        ),
        shape=(len(unknown), len(unknown)),
    )
    solution = splu(a).solve(rhs + eps * 0.5)
    values[unknown] = solution
    out = torch.from_numpy(values.reshape(n, h, w, c).transpose(0, 3, 1, 2).astype(np.float32))
    return out.reshape(images.shape).to(images.dtype)
