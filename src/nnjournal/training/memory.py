"""Whether a model that was just built can be trained in this machine's memory at all.

Building a model allocates its weights; training adds a gradient per weight and the optimizer's
state (Adam keeps two more copies). A model that only just fits when built is killed by the
kernel's out-of-memory killer (SIGKILL, no message, a half-made run folder) at the first step.
The preflight refuses it instead, in one line, before the run directory exists. The check
counts weights only, not activations, so it refuses only what certainly cannot train; it reads
the machine's free memory, which decides whether a run starts but never changes its numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from nnjournal.errors import NNJError

# copies of the weights each optimizer keeps besides them (squared-gradient averages; sgd's
# momentum buffer, which it keeps only with momentum > 0)
OPTIMIZER_STATES = {"sgd": 0, "adagrad": 1, "adadelta": 2, "rmsprop": 1, "adam": 2, "adamw": 2}


def available_memory() -> int | None:
    """Bytes the kernel says a process can still allocate (MemAvailable), or None where there
    is no /proc/meminfo (not Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_trainable_in_memory(model: nn.Module, optimizer: Any, available: int | None) -> None:
    """Refuse a model whose gradients and optimizer state (`optimizer` is an `OptimizerConfig`)
    need more than `available` bytes beyond its weights, already allocated. `available` None
    (unknown) checks nothing."""
    if available is None:
        return
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    states = OPTIMIZER_STATES[optimizer.name] + (optimizer.name == "sgd" and optimizer.momentum > 0)
    needed = weights * (1 + states)  # one gradient per weight, and the optimizer's copies
    if needed > available:
        n = sum(p.numel() for p in model.parameters())
        raise NNJError(
            f"model: its {n:,} weights ({_gib(weights)}) build, but training them needs about {_gib(needed)} more "
            f"(gradients and {optimizer.name}'s state) and this machine has {_gib(available)} free; make it "
            "smaller: fewer or narrower layers (model.hidden, model.width, model.latent) or smaller images"
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"
