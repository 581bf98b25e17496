"""Model outputs on a whole split, in evaluation mode and in chunks (so a large split never
needs one huge forward pass)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


@contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[torch.device]:
    """The block runs with `model` in evaluation mode (dropout off, batch norm on its running
    estimates) and gets the model's device; the previous mode is restored afterwards, also
    when the block raises."""
    was_training = model.training
    model.eval()
    try:
        yield next(model.parameters()).device
    finally:
        model.train(was_training)


def split_chunks(split: Any, size: int, device: torch.device) -> Iterator[Any]:
    """A split's examples in order, `size` at a time, each piece (every field) on `device`."""
    for start in range(0, len(split), size):
        yield split.take(torch.arange(start, min(start + size, len(split)))).to(device)


@torch.inference_mode()
def predict_outputs(model: nn.Module, x: torch.Tensor, batch_size: int = 8192) -> Any:
    """Model outputs in evaluation mode (dropout off, batch norm uses running estimates): a
    tensor, or a NamedTuple of tensors for models that return one (autoencoders)."""
    with evaluation_mode(model) as device:
        chunks = [model(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)]
    if chunks and isinstance(chunks[0], tuple):
        # Structured outputs (an autoencoder's reconstruction, code, penalty): join field by field.
        return type(chunks[0])(*(torch.cat(parts) for parts in zip(*chunks, strict=True)))
    return torch.cat(chunks) if chunks else torch.empty(0)
