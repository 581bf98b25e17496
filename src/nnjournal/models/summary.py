"""`nnj model summary`: each layer's output shape and parameter count, from one forward
pass of a zero batch (like Keras' `model.summary()`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from nnjournal.models.cnn import ResidualBlock, TiledConv2d

# Shown as one line: their insides are an implementation detail of one idea.
_UNITS = (ResidualBlock, TiledConv2d)


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int


def summarize(model: nn.Module, input_shape: Sequence[int]) -> list[LayerRow]:
    """One row per layer (leaf module, or residual block / tiled conv), in forward order."""
    rows: list[LayerRow] = []
    hooks = []
    skip: set[str] = set()
    for name, module in model.named_modules():
        if not name or any(name.startswith(s + ".") for s in skip):
            continue
        if isinstance(module, _UNITS) or not list(module.children()):
            skip.add(name)

            def hook(mod: nn.Module, args: tuple, out: torch.Tensor, name: str = name) -> None:
                if any(r.name == name for r in rows):  # a decoder's layers run once per step: one row
                    return
                params = sum(p.numel() for p in mod.parameters())
                if isinstance(out, tuple):  # an RNN layer: (outputs, state); its outputs are the shape
                    out = out[0]
                if isinstance(out, nn.utils.rnn.PackedSequence):  # sequences of several lengths
                    out = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)[0]
                rows.append(LayerRow(name, type(mod).__name__, tuple(out.shape[1:]), params))

            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            # A model whose forward does not take its data's shape (a GAN: G takes noise) runs its own pass.
            example = getattr(model, "example_forward", None)
            example(1) if example is not None else model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows


def format_summary(rows: list[LayerRow], input_shape: Sequence[int], total: int) -> str:
    header = f"{'layer':<24} {'type':<20} {'output shape':<18} {'params':>10}"
    lines = [f"input shape {tuple(input_shape)}", header, "-" * len(header)]
    for r in rows:
        shape = "x".join(str(s) for s in r.output_shape)
        lines.append(f"{r.name:<24} {r.kind:<20} {shape:<18} {r.params:>10,}")
    lines += ["-" * len(header), f"total trainable parameters: {total:,}"]
    return "\n".join(lines)
