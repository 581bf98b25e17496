"""Merging partial recipes (variants, studies) and `--set KEY=VALUE` overrides."""

from __future__ import annotations

import copy
import sys
from typing import Any

from nnjournal.errors import NNJError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `update` merged in; a changed `name` replaces the whole table,
    because the other keys belong to the old kind (an MLP's `hidden` means nothing to a
    perceptron)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and value.get("name", out[key].get("name")) == out[key].get("name")
        ):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """`training.lr=3e-4` -> (['training', 'lr'], 0.0003). Values are read as TOML, so
    `[64, 32]`, `true` and `"text"` work; anything TOML cannot read is taken as a string."""
    if "=" not in text:
        raise NNJError(f"--set {text!r}: expected KEY=VALUE, e.g. --set training.lr=3e-4")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise NNJError(f"--set {text!r}: the key must be a dotted path such as training.epochs")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.split("."), parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise NNJError(f"--set {text!r}: {part!r} is a value, not a table")
            node = child
        if isinstance(value, str) and isinstance(node.get(path[-1]), dict) and "name" in node[path[-1]]:
            # `training.optimizer=sgd`, `model=cnn`: a named table given a word is given its name
            node, path = node[path[-1]], [*path, "name"]
        if path[-1] == "name" and node.get("name") not in (None, value):
            # Switching kind (e.g. model.name=perceptron): keys of the old kind no longer apply.
            node.clear()
        node[path[-1]] = value
    return out
