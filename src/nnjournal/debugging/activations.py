"""Activation and gradient statistics per layer, through forward hooks.

For every activation module (ReLU-like, sigmoid, tanh) the outputs over a set of examples
give: the share of units that never fire (ReLU family: output never > 0 on any example, a
dead unit), the share of outputs in the flat tails (sigmoid < 0.01 or > 0.99, |tanh| > 0.99:
saturated, a gradient near zero), the mean and spread, and a histogram. A convolutional
layer's unit is a channel (dead = no positive output anywhere on any image)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

RELU_LIKE = (nn.ReLU, nn.ReLU6)
SATURATING = (nn.Sigmoid, nn.Tanh)
HIST_BINS = 30
SAMPLE = 20_000  # values per layer kept for the histogram


def activation_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Named activation modules whose outputs are measured."""
    return {n: m for n, m in model.named_modules() if isinstance(m, RELU_LIKE + SATURATING)}


@torch.no_grad()
def activation_stats(
    model: nn.Module, x: torch.Tensor, *, chunk: int = 1024, histograms: bool = False
) -> dict[str, dict[str, Any]]:
    """Per activation layer: kind, units, dead share (ReLU family), saturated share (sigmoid,
    tanh), mean, std; with `histograms` also `hist` = (counts, edges). The model runs in
    evaluation mode on `x` (e.g. the training inputs), in chunks."""
    mods = activation_modules(model)
    acc: dict[str, dict[str, Any]] = {}

    def hook(name: str, module: nn.Module):  # noqa: ANN202
        def record(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            o = out.detach().double()
            per_unit = o.transpose(0, 1).reshape(o.shape[1], -1) if o.dim() > 1 else o.reshape(1, -1)
            a = acc.setdefault(name, {"fired": torch.zeros(per_unit.shape[0], dtype=torch.bool, device=o.device),
                                      "n": 0, "sum": 0.0, "sq": 0.0, "sat": 0.0, "sample": []})
            a["fired"] |= (per_unit > 0).any(dim=1)
            a["n"] += o.numel()
            a["sum"] += float(o.sum())
            a["sq"] += float((o * o).sum())
            if isinstance(module, nn.Sigmoid):
                a["sat"] += float(((o < 0.01) | (o > 0.99)).sum())
            elif isinstance(module, nn.Tanh):
                a["sat"] += float((o.abs() > 0.99).sum())
            if histograms and sum(len(s) for s in a["sample"]) < SAMPLE:
                a["sample"].append(o.reshape(-1)[:SAMPLE].float().cpu().numpy())

        return record

    handles = [m.register_forward_hook(hook(n, m)) for n, m in mods.items()]
    was_training = model.training
    model.eval()
    try:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        for i in range(0, len(x), chunk):
            model(x[i : i + chunk].to(device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    stats: dict[str, dict[str, Any]] = {}
    for name, a in acc.items():
        module = mods[name]
        mean = a["sum"] / a["n"]
        row: dict[str, Any] = {
            "kind": type(module).__name__,
            "units": int(a["fired"].numel()),
            "mean": mean,
            "std": max(a["sq"] / a["n"] - mean * mean, 0.0) ** 0.5,
            "dead": float((~a["fired"]).double().mean()) if isinstance(module, RELU_LIKE) else None,
            "saturated": a["sat"] / a["n"] if isinstance(module, SATURATING) else None,
        }
        if histograms:
            values = np.concatenate(a["sample"])[:SAMPLE]
            counts, edges = np.histogram(values, bins=HIST_BINS)
            row["hist"] = (counts.tolist(), edges.tolist())
        stats[name] = row
    return stats


def gradient_stats(model: nn.Module, loss: torch.Tensor, *, histograms: bool = False) -> dict[str, dict[str, Any]]:
    """Per weight tensor (dim > 1): the gradient's norm, its ratio to the weight's norm (the
    relative size of one step) and, with `histograms`, a histogram, after `loss.backward()`."""
    model.zero_grad(set_to_none=True)
    loss.backward()
    out: dict[str, dict[str, Any]] = {}
    for name, p in model.named_parameters():
        if p.grad is None or p.dim() < 2:
            continue
        g = p.grad.detach().double()
        row: dict[str, Any] = {"norm": float(g.norm()), "ratio": float(g.norm() / p.detach().double().norm().clamp_min(1e-12))}
        if histograms:
            counts, edges = np.histogram(g.reshape(-1).cpu().numpy(), bins=HIST_BINS)
            row["hist"] = (counts.tolist(), edges.tolist())
        out[name] = row
    model.zero_grad(set_to_none=True)
    return out


def stats_table(stats: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    headers = ["layer", "kind", "units", "mean", "std", "dead share", "saturated share"]
    rows = [
        [n, s["kind"], str(s["units"]), f"{s['mean']:.3f}", f"{s['std']:.3f}",
         "" if s["dead"] is None else f"{s['dead']:.2f}", "" if s["saturated"] is None else f"{s['saturated']:.2f}"]
        for n, s in stats.items()
    ]
    return headers, rows
