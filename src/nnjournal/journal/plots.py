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
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402

from nnjournal.evaluation.metrics import quiet_metric_warnings  # noqa: E402
from nnjournal.files import atomic_write_bytes  # noqa: E402


def save(fig: plt.Figure, path: Path) -> Path:
    """Write `fig` as PNG (atomically) and close it. Text is drawn literally: class names,
    column names and captions come from users' data, and matplotlib would read `$...$` in
    them as mathtext (a label like `$\\badcmd$` crashes the drawing, `$x$` is rendered as
    math). No plot here uses mathtext on purpose."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    for ax in fig.axes:  # log axes label their ticks with mathtext ($10^{-3}$): plain "0.001" instead
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                base = axis.get_transform().base
                axis.set_major_formatter(LogFormatter(base))
                axis.set_minor_formatter(LogFormatter(base, labelOnlyBase=False))
    buf = io.BytesIO()
    try:
        # Tick labels are made while drawing: they take parse_math from the rc settings.
        with matplotlib.rc_context({"text.parse_math": False}):
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    finally:
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
    values = [r["grad_norm"][name] for r in records for name in names]
    for name in names:
        ax.plot([r["epoch"] for r in records], [r["grad_norm"][name] for r in records], label=name)
    # log scale, but a layer whose gradient is exactly 0 (dead units) stays on the plot at 0
    # instead of vanishing from a log axis: linear below the smallest positive norm
    positive = [v for v in values if v > 0]
    ax.set_yscale("symlog", linthresh=min(positive) if positive else 1e-12)
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMS gradient norm per step")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save(fig, path)


@quiet_metric_warnings
def roc_curves(y: np.ndarray, probas: dict[str, np.ndarray], path: Path) -> Path:
    """ROC curve of each model's P(positive), AUC in the legend; the diagonal is chance."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in probas.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="chance (AUC 0.5)")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.set_title("ROC curves (test split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return save(fig, path)


@quiet_metric_warnings
def pr_curves(y: np.ndarray, probas: dict[str, np.ndarray], path: Path) -> Path:
    """Precision against recall of each model; the horizontal line is the positive rate,
    what a random ranking achieves."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in probas.items():
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(y, p):.3f})")
    ax.axhline(float(np.mean(y)), color="grey", ls=":", label=f"random ({np.mean(y):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision-recall curves (test split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    return save(fig, path)


@quiet_metric_warnings
def calibration_curves(y: np.ndarray, probas: dict[str, np.ndarray], path: Path, bins: int = 10) -> Path:
    """Reliability diagram: in each bin of predicted probability, the observed positive
    rate. A calibrated model lies on the diagonal."""
    from sklearn.calibration import calibration_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in probas.items():
        observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
        ax.plot(predicted, observed, marker="o", ms=3, label=name)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfectly calibrated")
    ax.set_xlabel("predicted probability of the positive class")
    ax.set_ylabel("observed positive rate")
    ax.set_title(f"Reliability diagram ({bins} quantile bins, test split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return save(fig, path)


@quiet_metric_warnings
def threshold_tradeoff(y: np.ndarray, p: np.ndarray, chosen: float | None, path: Path) -> Path:
    """Precision, recall and F1 of the positive class as the decision threshold moves."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(thresholds, precision, label="precision")
    ax.plot(thresholds, recall, label="recall")
    ax.plot(thresholds, f1, label="F1")
    ax.axvline(0.5, color="grey", ls=":", lw=1, label="0.5")
    if chosen is not None:
        ax.axvline(chosen, color="black", ls="--", lw=1, label=f"chosen {chosen:.3f}")
    ax.set_xlabel("decision threshold on P(positive)")
    ax.set_ylabel("score")
    ax.set_title("Precision-recall trade-off (validation split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def permutation_importance(columns: dict[str, dict[str, float]], metric: str, title: str, path: Path) -> Path:
    """Mean drop in the metric when each column is shuffled, with its spread over repeats."""
    names = list(columns)[:25]
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.3 * len(names)))
    ax.barh(
        names,
        [columns[n]["mean"] for n in names],
        xerr=[columns[n]["std"] for n in names],
        color="#1f77b4",
    )
    ax.invert_yaxis()
    ax.set_xlabel(f"drop in test {metric} when shuffled")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


