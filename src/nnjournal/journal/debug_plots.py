"""Figures for debugging a network (`nnj debug`) and the gradient/init studies: the tiny-batch
loss, activation histograms, dead/saturated shares per epoch, the worst mistakes, gradient
norms per layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnjournal.journal.plots import plt, save


def loss_curve(losses: list[float], title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(len(losses)), np.maximum(np.asarray(losses, dtype=float), 1e-12))
    ax.set_yscale("log")
    ax.set_xlabel("full-batch step")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save(fig, path)


def histograms(hists: dict[str, tuple[list[float], list[float]]], title: str, path: Path) -> Path:
    """One small panel per layer: the histogram (counts, edges) of its values."""
    n = max(len(hists), 1)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (name, (counts, edges)) in zip(axes.flat, hists.items(), strict=False):
        ax.set_visible(True)
        e = np.asarray(edges)
        ax.bar(e[:-1], counts, width=np.diff(e), align="edge")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def activation_stats_curves(records: list[dict[str, Any]], title: str, path: Path) -> Path:
    """Dead share (ReLU) and saturated share (sigmoid/tanh) of each activation layer per epoch."""
    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = [r["epoch"] for r in records]
    for name, s in records[0]["activation_stats"].items():
        key = "dead" if s["dead"] is not None else "saturated"
        ax.plot(epochs, [r["activation_stats"][name][key] for r in records], label=f"{name} ({key})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("share of units / outputs")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save(fig, path)


def mistakes_grid(x: Any, titles: list[str], path: Path, outputs: Any = None) -> Path:
    """The worst examples as images, each titled (true / predicted, confidence, loss); with
    `outputs`, the model's reconstruction below each input."""
    from nnjournal.journal.autoencoder_plots import _as_display

    def display(t: Any) -> np.ndarray:
        t = t.float()
        return _as_display(t / 255.0 if t.max() > 1.5 else t)

    imgs = display(x)
    rows = 2 if outputs is not None else 1
    n = len(imgs)
    fig, axes = plt.subplots(rows, n, figsize=(1.3 * n + 0.5, 1.5 * rows + 0.4), squeeze=False)
    recon = display(outputs) if outputs is not None else None
    for c in range(n):
        for r in range(rows):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            img = imgs[c] if r == 0 else recon[c]  # type: ignore[index]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
        axes[0, c].set_title(titles[c], fontsize=7)
    if outputs is not None:
        axes[1, 0].set_ylabel("output", fontsize=8)
    return save(fig, path)


def norms_by_layer(curves: dict[str, dict[str, list[float]]], title: str, path: Path) -> Path:
    """One panel per setting: each layer's gradient norm against epochs (log scale)."""
    n = len(curves)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False, sharey=True)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (setting, layers) in zip(axes.flat, curves.items(), strict=False):
        ax.set_visible(True)
        cmap = plt.get_cmap("viridis")
        for i, (layer, values) in enumerate(layers.items()):
            v = np.maximum(np.asarray(values, dtype=float), 1e-30)
            ax.plot(range(1, len(v) + 1), v, color=cmap(i / max(len(layers) - 1, 1)), label=layer if i in (0, len(layers) - 1) else None)
        ax.set_yscale("log")
        ax.set_title(setting, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def profile_by_layer(
    profiles: dict[str, list[float]], title: str, path: Path, *, xlabel: str = "layer (1 = first)",
    ylabel: str = "gradient norm",
) -> Path:
    """One line per setting on a log scale: by default gradient norm against depth."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for setting, values in profiles.items():
        v = np.maximum(np.asarray(values, dtype=float), 1e-30)
        ax.plot(range(1, len(v) + 1), v, marker="o", ms=3, label=setting)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save(fig, path)


def unit_weights(rows: dict[str, np.ndarray], shape: tuple[int, int], title: str, path: Path) -> Path:
    """One row per setting: each unit's incoming weights drawn as an image of the input."""
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), n, figsize=(1.0 * n + 1.4, 1.05 * len(rows) + 0.5), squeeze=False)
    for r, (label, units) in enumerate(rows.items()):
        lim = float(np.abs(units).max()) or 1.0  # one colour scale per row: identical units look identical
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(units):
                ax.imshow(units[c].reshape(shape), cmap="RdBu", vmin=-lim, vmax=lim)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    return save(fig, path)
