"""A training state of several named modules and optimizers (a GAN's two nets and two Adams)
in ONE safetensors file: every tensor in its body, everything else as JSON in the header's
metadata. The file is written to a temp file and renamed over the old one, so a run killed at
any moment leaves the previous state or the new one, never a torn pair. No pickle anywhere.

Layout: tensors are keyed by their path in the state (`modules.gan.generator.net.0.weight`,
`optimizers.g.state.3.exp_avg`, `rng.torch`); the metadata entry `nnjournal.state` is the state
with each tensor replaced by {"__tensor__": key}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes

FORMAT = "nnjournal.multi_checkpoint/1"


def _flatten(prefix: str, obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = prefix.rstrip(".")
        # clone: safetensors refuses tensors that share storage (views of one buffer)
        tensors[key] = obj.detach().to("cpu", copy=True).contiguous()
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


def rng_state(*generators: torch.Generator) -> dict[str, Any]:
    """The global CPU and CUDA generators' states (CUDA only when present) and `generators`'."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "own": [g.get_state() for g in generators]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], *generators: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for g, s in zip(generators, state["own"], strict=True):
        g.set_state(s)


def save_training_state(
    path: Path,
    *,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    rng: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write modules' and optimizers' state dicts, RNG states and JSON-able `extra` to `path`."""
    state = {
        "modules": {name: m.state_dict() for name, m in modules.items()},
        "optimizers": {name: o.state_dict() for name, o in optimizers.items()},
        "rng": rng,
        "extra": extra or {},
    }
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten("", state, tensors)
    blob = st_save(tensors, metadata={"format": FORMAT, "nnjournal.state": json.dumps(skeleton)})
    atomic_write_bytes(path, blob)


def load_training_state(
    path: Path, *, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore `modules` and `optimizers` in place from `path`; return (rng state, extra)."""
    state = read_training_state(path)
    missing = [n for n in modules if n not in state["modules"]] + [
        n for n in optimizers if n not in state["optimizers"]
    ]
    if missing:
        raise NNJError(
            f"checkpoint {path} has no state for {', '.join(missing)}; it belongs to another kind of run"
        )
    try:
        for name, m in modules.items():
            m.load_state_dict(state["modules"][name])
        for name, o in optimizers.items():
            o.load_state_dict(_optimizer_state(state["optimizers"][name]))
    except (RuntimeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0]
        raise NNJError(
            f"checkpoint {path} does not fit this model ({first}); resume with the same settings"
        ) from None
    return state["rng"], state["extra"]


def read_training_state(path: Path) -> dict[str, Any]:
    """The whole nested state of a checkpoint file (tensors on the CPU)."""
    try:
        blob = Path(path).read_bytes()
        tensors = st_load(blob)
        metadata = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")]).get("__metadata__") or {}
    except (OSError, SafetensorError, ValueError) as err:
        raise NNJError(f"cannot read checkpoint {path}: {err}; delete it to start over") from None
    if metadata.get("format") != FORMAT:
        raise NNJError(f"{path} is not an nnjournal training checkpoint (format {metadata.get('format')!r})")
    return _unflatten(json.loads(metadata["nnjournal.state"]), tensors)


def _optimizer_state(state: dict[str, Any]) -> dict[str, Any]:
    """JSON made the integer parameter ids of `optimizer.state_dict()['state']` strings."""
    return {"state": {int(k): v for k, v in state["state"].items()}, "param_groups": state["param_groups"]}
