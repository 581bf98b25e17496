"""Figures of the tuning entries: the range test's loss curve with its suggestions marked."""

from __future__ import annotations

from pathlib import Path

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
