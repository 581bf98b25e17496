"""Plots for studies (many trainings in one journal entry). Every figure has a title, axis
labels and units; colours follow matplotlib's default cycle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nnjournal.journal.plots import plt, save


def _padded(series: Sequence[Sequence[float]]) -> np.ndarray:
    """(runs, longest) with NaN after a run's end (early stopping ends runs at different epochs)."""
    longest = max(len(s) for s in series)
    out = np.full((len(series), longest), np.nan)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
    return out


def error_curves_grid(curves: dict[str, tuple[list[list[float]], list[list[float]]]], path: Path) -> Path:
    """One panel per technique, shared axes: mean train (solid) and validation (dashed) error
    per epoch over seeds, with a ±1 std band. `curves[name] = (train_runs, val_runs)`."""
    names = list(curves)
    cols = min(5, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.0 * cols, 2.6 * rows + 0.6), sharex=True, sharey=True, squeeze=False
    )
    for ax, name in zip(axes.flat, names, strict=False):
        for runs, style, label, colour in (
            (curves[name][0], "-", "train", "#1f77b4"),
            (curves[name][1], "--", "validation", "#d62728"),
        ):
            a = _padded(runs)
            with np.errstate(all="ignore"):
                mean, std = np.nanmean(a, 0), np.nanstd(a, 0)
            epochs = np.arange(1, a.shape[1] + 1)
            ax.plot(epochs, mean, style, color=colour, label=label, lw=1.3)
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.15, lw=0)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("error (1 − accuracy)")
    axes.flat[0].legend(fontsize=8)
    axes.flat[0].set_ylim(bottom=0)
    fig.suptitle("Train (solid) vs validation (dashed) error per epoch, mean ± std over seeds (shared axes)")
    fig.tight_layout()
    return save(fig, path)


def weight_histograms(weights: dict[str, np.ndarray], tol: float, path: Path) -> Path:
    """Distribution of |w| per technique on a log axis: L1 piles weights up near zero, L2
    shrinks the whole distribution without reaching zero."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    bins = np.logspace(-8, 1, 60)
    for name, w in weights.items():
        a = np.clip(np.abs(w), 1e-8, None)
        frac = float((np.abs(w) < tol).mean())
        ax.hist(a, bins=bins, histtype="step", lw=1.5, label=f"{name} ({frac:.0%} below {tol:g})")
    ax.axvline(tol, color="black", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("|weight| (log scale; values below 1e-8 drawn at 1e-8)")
    ax.set_ylabel("number of weights")
    ax.set_title("Weight magnitudes after training (seed 0); dotted line = near-zero threshold")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def steps_to_target(
    curves: dict[str, list[list[float]]], steps_per_epoch: int, target: float, path: Path
) -> Path:
    """Validation accuracy against optimizer steps, one line per seed, the target dotted."""
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, (name, runs) in zip(colours, curves.items(), strict=False):
        for i, acc in enumerate(runs):
            steps = np.arange(1, len(acc) + 1) * steps_per_epoch
            ax.plot(steps, acc, color=c, alpha=0.8, lw=1, label=name if i == 0 else None)
    ax.axhline(target, color="black", ls=":", lw=1, label=f"target {target:.0%}")
    ax.set_xscale("log")
    ax.set_xlabel("optimizer steps (log scale)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Steps to target accuracy, with and without batch norm (one line per seed)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def ensemble_spread(
    members: dict[str, list[list[float]]], combined: dict[str, list[float]], path: Path
) -> Path:
    """Each member's test error (dots) next to the combined ensemble's (cross), per seed."""
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.5 * sum(len(v) for v in members.values())))
    y, labels = 0, []
    for name, per_seed in members.items():
        for s, errs in enumerate(per_seed):
            ax.scatter(errs, [y] * len(errs), color="#1f77b4", s=25, label="member" if y == 0 else None)
            ax.scatter(
                [combined[name][s]],
                [y],
                color="#d62728",
                marker="X",
                s=70,
                label="ensemble" if y == 0 else None,
            )
            labels.append(f"{name}, seed {s}")
            y += 1
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("test error (1 − accuracy)")
    ax.set_title("Ensemble members vs their combined prediction (probability averaging)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


def mc_dropout_uncertainty(entropy: np.ndarray, correct: np.ndarray, path: Path) -> Path:
    """Left: predictive entropy of MC-dropout predictions, right vs wrong. Right: accuracy on
    the most certain fraction of the test set (rejecting the most uncertain first)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.linspace(0, max(float(entropy.max()), 1e-3), 30)
    a1.hist(entropy[correct], bins=bins, alpha=0.6, label=f"correct ({int(correct.sum())})")
    a1.hist(entropy[~correct], bins=bins, alpha=0.6, label=f"wrong ({int((~correct).sum())})")
    a1.set_yscale("log")
    a1.set_xlabel("predictive entropy (nats)")
    a1.set_ylabel("test examples")
    a1.set_title("MC-dropout uncertainty: right vs wrong predictions")
    a1.legend(fontsize=8)
    order = np.argsort(entropy)
    kept = np.arange(1, len(order) + 1)
    acc = np.cumsum(correct[order]) / kept
    a2.plot(kept / len(order), acc)
    a2.set_xlabel("fraction of test examples kept (most certain first)")
    a2.set_ylabel("accuracy on the kept examples")
    a2.set_title("Accuracy when the most uncertain are set aside")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    return save(fig, path)


