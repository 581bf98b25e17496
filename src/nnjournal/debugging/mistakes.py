"""The worst mistakes: the examples of a split ranked by their own loss, highest first, with
the true and predicted label and the confidence where the task gives probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

LIMIT = 2000  # examples scored: enough to find the worst, bounded in time


@torch.no_grad()
def per_example_losses(model: nn.Module, task: Any, split: Any, limit: int = LIMIT) -> np.ndarray:
    """The task's evaluation loss of each of the first `limit` examples, one at a time (so a
    task's mean loss is each example's own loss), in evaluation mode."""
    was_training = model.training
    model.eval()
    n = min(len(split), limit)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    out = np.empty(n)
    try:
        for i in range(n):
            batch = split.take(torch.tensor([i])).to(device)
            out[i] = float(task.evaluation_step(model, batch).loss)
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def worst_mistakes(model: nn.Module, task: Any, split: Any, k: int = 12) -> dict[str, Any]:
    """The `k` highest-loss examples: {"index", "loss", "true", "predicted", "confidence",
    "x" (the inputs), "output" (the model's reconstruction where it returns one)}."""
    losses = per_example_losses(model, task, split)
    order = np.argsort(-losses)[:k]
    idx = torch.as_tensor(order.copy())
    batch = split.take(idx)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()
    outputs = model(batch.x.to(device))
    result: dict[str, Any] = {"index": order.tolist(), "loss": losses[order].tolist(), "x": batch.x.cpu()}
    if hasattr(task, "proba"):  # a classifier: labels and how sure it was
        p = task.proba(outputs)
        result["predicted"] = p.argmax(axis=1).tolist()
        result["confidence"] = p.max(axis=1).tolist()
        result["true"] = batch.y.cpu().tolist()
    recon = getattr(outputs, "recon", None)
    if recon is not None:
        result["output"] = recon.cpu()
        result["true"] = None
    return result


def mistakes_table(m: dict[str, Any], feature_names: list[str] | None, class_names: list[str] | None) -> tuple[list[str], list[list[str]]]:
    """Table rows: index, loss, true, predicted, confidence, and the inputs' largest features
    (for tables: the row itself, by its most extreme standardized values)."""
    def label(c: int) -> str:
        return class_names[c] if class_names and c < len(class_names) else str(c)

    headers = ["example", "loss"]
    if "predicted" in m:
        headers += ["true", "predicted", "confidence"]
    headers.append("most extreme inputs")
    rows = []
    for j, i in enumerate(m["index"]):
        row = [str(i), f"{m['loss'][j]:.3f}"]
        if "predicted" in m:
            row += [label(m["true"][j]), label(m["predicted"][j]), f"{m['confidence'][j]:.2f}"]
        x = m["x"][j].reshape(-1).float()
        top = x.abs().topk(min(4, len(x))).indices.tolist()
        names = feature_names or [f"x{t}" for t in range(len(x))]
        row.append(", ".join(f"{names[t]}={x[t]:.2f}" for t in top))
        rows.append(row)
    return headers, rows


def is_image(x: torch.Tensor) -> bool:
    """Inputs that can be shown as pictures: (n, C, H, W) with 1 or 3 channels."""
    return x.dim() == 4 and x.shape[1] in (1, 3)
