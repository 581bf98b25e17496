"""How the `nnj` command reports user errors: bad usage and every `NNJError` as one line on
stderr with exit code 2 (130 for an interruption), and the machine's own refusals (disk full,
no permission) as one line with what to do."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer

from nnjournal.errors import NNJError

try:  # typer >= 0.22 ships its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup


class _OneLineUsageErrors(TyperGroup):
    """Bad command-line usage (`--seed abc`, an unknown option, a missing argument) is one
    line on stderr and exit code 2, like every other user error, instead of a usage box.
    Parsing happens in `make_context` (this group's options) and `invoke` (subcommands')."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        with _usage_errors_in_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_in_one_line():
            return super().invoke(ctx)


@contextmanager
def _usage_errors_in_one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:  # `nnj` or `nnj conv` alone: the help screen is what they want
        raise
    except UsageError as err:
        hint = f" (see `{err.ctx.command_path} --help`)" if err.ctx is not None else ""
        typer.echo(f"error: {err.format_message()}{hint}", err=True)
        raise typer.Exit(err.exit_code) from None


F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NNJError as err:
            kind = "interrupted" if err.exit_code == 130 else "error"
            typer.echo(f"{kind}: {err}", err=True)
            raise typer.Exit(err.exit_code) from None
        except OSError as err:
            # The machine, not nnjournal, said no (disk full, no permission, read-only): one line
            # too. Every other OSError may be a bug and keeps its traceback.
            if err.errno not in _ENVIRONMENT_ERRORS:
                raise
            where = f": {err.filename}" if err.filename else ""
            typer.echo(f"error: {err.strerror}{where} ({_ENVIRONMENT_ERRORS[err.errno]})", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "free some disk space, or choose another --out, and run again",
    errno.EDQUOT: "free some of your disk quota, or choose another --out, and run again",
    errno.EACCES: "check the file's permissions, or choose another path",
    errno.EPERM: "check the file's permissions, or choose another path",
    errno.EROFS: "that file system is read-only; choose another --out",
    errno.ENAMETOOLONG: "choose a shorter path",
}
