"""Figures of the recurrent unit's entries: text samples, forecasts against the truth, an
attention heat map, and the gradient study's accuracy-vs-length and gradient-through-time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from nnjournal.journal.plots import plt, save


def text_samples(samples: dict[str, str], title: str, path: Path, width: int = 90) -> Path:
    """Each temperature's sample as wrapped monospace text, one panel each."""
    blocks = {t: textwrap.wrap(s.replace("\n", " ⏎ "), width)[:8] for t, s in samples.items()}
    rows = sum(len(b) + 2 for b in blocks.values())
    fig, ax = plt.subplots(figsize=(10, 0.22 * rows + 0.6))
    ax.axis("off")
    y = 1.0
    step = 1.0 / max(rows, 1)
    for t, lines in blocks.items():
        ax.text(0, y, f"temperature {t}", fontsize=9, fontweight="bold", va="top", transform=ax.transAxes)
        y -= step
        for line in lines:
            ax.text(0, y, line, fontsize=8, family="monospace", va="top", transform=ax.transAxes)
            y -= step
        y -= step
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def forecast_vs_truth(
    dates: list[str], values: np.ndarray, start: int, forecasts: dict[str, np.ndarray], title: str, path: Path
) -> Path:
    """The whole series, and each model's one-step forecasts over the test part."""
    fig, ax = plt.subplots(figsize=(9, 4))
    t = np.arange(len(values))
    ax.plot(t, values, color="black", lw=1.5, label="observed")
    for name, f in forecasts.items():
        ax.plot(t[start : start + len(f)], f, lw=1.2, label=name)
    ax.axvline(start - 0.5, color="grey", ls=":", lw=1)
    ticks = t[:: max(1, len(t) // 8)]
    ax.set_xticks(ticks, [dates[i] for i in ticks], rotation=30, fontsize=8)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save(fig, path)


def attention_map(weights: np.ndarray, src: list[str], tgt: list[str], title: str, path: Path) -> Path:
    """weights (T, S): which source character each output character read."""
    fig, ax = plt.subplots(figsize=(0.3 * len(src) + 2, 0.3 * len(tgt) + 1.5))
    ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0)
    ax.set_xticks(range(len(src)), src, fontsize=8)
    ax.set_yticks(range(len(tgt)), tgt, fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title(title, fontsize=9)
    return save(fig, path)


def accuracy_vs_length(curves: dict[str, tuple[list[int], list[float]]], chance: float, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (lengths, acc) in curves.items():
        ax.plot(lengths, acc, marker="o", label=name)
    ax.axhline(chance, color="grey", ls=":", label="chance")
    ax.set_xlabel("delay (time steps between the symbols and their recall)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title("Accuracy against sequence length")
    return save(fig, path)


def gradient_through_time(norms: dict[str, np.ndarray], path: Path) -> Path:
    """||dL/dx_t|| against t, log scale: a straight falling line is the vanishing gradient."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, g in norms.items():
        ax.semilogy(np.arange(len(g)), np.maximum(g, 1e-30), label=name)
    ax.set_xlabel("input time step (the loss reads the last steps)")
    ax.set_ylabel("gradient norm reaching the step")
    ax.legend()
    ax.set_title("Gradient through time at initialisation")
    return save(fig, path)
