"""`training.log_activation_stats`: an epoch callback that records, per activation layer, the
dead share (ReLU units that never fire), the saturated share (sigmoid/tanh in their flat
tails), the mean and the spread of the outputs on a fixed sample of training inputs."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nnjournal.debugging.activations import activation_stats
from nnjournal.training.callbacks import Callback

SAMPLE = 1024  # training inputs measured each epoch: a share of a unit's firing, not a census


class ActivationStatsLogger(Callback):
    """Adds `record["activation_stats"] = {layer: {dead, saturated, mean, std}}` at every epoch
    end; it must run before hooks that write the record out (fit puts it first)."""

    def __init__(self, x: torch.Tensor, sample: int = SAMPLE) -> None:
        self.x = x[:sample]

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: nn.Module) -> None:
        stats = activation_stats(model, self.x)
        record["activation_stats"] = {
            name: {k: s[k] for k in ("kind", "dead", "saturated", "mean", "std")} for name, s in stats.items()
        }
