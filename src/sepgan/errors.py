"""User-facing errors and the one handler that turns them into ``error: ...`` and exit code 2.

Every error a user can fix (a missing file, a bad option value, an unreadable
dataset, a study folder in the wrong state) derives from :class:`UserError`.
The library's own classes (``ConfigError``, ``CheckpointError``, ``FrameError``,
``VideoError``, ``InterpolationError``, ...) subclass it, most of them also
``ValueError`` so existing ``except ValueError`` callers keep working.

Library messages name the *parameter* (``factor``, ``flow_variants``) and set
``UserError.parameter``; :func:`reports_user_errors`, which wraps every CLI
command, replaces that leading name with the command's flag (``--factor``), so
the library never speaks in flags and the CLI always does.

What the handler treats as the user's to fix: :class:`UserError`, ``OSError``
(a missing file, a full disk, a permission) and a missing optional package
(``ModuleNotFoundError``). Anything else is a bug and keeps its traceback.
Ctrl-C (and SIGTERM, which ``sepgan.cli`` turns into ``KeyboardInterrupt``)
exits 130 after ``interrupted``. No import of torch or typer happens here at
load time, so the CLI stays fast.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["INTERRUPTED_EXIT", "USER_ERROR_EXIT", "UserError", "reports_user_errors", "user_message"]

USER_ERROR_EXIT = 2
INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

Command = TypeVar("Command", bound=Callable[..., Any])


class UserError(Exception):
    """An error the user can fix; the CLI prints the first line of its message and exits 2.

    ``parameter``: the library parameter(s) the message names (e.g. ``"factor"`` or
    ``("factor", "fps")``), which the CLI shows as its flags (``--factor``).
    """

    def __init__(self, *args: object, parameter: str | tuple[str, ...] | None = None) -> None:
        super().__init__(*args)
        self.parameter = parameter


def user_message(error: BaseException, flags: dict[str, str] | None = None) -> str:
    """One line for ``error``; a leading parameter name becomes its flag when ``flags`` maps it."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        return (
            f"{error.name} is not installed; install the extra that needs it, "
            "e.g. pip install 'sepgan[study]' or 'sepgan[evaluate]'"
        )
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    parameters = getattr(error, "parameter", None) or ()
    for parameter in (parameters,) if isinstance(parameters, str) else parameters:
        if (
            flags and parameter in flags
        ):  # whole words, not parts of names or paths ("tile_overlap", "a/tile.png")
            text = re.sub(rf"(?<![\w\-./\\]){re.escape(parameter)}(?![\w\-./\\])", flags[parameter], text)
    return text


def _command_flags(command: Callable[..., Any]) -> dict[str, str]:
    """Parameter name → long flag of a Typer command: its declared ``--name`` or the default one."""
    import typer
    from typer.utils import get_params_from_function  # how Typer itself reads a command's options

    flags = {}
    for name, meta in get_params_from_function(command).items():
        info = meta.default
        if isinstance(info, typer.models.ArgumentInfo):
            continue
        declared = getattr(info, "param_decls", None) or ()
        long_flags = [flag.split("/")[0] for flag in declared if flag.startswith("--")]
        flags[name] = max(long_flags, key=len) if long_flags else "--" + name.replace("_", "-")
    return flags


def reports_user_errors(command: Command) -> Command:
    """Wrap a CLI command: user errors become one ``error: ...`` line and exit 2; Ctrl-C exits 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import typer

        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(INTERRUPTED_EXIT) from None
        except (UserError, OSError, ModuleNotFoundError) as error:
            typer.echo(f"error: {user_message(error, _command_flags(command))}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]
