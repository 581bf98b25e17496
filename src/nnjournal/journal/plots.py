"""Plots for a journal entry (matplotlib, Agg backend: no display needed). Every figure has
a title and labelled axes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nnjournal.journal.files import atomic_write_bytes  # noqa: E402


def save(fig: plt.Figure, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def learning_curves(
    histories: dict[str, list[dict[str, Any]]], path: Path, best_epochs: dict[str, int | None] | None = None
) -> Path:
    """Train vs validation loss (and accuracy when tracked) per epoch, one line pair per
    variant, on shared axes; a dotted vertical line marks each restored best epoch."""
    has_acc = any("train_accuracy" in r for recs in histories.values() for r in recs)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(11 if has_acc else 6, 4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = [("loss", "loss (data term)")] + ([("accuracy", "accuracy")] if has_acc else [])
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        for i, (name, recs) in enumerate(histories.items()):
            c = colors[i % len(colors)]
            epochs = [r["epoch"] for r in recs]
            prefix = f"{name}: " if len(histories) > 1 else ""
            if any(f"train_{key}" in r for r in recs):
                ax.plot(epochs, [r.get(f"train_{key}") for r in recs], color=c, label=f"{prefix}train")
            if any(f"val_{key}" in r for r in recs):
                ax.plot(
                    epochs, [r.get(f"val_{key}") for r in recs], color=c, ls="--", label=f"{prefix}validation"
                )
            best = (best_epochs or {}).get(name)
            if best is not None and best != epochs[-1]:
                ax.axvline(best, color=c, ls=":", lw=1, label=f"{prefix}best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label.split(' (')[0].capitalize()} per epoch: train (solid) vs validation (dashed)")
        if key == "loss" and all(
            v > 0 for recs in histories.values() for r in recs for v in [r.get("train_loss", 1)]
        ):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save(fig, path)


def confusion_matrix(cm: np.ndarray, class_names: list[str], title: str, path: Path) -> Path:
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.2 + 0.45 * k, 1.0 + 0.45 * k) if k > 4 else (4, 3.5))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), class_names, rotation=45 if k > 6 else 0)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > threshold else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="test examples")
    return save(fig, path)


def decision_boundaries(panels: dict[str, Any], x: np.ndarray, y: np.ndarray, path: Path) -> Path:
    """For 2-D inputs: each model's predicted probability of class 1 over the plane.
    `panels` maps a name to a function grid (m, 2) -> probabilities (m,)."""
    lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for ax, (name, prob_fn) in zip(axes[0], panels.items(), strict=True):
        p = prob_fn(grid).reshape(g1.shape)
        cs = ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
        ax.contour(g1, g2, p, levels=[0.5], colors="black", linewidths=1.5)
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="black", s=60, vmin=0, vmax=1)
        ax.set_title(name)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.colorbar(cs, ax=axes[0].tolist(), label="P(class 1)")
    fig.suptitle("Predicted P(class 1) over the input plane; black line = decision boundary (0.5)")
    return save(fig, path)


def metric_bars(rows: dict[str, float], metric: str, path: Path) -> Path:
    """The headline metric of each model and baseline, side by side."""
    names = list(rows)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.4 * len(names)))
    ax.barh(
        names,
        [rows[n] for n in names],
        color=["#1f77b4" if not n.startswith("baseline") else "#999999" for n in names],
    )
    for i, n in enumerate(names):
        ax.text(rows[n], i, f" {rows[n]:.3f}", va="center", fontsize=8)
    ax.set_xlabel(f"test {metric}")
    ax.set_title(f"Test {metric}: models vs baselines")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


def grad_norms(records: list[dict[str, Any]], title: str, path: Path) -> Path:
    """Per-layer gradient norm per epoch (log scale): vanishing/exploding gradients show up
    as layers whose lines sit orders of magnitude apart."""
    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(records[0]["grad_norm"])
    for name in names:
        ax.plot([r["epoch"] for r in records], [r["grad_norm"][name] for r in records], label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMS gradient norm per step")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save(fig, path)
