"""Checkpoints as plain tensors + JSON: `NAME.safetensors` (weights, optimizer tensors,
RNG states) and `NAME.json` (step, history, everything else). Both are written atomically,
and the JSON (written last) names the tensor file's digest, so a crash between the two
writes is detected instead of resuming from a mismatched pair. No pickle anywhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from nnjournal.errors import NNJError
from nnjournal.journal.files import atomic_write_bytes, atomic_write_json


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
    blob = st_save(tensors)
    atomic_write_bytes(path_stem.with_suffix(".safetensors"), blob)
    atomic_write_json(
        path_stem.with_suffix(".json"), {"sha256": hashlib.sha256(blob).hexdigest(), "state": meta}
    )


def load_checkpoint(path_stem: Path) -> dict[str, Any]:
    meta_path, blob_path = path_stem.with_suffix(".json"), path_stem.with_suffix(".safetensors")
    try:
        meta = json.loads(meta_path.read_text())
        blob = blob_path.read_bytes()
    except (OSError, json.JSONDecodeError) as err:
        raise NNJError(f"cannot read checkpoint {path_stem}: {err}") from None
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise NNJError(f"checkpoint {path_stem} is inconsistent (weights and metadata differ)")
    return _unflatten(meta["state"], st_load(blob))


def optimizer_state_from_checkpoint(state: dict[str, Any]) -> dict[str, Any]:
    """JSON turns the integer keys of `optimizer.state_dict()['state']` into strings."""
    return {"state": {int(k): v for k, v in state["state"].items()}, "param_groups": state["param_groups"]}
