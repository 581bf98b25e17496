"""Label smoothing: train against `(1 - eps) * one_hot + eps / k` instead of hard targets, so
the network is not pushed to ever larger logits on examples it already gets right.
Validation and test losses keep the hard targets."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from nnjournal.errors import NNJError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def smoothed_loss(task: object, eps: float) -> LossFn:
    """The task's training loss with label smoothing `eps` (classification only)."""
    if not hasattr(task, "n_classes"):  # smoothing mixes in the uniform distribution over classes
        raise NNJError(
            "training.label_smoothing applies to classification only "
            f"(this task is {getattr(task, 'name', 'another kind')}); set it to 0"
        )
    if not 0 <= eps < 1:
        raise NNJError(f"training.label_smoothing must be in [0, 1), got {eps}")
    if getattr(task, "binary", False):

        def binary(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            soft = targets.to(outputs.dtype) * (1 - eps) + eps / 2
            return F.binary_cross_entropy_with_logits(outputs.squeeze(1), soft)

        return binary

    def multiclass(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets, label_smoothing=eps)

    return multiclass
