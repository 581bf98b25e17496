"""Hooks a trainer calls at a handful of moments: train begin/end, batch end, epoch end. Each
receives the model, so a hook can prune, log, sweep the learning rate or stop the run (by
raising). Plain functions `fn(epoch, record)` can be passed as epoch-end hooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn


class Callback:
    """Override any of these; the trainer calls them in order, with the live model."""

    def on_train_begin(self, model: nn.Module, optimizer: Any) -> None: ...

    def on_batch_end(self, step: int, model: nn.Module, loss: Any) -> None: ...

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: nn.Module) -> None: ...

    def on_train_end(self, model: nn.Module, history: Any) -> None: ...


class EpochFunction(Callback):
    """An epoch-end hook from a plain function `fn(epoch, record)`."""

    def __init__(self, fn: Callable[[int, dict[str, Any]], None]) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: nn.Module) -> None:
        self.fn(epoch, record)


def as_callbacks(
    callbacks: Sequence[Callback], on_epoch_end: Sequence[Callable[[int, dict[str, Any]], None]]
) -> list[Callback]:
    return [*callbacks, *(EpochFunction(f) for f in on_epoch_end)]


def wants_batch_end(callbacks: Sequence[Callback]) -> bool:
    """Whether any hook overrides on_batch_end (the loop skips the call otherwise)."""
    return any(type(c).on_batch_end is not Callback.on_batch_end for c in callbacks)
