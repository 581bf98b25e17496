"""Checkpoints as one safetensors file: every tensor (weights of any number of named modules,
optimizer and scheduler state, RNG states) in the body, everything else as JSON in the
file's own metadata header. One file, written atomically (temp file + rename): a kill at any
moment leaves the previous checkpoint or the new one, never a torn pair. No pickle anywhere.

Trainers build the state with `training_state(...)` and put it back with `restore_state`, so a
trainer with two networks and two optimizers (adversarial) checkpoints like one with one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes

SUFFIX = ".ckpt.safetensors"
CHECKPOINT_BUDGET = 0.01  # share of training time automatic checkpoints may take (issue: <= 2%)


def checkpoint_file(path_stem: Path) -> Path:
    """`run/checkpoint` -> `run/checkpoint.ckpt.safetensors`."""
    return path_stem.with_name(path_stem.name + SUFFIX)


def _flatten(prefix: str, obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Move tensors out of a nested dict/list into `tensors`, leaving {'__tensor__': key}."""
    if isinstance(obj, torch.Tensor):
        key = prefix.rstrip(".")
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {str(k): _flatten(f"{prefix}{k}.", v, tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_flatten(f"{prefix}{i}.", v, tensors) for i, v in enumerate(obj)]
    return obj


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        return {k: _unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save_checkpoint(path_stem: Path, state: dict[str, Any]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    meta = _flatten("", state, tensors)
    blob = st_save(tensors, metadata={"nnjournal": json.dumps(meta)})
    atomic_write_bytes(checkpoint_file(path_stem), blob)


def has_checkpoint(path_stem: Path | None) -> bool:
    return path_stem is not None and checkpoint_file(path_stem).exists()


def load_checkpoint(path_stem: Path) -> dict[str, Any]:
    path = checkpoint_file(path_stem)
    try:
        blob = path.read_bytes()
        n = int.from_bytes(blob[:8], "little")
        meta = json.loads(json.loads(blob[8 : 8 + n])["__metadata__"]["nnjournal"])
        tensors = st_load(blob)
        return _unflatten(meta, tensors)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise NNJError(
            f"cannot read checkpoint {path}: {type(err).__name__} ({err}); delete it to restart the run"
        ) from None


# ---------------------------------------------------------------- trainer state
def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """The batch-order generator, torch's global CPU RNG and, when CUDA is in use, every GPU's."""
    state: dict[str, Any] = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def training_state(
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, Any],
    generator: torch.Generator,
    **extra: Any,
) -> dict[str, Any]:
    """A checkpoint's content: named modules, optimizers and schedulers, RNG, and the
    trainer's own JSON-able `extra` (history, best weights, epochs waited, ...)."""
    return {
        "modules": {k: m.state_dict() for k, m in modules.items()},
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items() if s is not None},
        "rng": rng_state(generator),
        **extra,
    }


def restore_state(
    state: dict[str, Any],
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, Any],
    generator: torch.Generator,
) -> None:
    """Put a `training_state` back into live objects (a checkpoint of another model is refused)."""
    try:
        for k, m in modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in optimizers.items():
            o.load_state_dict(optimizer_state_from_checkpoint(state["optimizers"][k]))
        for k, s in schedulers.items():
            if s is not None and k in state["schedulers"]:
                s.load_state_dict(state["schedulers"][k])
    except (KeyError, RuntimeError, ValueError) as err:
        raise NNJError(
            f"the checkpoint does not fit this model ({type(err).__name__}: {str(err).splitlines()[0]}); "
            "it was written by another configuration"
        ) from None
    restore_rng(state["rng"], generator)


def optimizer_state_from_checkpoint(state: dict[str, Any]) -> dict[str, Any]:
    """JSON turns the integer keys of `optimizer.state_dict()['state']` into strings."""
    return {"state": {int(k): v for k, v in state["state"].items()}, "param_groups": state["param_groups"]}


# ---------------------------------------------------------------- when to save
class CheckpointPolicy:
    """When a trainer writes a checkpoint at an epoch end (shared by every trainer). `every_s` None: every epoch unless that would
    take more than 1% of the training time (tiny epochs), then as often as 1% allows; 0: every
    epoch; > 0: when that many seconds have passed since the last one."""

    def __init__(self, every_s: float | None) -> None:
        self.every_s = every_s
        self.spent = 0.0  # seconds spent saving
        self.last_cost = 0.0
        self.last_at = 0.0
        self.saved_last_epoch = True  # nothing to lose before the first epoch ends

    def maybe_save(self, save: Callable[[], None], force: bool, elapsed: float) -> None:
        if self.every_s is None:
            due = self.spent + self.last_cost <= CHECKPOINT_BUDGET * elapsed
        else:
            due = elapsed - self.last_at >= self.every_s
        if not (force or due):
            self.saved_last_epoch = False
            return
        t = time.perf_counter()
        save()
        self.last_cost = time.perf_counter() - t
        self.spent += self.last_cost
        self.last_at = elapsed
        self.saved_last_epoch = True
