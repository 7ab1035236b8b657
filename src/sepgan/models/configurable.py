"""A model's config recorded from its constructor arguments, so ``config.json`` rebuilds the model.

A model class mixes in :class:`ConfigMixin` and decorates its ``__init__``
with :func:`register_to_config` (the names of diffusers' mechanism). Once the
constructor has run, so that its own checks raise first, the arguments it was
called with are bound to its signature with the defaults applied and kept as
``model.config``: every constructor argument, each converted to its
annotation (``int``, ``float``, ``bool``, ``str``, ``Sequence[...]`` as a list,
``X | None``) so that the dict is JSON-serialisable and
``type(model)(**model.config)`` rebuilds the same network. Where a decorated
constructor calls another (a subclass's calls its base's), the outermost call's
arguments are the ones kept.

Its own module, not the registry: the model modules import it, and the
registry imports the model modules.
"""

from __future__ import annotations

import collections.abc
import copy
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["ConfigMixin", "register_to_config"]


class ConfigMixin:
    """Gives a model the ``config`` that its :func:`register_to_config` constructor records."""

    _config: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable; ``type(model)(**config)`` rebuilds the model.

        A copy: changing it changes nothing in the model.
        """
        return copy.deepcopy(self._config)


def register_to_config(init: Callable[..., None]) -> Callable[..., None]:
    """Decorate a :class:`ConfigMixin` model's ``__init__`` to record its arguments (module docstring).

    Raises:
        TypeError: at decoration, for a constructor taking ``*args`` or ``**kwargs``
            (its config could not name every argument); when called, for an
            argument whose annotation has no JSON form.
    """
    signature = inspect.signature(init)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if any(parameter.kind in variadic for parameter in signature.parameters.values()):
        raise TypeError(f"{init.__qualname__} takes *args or **kwargs; its config can't name every argument")

    @functools.wraps(init)
    def recording_init(self, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        hints = typing.get_type_hints(init)
        _, *names = bound.arguments  # the first is self
        self._config = {
            name: _json_value(bound.arguments[name], hints.get(name, Any), name) for name in names
        }

    return recording_init


def _json_value(value: Any, annotation: Any, name: str) -> Any:
    """``value`` converted to ``annotation``'s JSON form: a scalar type, a list, or None."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _json_value(value, inner, name)
    if annotation in (bool, int, float, str):
        return annotation(value)
    if origin in (collections.abc.Sequence, list, tuple):
        (item,) = args[:1] or (Any,)
        return [_json_value(element, item, name) for element in value]
    raise TypeError(f"{name}: no JSON form for an argument annotated {annotation!r}")
