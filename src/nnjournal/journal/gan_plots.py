"""Plots for a GAN's journal entry: what a person wants to look at.

- sample grids from the same fixed noise at several epochs (learning over time);
- both losses and the minimax value per epoch, and mean D(x) vs D(G(z)) (0.5 = D is fooled);
- the class histogram of generated images beside the real test images' (mode collapse);
- a walk through latent space between two noise vectors.

Each `*_figure` function returns the figure (tests read its titles and labels); the plain
function writes it as a PNG. `SampleSnapshots` is the epoch callback that collects the grids.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal.files import atomic_write_bytes
from nnjournal.journal.plots import plt, save

Figure = Any  # matplotlib.figure.Figure


def tile(images: torch.Tensor | np.ndarray, columns: int = 8) -> np.ndarray:
    """(n, C, H, W) images in [0, 1] -> one (rows*H, columns*W[, 3]) array with 1-pixel gaps."""
    x = torch.as_tensor(images).detach().float().cpu().clamp(0, 1).numpy()
    n, c, h, w = x.shape
    rows = -(-n // columns)
    grid = np.ones((c, rows * (h + 1) - 1, columns * (w + 1) - 1), dtype=np.float32)
    for i in range(n):
        r, k = divmod(i, columns)
        grid[:, r * (h + 1) : r * (h + 1) + h, k * (w + 1) : k * (w + 1) + w] = x[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


class SampleSnapshots:
    """An `on_epoch_end` callback: samples from the same noise (and labels) at chosen epochs.
    With `folder`, each snapshot is also written there as .npy, so a resumed run keeps the
    snapshots taken before it was stopped."""

    def __init__(
        self,
        gan: Any,
        *,
        epochs: Sequence[int],
        n: int = 32,
        seed: int = 0,
        folder: Path | None = None,
    ) -> None:
        self.gan, self.epochs, self.folder = gan, set(epochs), folder
        self.z = gan.noise(n, torch.Generator().manual_seed(seed)).cpu()
        labels = gan.check_labels(n, None)
        self.labels = labels.cpu() if labels is not None else None  # moved to G's device per call
        self.images: dict[int, np.ndarray] = {}
        if folder is not None and folder.is_dir():
            for f in folder.glob("samples_epoch_*.npy"):
                self.images[int(f.stem.rsplit("_", 1)[1])] = np.load(f, allow_pickle=False)

    def __call__(self, epoch: int, record: dict[str, Any]) -> None:
        if epoch + 1 not in self.epochs:
            return
        x = self.gan.sample(len(self.z), self.labels, z=self.z).cpu().numpy()
        self.images[epoch + 1] = x
        if self.folder is not None:
            buf = io.BytesIO()
            np.save(buf, x, allow_pickle=False)
            atomic_write_bytes(self.folder / f"samples_epoch_{epoch + 1}.npy", buf.getvalue())


def snapshot_epochs(epochs: int, count: int = 4) -> list[int]:
    """About `count` epochs spread from the first to the last (always both)."""
    return sorted({int(round(e)) for e in np.linspace(1, epochs, min(count, epochs))})


def samples_over_epochs_figure(snapshots: dict[int, np.ndarray], columns: int = 8) -> Figure:
    epochs = sorted(snapshots)
    fig, axes = plt.subplots(1, len(epochs), figsize=(3.2 * len(epochs), 2.4), squeeze=False)
    for ax, e in zip(axes[0], epochs, strict=True):
        ax.imshow(tile(snapshots[e], columns), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"epoch {e}")
        ax.set_xlabel("sample (same noise in every panel)")
        ax.set_ylabel("sample")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Generated images from fixed noise as training goes on")
    return fig


def samples_over_epochs(snapshots: dict[int, np.ndarray], path: Path) -> Path:
    return save(samples_over_epochs_figure(snapshots), path)


def adversarial_curves_figure(records: list[dict[str, Any]]) -> Figure:
    epochs = [r["epoch"] for r in records]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("d_loss", "discriminator loss"), ("g_loss", "generator loss (non-saturating)")):
        left.plot(epochs, [r[key] for r in records], label=label)
    left.plot(epochs, [-r["minimax_value"] for r in records], ls="--", label="-V(D, G) (minimax value)")
    left.axhline(2 * np.log(2), color="grey", ls=":", lw=1, label="-V at the equilibrium (2 log 2)")
    left.set_xlabel("epoch")
    left.set_ylabel("loss (nats, mean per image)")
    left.set_title("Losses per epoch")
    left.legend(fontsize=8)
    right.plot(epochs, [r["d_real"] for r in records], label="D(x), real images")
    right.plot(epochs, [r["d_fake"] for r in records], label="D(G(z)), generated images")
    right.axhline(0.5, color="grey", ls=":", lw=1, label="0.5: D cannot tell")
    right.set_ylim(0, 1)
    right.set_xlabel("epoch")
    right.set_ylabel("mean discriminator output")
    right.set_title("Discriminator's belief that an image is real")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig


def adversarial_curves(records: list[dict[str, Any]], path: Path) -> Path:
    return save(adversarial_curves_figure(records), path)


def class_histogram_figure(
    generated: dict[str, float], real: dict[str, float] | None, class_names: list[str]
) -> Figure:
    """Bars of `class_share_k` from the generated images' metrics (and the real test images')."""
    k = len(class_names)
    pos = np.arange(k)
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * k + 2), 3.6))
    width = 0.4 if real is not None else 0.8
    ax.bar(
        pos - (width / 2 if real else 0),
        [generated[f"class_share_{i}"] for i in range(k)],
        width,
        label="generated",
    )
    if real is not None:
        ax.bar(pos + width / 2, [real[f"class_share_{i}"] for i in range(k)], width, label="real test images")
    ax.axhline(1 / k, color="grey", ls=":", lw=1, label="uniform")
    ax.set_xticks(pos, class_names, rotation=45 if k > 10 else 0)
    ax.set_xlabel("class the evaluation classifier assigns")
    ax.set_ylabel("share of images")
    ax.set_title("Which classes the generator produces (a missing bar = a dropped mode)")
    ax.legend(fontsize=8)
    return fig


def class_histogram(
    generated: dict[str, float], real: dict[str, float] | None, class_names: list[str], path: Path
) -> Path:
    return save(class_histogram_figure(generated, real, class_names), path)


@torch.no_grad()
def latent_interpolation_figure(gan: Any, *, rows: int = 4, steps: int = 9, seed: int = 0) -> Figure:
    """Each row walks in a straight line from one noise vector to another (the label, for a
    conditional GAN, is the row's class). Smooth changes mean G did not memorise points."""
    gen = torch.Generator().manual_seed(seed)
    a, b = gan.noise(rows, gen), gan.noise(rows, gen)
    t = torch.linspace(0, 1, steps, device=a.device)
    z = (a[:, None] * (1 - t[None, :, None]) + b[:, None] * t[None, :, None]).reshape(rows * steps, -1)
    labels = None
    if gan.conditional:
        labels = (torch.arange(rows, device=a.device) % gan.n_classes).repeat_interleave(steps)
    images = gan.sample(len(z), labels, z=z)
    fig, ax = plt.subplots(figsize=(steps * 0.9, rows * 0.95 + 0.6))
    ax.imshow(tile(images, steps), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("from z_a (left) to z_b (right), straight line in latent space")
    ax.set_ylabel("pair" + (" (class = row)" if gan.conditional else ""))
    ax.set_title("Latent interpolation")
    return fig


def latent_interpolation(gan: Any, path: Path, **kwargs: Any) -> Path:
    return save(latent_interpolation_figure(gan, **kwargs), path)