# ---------------------------------------------------------------- images
def _show(ax: Any, image: np.ndarray) -> None:
    """One (C, H, W) uint8 image (or (H, W) grey) on an axis, without ticks."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def filter_gallery(
    outputs: dict[str, np.ndarray], kernels: dict[str, np.ndarray], title: str, path: Path
) -> Path:
    """Each filtered image side by side, titled with its kernel's name and values."""
    cols = 4
    rows = -(-len(outputs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4.4 * rows), squeeze=False)
    for ax, (name, image) in zip(axes.flat, outputs.items(), strict=False):
        _show(ax, image)
        k = kernels[name]
        values = "\n".join(" ".join(f"{v:.3g}" for v in row) for row in k)
        ax.set_title(name if k.shape[0] > 3 else f"{name}\n{values}", fontsize=8)
        ax.set_xlabel("x (pixels)", fontsize=7)
        ax.set_ylabel("y (pixels)", fontsize=7)
    for ax in list(axes.flat)[len(outputs) :]:
        ax.axis("off")
    fig.suptitle(title)
    return save(fig, path)


def misclassified_grid(
    images: np.ndarray, true: np.ndarray, pred: np.ndarray, class_names: list[str], title: str, path: Path
) -> Path:
    """Up to 25 misclassified test images, each titled `true -> predicted`."""
    n = min(len(images), 25)
    cols = min(n, 5) or 1
    rows = max(-(-n // cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(2.1 * cols, 2.3 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        _show(ax, images[i])
        ax.set_title(f"true {class_names[true[i]]}\npred {class_names[pred[i]]}", fontsize=8, color="crimson")
    if n == 0:
        axes[0, 0].text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
    fig.suptitle(title, y=1.0 + 0.1 / rows)  # above the two-line panel titles
    return save(fig, path)


def per_class_accuracy(cm: np.ndarray, class_names: list[str], title: str, path: Path) -> Path:
    """Accuracy within each true class (the confusion matrix's diagonal over its row sums)."""
    totals = cm.sum(axis=1)
    acc = np.divide(np.diag(cm), totals, out=np.zeros(len(cm)), where=totals > 0)
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(acc) + 2), 3.8))
    bars = ax.bar(range(len(acc)), acc, color="tab:blue")
    for bar, value in zip(bars, acc, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2, value, f"{value:.2f}", ha="center", va="bottom", fontsize=7
        )
    ax.set_xticks(range(len(acc)), class_names, rotation=45 if len(acc) > 10 else 0, fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("true class")
    ax.set_ylabel("accuracy on the test split")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path)


def conv_filters(weights: np.ndarray, title: str, path: Path) -> Path:
    """First-layer kernels (out, in, k, k): colour when the input is RGB, else each kernel's
    channel-mean in grey; each kernel stretched to its own range."""
    n = min(len(weights), 64)
    cols = min(n, 8)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.3 * rows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        w = weights[i]
        w = (w - w.min()) / max(float(w.max() - w.min()), 1e-12)
        if w.shape[0] == 3:
            ax.imshow(w.transpose(1, 2, 0), interpolation="nearest")
        else:
            ax.imshow(w.mean(axis=0), cmap="gray", interpolation="nearest")
        ax.set_title(str(i), fontsize=6)
    fig.suptitle(title)
    return save(fig, path)


def feature_maps(
    image: np.ndarray, maps: dict[str, np.ndarray], title: str, path: Path, per_layer: int = 8
) -> Path:
    """The input and the first `per_layer` channels of each listed layer's output for it."""
    rows = len(maps) + 1
    fig, axes = plt.subplots(rows, per_layer, figsize=(1.4 * per_layer, 1.5 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    _show(axes[0, 0], image)
    axes[0, 0].axis("on")
    axes[0, 0].set_title("input", fontsize=7)
    for r, (name, fmap) in enumerate(maps.items(), start=1):
        for c in range(min(per_layer, len(fmap))):
            ax = axes[r, c]
            ax.axis("on")
            ax.imshow(fmap[c], cmap="viridis", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name} ch {c} ({fmap.shape[1]}x{fmap.shape[2]})", fontsize=5)
    fig.suptitle(title)
    return save(fig, path)


def ensemble_members(members: list[float], combined: float, metric: str, title: str, path: Path) -> Path:
    """Each member's test metric (dots, one row each) and the combined ensemble's (a line)."""
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * len(members)))
    rows = np.arange(len(members))
    ax.scatter(members, rows, color="#1f77b4", s=30, label="member")
    ax.axvline(combined, color="#d62728", lw=2, label=f"ensemble {combined:.4f}")
    ax.set_yticks(rows, [f"member {i}" for i in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"test {metric}")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)
