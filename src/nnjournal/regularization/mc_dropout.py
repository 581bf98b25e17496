"""Monte-Carlo dropout: dropout left on at test time, T stochastic passes averaged. Each pass
is one member of the implicit ensemble dropout trains; their disagreement (the predictive
entropy of the mean, or the spread of the passes) is a cheap estimate of uncertainty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class MCDropoutPrediction:
    proba: np.ndarray  # (n, k) mean class probabilities over the passes
    entropy: np.ndarray  # (n,) predictive entropy of the mean, in nats
    std: np.ndarray  # (n,) std over passes of the predicted class's probability


def has_dropout(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules())


@torch.no_grad()
def mc_dropout_predict(model: nn.Module, x: torch.Tensor, samples: int = 50) -> MCDropoutPrediction:
    """`samples` passes of a classifier with only its dropout layers in training mode (batch
    norm keeps its running estimates)."""
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    was_training = model.training
    model.eval()
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    for m in dropouts:
        m.train()
    try:
        device = next(model.parameters()).device
        outs = torch.stack([model(x.to(device)) for _ in range(samples)]).float().cpu()  # (T, n, C)
    finally:
        model.train(was_training)
    if outs.shape[-1] == 1:
        p1 = torch.sigmoid(outs.squeeze(-1))
        passes = torch.stack([1 - p1, p1], dim=-1)
    else:
        passes = torch.softmax(outs, dim=-1)
    mean = passes.mean(0)
    entropy = -(mean * mean.clamp_min(1e-12).log()).sum(-1)
    pred = mean.argmax(-1)
    std = passes.gather(-1, pred.view(1, -1, 1).expand(samples, -1, 1)).squeeze(-1).std(0)
    return MCDropoutPrediction(mean.numpy(), entropy.numpy(), std.numpy())


def mc_dropout_report(model: nn.Module, split: Any, samples: int, seed: int) -> dict[str, Any]:
    """Monte-Carlo dropout on a labelled split: accuracy of the averaged passes next to the
    ordinary deterministic pass, and the mean predictive entropy on right and wrong answers
    (plus per-example `entropy` and `correct` arrays for the figure)."""
    from nnjournal.training.predict import predict_outputs
    from nnjournal.training.seeding import seed_everything

    seed_everything(seed)  # the passes' dropout masks: same seed, same numbers
    pred = mc_dropout_predict(model, split.x, samples=samples)
    y = split.y.cpu().numpy()
    correct = pred.proba.argmax(1) == y
    outputs = predict_outputs(model, split.x).float().cpu()
    single = (outputs.argmax(-1) if outputs.shape[-1] > 1 else (outputs.squeeze(-1) > 0).long()).numpy()
    return {
        "samples": samples,
        "accuracy": float(correct.mean()),
        "deterministic_accuracy": float((single == y).mean()),
        "entropy_correct": float(pred.entropy[correct].mean()) if correct.any() else float("nan"),
        "entropy_wrong": float(pred.entropy[~correct].mean()) if (~correct).any() else float("nan"),
        "entropy": pred.entropy,
        "correct": correct,
    }
