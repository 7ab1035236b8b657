"""How every ``sepgan`` command shows its help: ``-h`` everywhere, placeholders a person reads.

Typer's help shows a type placeholder for every parameter, including ones that
take no value (``--quiet <bool>``), the Python type of a list (``<list[Path]>``)
and a required argument in braces (``{inputs}...``). :class:`SepganGroup`, the
class of the ``sepgan`` app, fixes every command below it when the app is built:

* an on/off flag shows no placeholder;
* a repeatable option shows its element (``--exclude <path>``, help says it repeats);
* an argument shows as ``INPUTS...`` in the usage line (``[OVERRIDES]...`` when
  optional, ``STUDY_DIR`` for one value) and ``<path>`` beside it.

``-h`` and ``--help`` work on every command and subcommand: the help option names
are set on the root context, which every subcommand's context inherits.

Built on Typer's own parameter classes (``typer.core``); tests/test_cli.py checks
the rendered help, so a Typer release that changes them fails a test, not a user.
"""

from __future__ import annotations

from typing import Any, get_args

import click
from typer.core import TyperArgument, TyperGroup, TyperOption

__all__ = ["HELP_OPTION_NAMES", "SepganGroup", "plain_placeholders"]

HELP_OPTION_NAMES = ["-h", "--help"]


def _element_type(parameter: TyperArgument | TyperOption) -> str:
    """``<path>`` for a ``list[Path]`` parameter, ``<str>`` for a ``list[str]`` one."""
    arguments = get_args(parameter.type_descriptor.annotation)
    return f"<{parameter._bare_type(arguments[0]).lower()}>" if arguments else parameter.display_type(None)


class _PlainArgument(TyperArgument):
    """An argument shown as ``NAME`` / ``NAME...`` in the usage line and the table."""

    def _rich_display_name(self) -> str:
        return self.display_name_raw + ("..." if self.nargs != 1 else "")

    def _usage_display_name(self) -> str:
        name = self.name.upper() if self.name else "ARGUMENT"
        return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return _element_type(self) if self.nargs != 1 else self.display_type(ctx)


def _help_option_without_placeholder(command: click.Command) -> None:
    """Click makes ``-h, --help`` when help is shown: wrap the command's maker to blank its placeholder."""
    make = command.get_help_option

    def get_help_option(ctx: click.Context) -> click.Option | None:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option  # type: ignore[method-assign]


def plain_placeholders(command: click.Command) -> None:
    """Fix the placeholders of ``command``'s parameters, and of every command under it (module docstring)."""
    _help_option_without_placeholder(command)
    for parameter in command.params:
        if isinstance(parameter, TyperOption):
            if parameter.is_flag and not parameter.count:
                parameter.metavar = ""  # an on/off flag takes no value
            elif parameter.multiple and parameter.metavar is None:
                parameter.metavar = _element_type(parameter)
        elif isinstance(parameter, TyperArgument) and type(parameter) is TyperArgument:
            parameter.__class__ = _PlainArgument  # same fields, other display methods
    for child in getattr(command, "commands", {}).values():
        plain_placeholders(child)


class SepganGroup(TyperGroup):
    """The ``sepgan`` app's group: ``-h`` on every command, and plain placeholders (module docstring)."""

    def __init__(self, **attrs: Any) -> None:
        settings = dict(attrs.pop("context_settings", None) or {})
        settings.setdefault("help_option_names", HELP_OPTION_NAMES)
        super().__init__(context_settings=settings, **attrs)
        plain_placeholders(self)
