"""Figures of the tuning entries: the range test's loss curve with its suggestions marked, and
the staged protocol's sweeps (`nnj study tuning`) with the chosen value marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nnjournal.journal.plots import plt, save
from nnjournal.training.lr_finder import RangeTest


def lr_range_plot(result: RangeTest, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(result.lrs, result.losses, color="0.75", lw=1, label="loss per mini-batch")
    ax.plot(result.lrs, result.smoothed, color="C1", lw=1, label="moving average (decides the stop)")
    ax.plot(result.lrs, result.centered, color="C0", lw=2, label="zero-lag smoothed loss (suggestions)")
    if result.steepest is not None:
        ax.axvline(result.steepest, color="C2", ls="--", label=f"steepest descent {result.steepest:.2g}")
    if result.min_over_10 is not None:
        ax.axvline(result.min_over_10, color="C3", ls=":", label=f"minimum / 10 {result.min_over_10:.2g}")
    ax.set_xscale("log")
    if result.smoothed:  # the diverging tail would flatten the interesting part
        top = min(max(result.losses), 4 * min(result.smoothed) + max(result.smoothed[:5]))
        ax.set_ylim(bottom=max(0.0, min(result.losses) * 0.9), top=top)
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss", title="Learning-rate range test")
    ax.legend()
    return save(fig, path)


def stage_plot(
    values: Sequence[float],
    losses: Sequence[float],
    scores: Sequence[float] | None,
    chosen: float,
    *,
    xlabel: str,
    title: str,
    path: Path,
    score_name: str | None = None,
    log: bool = True,
    chosen_label: str | None = None,
) -> Path:
    """One stage of the staged tuning protocol: validation loss (and the task's score, on a
    second axis) against the swept value, the chosen value marked. Diverged settings (a
    non-finite loss) are left out of the line and listed in the stage's table."""
    x = np.asarray(values, dtype=float)
    y = np.asarray(losses, dtype=float)
    ok = np.isfinite(y)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x[ok], y[ok], color="C0", marker=".", lw=1.5, label="validation loss")
    best = float(y[ok][np.argmin(np.abs(x[ok] - chosen))]) if ok.any() else float("nan")
    ax.axvline(chosen, color="C3", ls="--", lw=1)
    ax.plot([chosen], [best], marker="*", ms=14, color="C3", ls="none", label=chosen_label or f"chosen {chosen:.3g}")
    if ok.any():  # a diverging tail would flatten the interesting part
        top = min(float(y[ok].max()), 3 * float(np.median(y[ok])))
        ax.set_ylim(bottom=float(y[ok].min()) * 0.9, top=max(top, best * 1.1))
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel + (" (log scale)" if log else ""), ylabel="validation loss", title=title)
    handles, labels = ax.get_legend_handles_labels()
    if scores is not None and score_name:
        s = np.asarray(scores, dtype=float)
        twin = ax.twinx()
        twin.plot(x[ok], s[ok], color="C2", lw=1, alpha=0.7, label=f"validation {score_name}")
        twin.set_ylabel(f"validation {score_name}")
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="best")
    return save(fig, path)


def dropout_plot(
    grid: Sequence[tuple[float, float, float]], chosen: tuple[float, float], *, title: str, path: Path
) -> Path:
    """The dropout stage: validation loss against hidden-layer dropout, one line per input
    dropout rate, the chosen pair marked."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, p_in in enumerate(sorted({g[0] for g in grid})):
        rows = sorted((h, loss) for p, h, loss in grid if p == p_in and np.isfinite(loss))
        if rows:
            ax.plot(*zip(*rows, strict=True), marker="o", color=f"C{i}", label=f"input dropout {p_in:g}")
    best = next((loss for p, h, loss in grid if (p, h) == chosen), float("nan"))
    ax.plot([chosen[1]], [best], marker="*", ms=16, color="C3", ls="none",
            label=f"chosen: input {chosen[0]:g}, hidden {chosen[1]:g}")
    ax.set(xlabel="hidden-layer dropout rate", ylabel="validation loss (best epoch)", title=title)
    ax.legend()
    return save(fig, path)
