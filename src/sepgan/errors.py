"""User-facing errors and the one handler that turns them into ``error: ...`` and exit code 2.

Every error a user can fix (a missing file, a bad option value, an unreadable
dataset, a study folder in the wrong state) derives from :class:`UserError`.
The library's own classes (``ConfigError``, ``CheckpointError``, ``FrameError``,
``VideoError``, ``OptionError``, ...) subclass it, most of them also
``ValueError`` so existing ``except ValueError`` callers keep working.

Errors about an option carry it as data: ``UserError(parameter="factor")``,
with a message whose ``{factor}`` field stands for it (:class:`UserError`).
``str(error)`` fills in the library's name ("factor 3: must be a power of
two"); :func:`reports_user_errors`, which wraps every CLI command, fills in the
command's flag from a table of its declared options ("--factor 3: ..."), so
the library never speaks in flags, the CLI always does, and no message is
ever parsed. The option checks themselves live in :mod:`sepgan.options`.

What the handler treats as the user's to fix: :class:`UserError`, ``OSError``
(a missing file, a full disk, a permission) and a missing optional package
(``ModuleNotFoundError``). Anything else is a bug and keeps its traceback.
Ctrl-C exits 130 after ``interrupted``; SIGTERM (kill, a scheduler's time
limit) and SIGHUP (a closed terminal, a dropped ssh session), which
``sepgan.cli`` turns into :class:`Interrupted`, unwind the same way (writers
remove their hidden temporaries) and exit 143 and 129, 128 + the signal's
number as a shell reports it. No import of torch or typer happens here at load
time, so the CLI stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import signal
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "INTERRUPTED_EXIT",
    "REPORTED_ERRORS",
    "USER_ERROR_EXIT",
    "InterpolationError",
    "Interrupted",
    "UserError",
    "command_flags",
    "interrupted_exit_code",
    "reports_user_errors",
    "usage_error_line",
    "user_message",
]

USER_ERROR_EXIT = 2
INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

Command = TypeVar("Command", bound=Callable[..., Any])


class UserError(Exception):
    """An error the user can fix; the CLI prints the first line of its message and exits 2.

    ``parameter``: the library parameter(s) the error is about (e.g. ``"factor"`` or
    ``("factor", "fps")``). With it, the message is a template: a field named after a
    parameter (``{factor}``, or ``{parameter}`` for the first one) stands for it, and
    every other field is one of the keyword ``values``, e.g.
    ``UserError("{factor} {value}: must be a power of two", parameter="factor", value=3)``.
    Values go in as keywords, never formatted into the template beforehand, so a path
    with braces in it stays text. :meth:`text` shows the parameters as a command's flags;
    ``str(error)`` as their own names. Without ``parameter`` and ``values`` the message
    is shown as written.
    """

    def __init__(
        self, *args: object, parameter: str | tuple[str, ...] | None = None, **values: object
    ) -> None:
        self.parameter = parameter
        self.values = values
        self.template: str | None = None
        if parameter is None and not values:
            super().__init__(*args)
            return
        (template,) = args  # a template is one string
        self.template = str(template)
        super().__init__(self.text())

    @property
    def parameters(self) -> tuple[str, ...]:
        """``parameter`` as a tuple (empty when the error names none)."""
        if self.parameter is None:
            return ()
        return (self.parameter,) if isinstance(self.parameter, str) else tuple(self.parameter)

    def text(self, flags: Mapping[str, str] | None = None) -> str:
        """The message with each parameter shown as ``flags[parameter]``, or as its own name when
        ``flags`` has none for it."""
        if self.template is None:
            return str(self)
        shown = {name: (flags or {}).get(name, name) for name in self.parameters}
        if self.parameters:
            shown["parameter"] = shown[self.parameters[0]]
        return self.template.format_map({**self.values, **shown})


# What the handler reports as the user's to fix (the module docstring); a batch reports these per input.
REPORTED_ERRORS: tuple[type[BaseException], ...] = (UserError, OSError, ModuleNotFoundError)


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal: unwinds like Ctrl-C (``except KeyboardInterrupt`` sees it).

    ``signal_number``: the signal (``signal.SIGTERM``, ``signal.SIGHUP``); the CLI exits
    128 + it. The message, if any, says what was kept (a long job's segments).
    """

    def __init__(self, *args: object, signal_number: int = signal.SIGINT) -> None:
        super().__init__(*args)
        self.signal_number = int(signal_number)


def interrupted_exit_code(interruption: BaseException) -> int:
    """128 + the signal that stopped the process: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + getattr(interruption, "signal_number", signal.SIGINT)


class InterpolationError(UserError, ValueError):
    """The interpolate job cannot run as asked: bad paths, mismatched sizes, too few frames.

    Raised by :mod:`sepgan.jobs`, :mod:`sepgan.retime` and the ``interpolate`` command;
    option values out of range are :class:`sepgan.options.OptionError`.
    """


def user_message(error: BaseException, flags: Mapping[str, str] | None = None) -> str:
    """One line for ``error``; its parameters shown as their flags where ``flags`` maps them
    (:meth:`UserError.text`)."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        return (
            f"{error.name} is not installed; install the extra that needs it, "
            "e.g. pip install 'sepgan[study]' or 'sepgan[evaluate]'"
        )
    text = error.text(flags) if isinstance(error, UserError) else str(error)
    return text.splitlines()[0] if text else type(error).__name__


def usage_error_line(message: str, command_path: str | None = None) -> str:
    """One ``error:`` line for a command line the parser refused (an unknown option, ``--factor inf``):
    the parser's first line of ``message``, and where help is (``sepgan interpolate -h``)."""
    first = message.strip().splitlines()[0].rstrip(".") if message.strip() else "cannot read the command line"
    hint = f"; see '{command_path} --help'" if command_path else ""
    return f"error: {first}{hint}"


def command_flags(command: Callable[..., Any]) -> dict[str, str]:
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
    """Wrap a CLI command: user errors become one ``error: ...`` line and exit 2; Ctrl-C exits 130,
    SIGTERM 143 and SIGHUP 129 (:func:`interrupted_exit_code`)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import typer

        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as interruption:  # it may say what was kept (a long job's segments)
            with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
                typer.echo(f"interrupted: {interruption}" if str(interruption) else "interrupted", err=True)
            raise typer.Exit(interrupted_exit_code(interruption)) from None
        except REPORTED_ERRORS as error:
            typer.echo(f"error: {user_message(error, command_flags(command))}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]
