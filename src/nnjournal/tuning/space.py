"""A search space keyed by dotted config paths, checked against the recipe before any trial
runs, and a trial's parameters written back into the recipe."""

from __future__ import annotations

import copy
from typing import Any

from nnjournal.config import RunConfig, SearchConfig, validate_config
from nnjournal.errors import NNJError


def with_params(raw: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the recipe dict `raw` with each dotted path set to its value."""
    out = copy.deepcopy(raw)
    for path, value in params.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return out


def base_raw(cfg: RunConfig) -> dict[str, Any]:
    """The recipe as a plain dict, without the search (a trial or best.toml is one run)."""
    return cfg.model_dump(mode="json", exclude={"search", "variants", "study"})


def check_space(cfg: RunConfig) -> SearchConfig:
    """The recipe's `[search]`, with every path shown to exist and every end of every range
    (every choice) shown to make a valid recipe: bad input fails here, before any trial."""
    search = cfg.search
    if search is None:
        raise NNJError(
            f"recipe {cfg.recipe!r} has no [search] table: add one, e.g. "
            '[search.space] "training.optimizer.lr" = {low = 1e-4, high = 1e-1, log = true}'
        )
    if cfg.variants or cfg.study is not None:
        raise NNJError("nnj tune searches one model: the recipe must have no [variants] or [study]")
    raw = base_raw(cfg)
    for path, dim in search.space.items():
        if path.startswith(("data.", "seed")):
            raise NNJError(
                f"search.space: {path!r}: trials are compared on one data split with their own seeds; "
                "search model, task and training settings"
            )
        node: Any = raw
        walked = []
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                known = ", ".join(sorted(node)) if isinstance(node, dict) else "nothing (it is a value)"
                where = ".".join(walked) or "the recipe"
                raise NNJError(
                    f"search.space: {path!r} is not a setting of this recipe: {where} has no {part!r} "
                    f"(it has {known})"
                )
            node = node[part]
            walked.append(part)
        if isinstance(node, dict):
            raise NNJError(f"search.space: {path!r} is a table, not a setting; name one of its keys")
        values = dim.choices if dim.choices is not None else [dim.low, dim.high]
        for value in values:
            try:
                validate_config(with_params(raw, {path: value}))
            except NNJError as err:
                raise NNJError(f"search.space: {path} = {value!r} does not make a valid recipe: {err}") from None
    if search.metric is not None and search.metric.startswith(("test_", "train_")):
        raise NNJError(f"search.metric = {search.metric!r}: trials are scored on the validation split only")
    return search