def capacity_curves(
    widths: list[int],
    lines: dict[str, tuple[list[float], list[float]]],
    path: Path,
    xlabel: str = "hidden units per layer (log scale)",
) -> Path:
    """Train (dashed) and test (solid) error against capacity, one colour per L2 strength;
    the minimum of each test curve is marked."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, (name, (train, test)) in zip(colours, lines.items(), strict=False):
        ax.plot(widths, train, "--o", color=c, ms=3, lw=1, label=f"{name}: train")
        ax.plot(widths, test, "-o", color=c, ms=4, lw=1.6, label=f"{name}: test")
        i = int(np.argmin(test))
        ax.scatter([widths[i]], [test[i]], s=160, facecolors="none", edgecolors=c, lw=2, zorder=5)
        ax.annotate(
            f"min {test[i]:.3f} @ {widths[i]}",
            (widths[i], test[i]),
            textcoords="offset points",
            xytext=(6, 8),
            fontsize=8,
            color=c,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("error (1 − accuracy)")
    ax.set_title("Error vs model capacity: train (dashed) and test (solid); circle = test minimum")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return save(fig, path)


def error_vs_epochs(curves: dict[str, tuple[list[float], list[float]]], path: Path) -> Path:
    """Train (dashed) and validation (solid) error per epoch for several capacities; the
    validation minimum (where early stopping would stop) is marked."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, (name, (train, val)) in zip(colours, curves.items(), strict=False):
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, "--", color=c, lw=1, label=f"{name}: train")
        ax.plot(epochs, val, "-", color=c, lw=1.5, label=f"{name}: validation")
        i = int(np.nanargmin(val))
        ax.scatter([epochs[i]], [val[i]], s=80, facecolors="none", edgecolors=c, lw=2, zorder=5)
    ax.set_xscale("log")
    ax.set_xlabel("epoch (log scale)")
    ax.set_ylabel("error (1 − accuracy)")
    ax.set_title("Error vs training time; circle = validation minimum")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return save(fig, path)


def loss_vs_steps_and_time(
    curves: dict[str, tuple[list[int], list[float], list[float]]], title: str, path: Path
) -> Path:
    """Training loss against optimizer steps (left) and against wall time (right), one line per
    setting. `curves` maps a name to (cumulative steps, cumulative seconds, loss) per epoch."""
    fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for name, (steps, seconds, losses) in curves.items():
        by_steps.plot(steps, losses, "-o", ms=2.5, lw=1.3, label=name)
        by_time.plot(seconds, losses, "-o", ms=2.5, lw=1.3, label=name)
    by_steps.set_xscale("log")
    by_steps.set_xlabel("optimizer steps (log scale)")
    by_time.set_xlabel("wall time (s)")
    by_steps.set_ylabel("training loss (cross-entropy, log scale)")
    for ax, what in ((by_steps, "steps"), (by_time, "wall time")):
        ax.set_yscale("log")
        ax.set_title(f"Training loss vs {what}")
        ax.grid(alpha=0.3)
    by_steps.legend(fontsize=7)
    fig.suptitle(title)
    return save(fig, path)
