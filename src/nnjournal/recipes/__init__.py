"""The built-in experiments, as TOML files shipped inside the package (data, not code)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from nnjournal.config import RunConfig, apply_overrides, read_toml, validate_config
from nnjournal.config.overrides import deep_merge
from nnjournal.errors import NNJError


def _recipe_dir() -> Path:
    return Path(str(resources.files("nnjournal.recipes")))


def names() -> list[str]:
    return sorted(p.stem for p in _recipe_dir().glob("*.toml"))


def recipe_path(name_or_path: str | Path) -> Path:
    """A built-in recipe by name, or a path to a user's own .toml file."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text).expanduser()
    path = _recipe_dir() / f"{text}.toml"
    if not path.exists():
        raise NNJError(
            f"unknown recipe {text!r}; built-in recipes: {', '.join(names())} (or give a path to a .toml file)"
        )
    return path


def _check_text_file(path: Path) -> None:
    """A recipe path that is a folder or not UTF-8 text (a binary file) is refused in one line;
    a missing file is left to `read_toml`, which says so."""
    if path.is_dir():
        raise NNJError(f"{path} is a folder; give a recipe name (see `nnj list`) or a .toml file")
    if not path.exists():
        return
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise NNJError(f"{path}: not a recipe (not UTF-8 text; a TOML file is plain text)") from None
    except OSError as err:
        raise NNJError(f"{path}: cannot read the recipe ({err.strerror})") from None


def load_raw(name_or_path: str | Path, _extended_by: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A recipe's table as written. A user's recipe may start from another with `extends =
    "telco-churn"` (a built-in's name, or a .toml path relative to the file): its tables are
    merged over that recipe's, as `--set` overrides are."""
    path = recipe_path(name_or_path)
    _check_text_file(path)
    raw = read_toml(path)
    base = raw.pop("extends", None)
    if base is not None:
        raw = deep_merge(_base_recipe(path, base, _extended_by), raw)
    raw.setdefault("recipe", Path(str(name_or_path)).stem)
    return raw


def _base_recipe(path: Path, base: Any, extended_by: tuple[Path, ...]) -> dict[str, Any]:
    """The recipe `path` extends, without its name (the run is named after `path`)."""
    if not isinstance(base, str) or not base.strip():
        raise NNJError(f"{path}: extends must name a recipe (e.g. extends = \"telco-churn\") or a .toml file, got {base!r}")
    written = base.strip()
    base = written
    if base.endswith(".toml") or "/" in base or "\\" in base:
        base = str(path.parent / Path(base).expanduser())
    chain = (*extended_by, path.resolve())
    try:
        if recipe_path(base).resolve() in chain:
            raise NNJError("a cycle (it extends this file again); remove one of the extends")
        raw = load_raw(base, chain)
    except NNJError as err:
        raise NNJError(f"{path} extends {written!r}: {err}") from None
    raw.pop("recipe", None)
    return raw


def load(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a recipe, apply `--set` style overrides, validate every key."""
    raw = apply_overrides(load_raw(name_or_path), list(overrides))
    return validate_config(raw)


def describe(name: str) -> str:
    raw = load_raw(name)
    journal = raw.get("journal", {})
    return journal.get("title") or journal.get("aim", "")
