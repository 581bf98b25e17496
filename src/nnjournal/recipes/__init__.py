"""The built-in experiments, as TOML files shipped inside the package (data, not code)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from nnjournal.config import RunConfig, apply_overrides, read_toml, validate_config
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


def load_raw(name_or_path: str | Path) -> dict[str, Any]:
    path = recipe_path(name_or_path)
    _check_text_file(path)
    raw = read_toml(path)
    raw.setdefault("recipe", Path(str(name_or_path)).stem)
    return raw


def load(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a recipe, apply `--set` style overrides, validate every key."""
    raw = apply_overrides(load_raw(name_or_path), list(overrides))
    return validate_config(raw)


def describe(name: str) -> str:
    raw = load_raw(name)
    journal = raw.get("journal", {})
    return journal.get("title") or journal.get("aim", "")
