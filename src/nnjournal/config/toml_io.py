"""Reading recipes (TOML) and writing resolved configs back (`tomli-w`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import tomli_w

from nnjournal.errors import NNJError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict. A UTF-8 byte-order mark (Windows Notepad writes one) is dropped:
    TOML forbids it, and the error it gives ("invalid statement at line 1, column 1") hides why."""
    try:
        return tomllib.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise NNJError(f"recipe file not found: {path}") from None
    except UnicodeDecodeError:
        raise NNJError(f"{path}: not UTF-8 text (a TOML file is plain text; save it as UTF-8)") from None
    except tomllib.TOMLDecodeError as err:
        raise NNJError(f"{path}: not valid TOML ({err})") from None


def to_toml(data: dict[str, Any]) -> str:
    """A plain dict (str/int/float/bool/list/dict) as TOML; None values are left out, as TOML
    has no null (the key then takes its default when read back)."""
    return tomli_w.dumps(_drop_none(data))


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_drop_none(v) for v in obj]
    return obj
