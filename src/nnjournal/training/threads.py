"""How many CPU threads a training uses (`training.threads`).

PyTorch's default, one intra-op thread per core, is slower for the small networks of a course
on a laptop: a 64x40 mini-batch through a tabular MLP is a few hundred thousand
multiply-adds, less than the cost of waking a second thread, and when the machine is busy
(a browser, a test suite, a second run) the threads spin waiting for each other. Measured on a
2-core machine (`benchmarks/threads.py`, docs/benchmarks.md "Threads"): a small tabular MLP ran
2.3x slower on two threads than on one, a GRU on MNIST-1D 4x slower; only networks doing
hundreds of millions of multiply-adds per batch gain from a second core, and only on a quiet
machine.

So `"auto"` counts the multiply-adds of one training batch (a forward pass with hooks on the
linear, convolution and recurrent layers: deterministic, not timed) and uses one thread below
`SMALL_MACS`, every core above it. The choice depends on the model and the batch only, never
on the machine's load, so the same seed gives the same numbers (some convolutions differ in
the last bits between thread counts). On a GPU the setting does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

SMALL_MACS = 200e6  # multiply-adds per training batch below which one thread is faster (measured)
_RECURRENT_GATES = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4, nn.RNNCell: 1, nn.GRUCell: 3, nn.LSTMCell: 4}


def batch_macs(model: nn.Module, step: Any) -> int:
    """Multiply-adds of the linear, convolution and recurrent layers in one forward pass,
    counted from their output shapes while `step()` runs (evaluation mode, no gradients, the
    random state put back, so training is unchanged)."""
    total = 0

    def count(module: nn.Module, _inputs: Any, output: Any) -> None:
        nonlocal total
        out = output[0] if isinstance(output, tuple) else output
        if isinstance(out, nn.utils.rnn.PackedSequence):
            out = out.data
        if not isinstance(out, torch.Tensor):
            return
        if isinstance(module, nn.Linear):
            total += out.numel() * module.in_features
        elif isinstance(module, nn.modules.conv._ConvNd):
            per_output = module.in_channels // module.groups
            for k in module.kernel_size:
                per_output *= k
            total += out.numel() * per_output
        elif type(module) in _RECURRENT_GATES:
            gates = _RECURRENT_GATES[type(module)]
            hidden = module.hidden_size
            steps = out.numel() // hidden  # batch x time (x directions) positions
            layers = getattr(module, "num_layers", 1)
            total += gates * hidden * (module.input_size + hidden) * steps * layers

    handles = [m.register_forward_hook(count) for m in model.modules()]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            step()
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


def resolve_threads(setting: int | str, model: nn.Module, step: Any, device: torch.device) -> int | None:
    """The thread count to train with, or None to leave torch's setting alone (a GPU, or a
    number equal to the current one)."""
    if device.type != "cpu":
        return None
    if setting != "auto":
        return int(setting)
    try:
        macs = batch_macs(model, step)
    except Exception:  # a model the count cannot follow trains with torch's default
        return None
    return 1 if macs < SMALL_MACS else None


@contextmanager
def intra_op_threads(n: int | None) -> Iterator[int]:
    """`torch.set_num_threads(n)` for the body, then the previous count back; yields the
    count in use."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield before
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
