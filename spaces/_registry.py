"""The registry of search spaces: the built-in ones and those of installed plugins.

A plugin is an entry point in the group ``lapt.spaces`` whose name is the space's name
and whose object is a :class:`SearchSpace` (a subclass or an instance) or a callable
without arguments that returns one, e.g. in the plugin's ``pyproject.toml``::

    [project.entry-points."lapt.spaces"]
    tiny201 = "tiny201:space"

Plugins are listed without being imported; one is loaded on its first
:func:`get_space`. A plugin that fails to load raises a :class:`SpaceError` naming it,
and the other spaces keep working.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from ._base import SearchSpace, SpaceError

GROUP = "lapt.spaces"
BUILTIN: dict[str, str] = {
    "nb201": "lapt.spaces.nb201:NB201Space",
    "trans101": "lapt.spaces.trans101:Trans101Space",
    "darts": "lapt.spaces.darts:DartsSpace",
}
"""The spaces lapt ships, as ``module:object`` (the same form as a plugin's entry point)."""

_INSTANCES: dict[str, SearchSpace] = {}
_REGISTERED: dict[str, SearchSpace] = {}


@cache
def plugins() -> dict[str, EntryPoint]:
    """Installed ``lapt.spaces`` entry points by name (a built-in name is not replaced)."""
    return {ep.name: ep for ep in entry_points(group=GROUP) if ep.name not in BUILTIN}


def plugin_names() -> list[str]:
    """Names of the installed plugin spaces (listed from their entry points, not loaded)."""
    return sorted(plugins())


def space_names() -> list[str]:
    """Names accepted by :func:`get_space`: the built-in spaces, those registered in code,
    then installed plugins."""
    return list(dict.fromkeys([*BUILTIN, *_REGISTERED, *sorted(plugins())]))


def register_space(space: SearchSpace) -> None:
    """Register a space built in code under its name (a notebook's
    :class:`~lapt.spaces.table.TableSpace`); a name already taken is an error."""
    if not isinstance(space, SearchSpace):
        raise SpaceError(f"register_space: a {type(space).__name__} is not a SearchSpace")
    if space.name in space_names():
        raise SpaceError(f"register_space: the name {space.name!r} is taken; taken: "
                         f"{', '.join(space_names())}")
    _REGISTERED[space.name] = _INSTANCES[space.name] = space


def unregister_space(name: str) -> None:
    """Forget a space that :func:`register_space` registered."""
    if name not in _REGISTERED:
        raise SpaceError(f"unregister_space: {name!r} was not registered in code; "
                         f"registered: {', '.join(_REGISTERED) or 'none'}")
    del _REGISTERED[name], _INSTANCES[name]


def origin(name: str) -> str:
    """Where a space comes from: ``built-in`` or ``plugin <distribution> (<entry point>)``."""
    if name in BUILTIN:
        return "built-in"
    if name in _REGISTERED:
        return "registered in code"
    ep = plugins()[name]
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "?"
    return f"plugin {dist} ({ep.value})"


def _build(name: str, obj: object, where: str) -> SearchSpace:
    space = obj() if callable(obj) and not isinstance(obj, SearchSpace) else obj
    if not isinstance(space, SearchSpace):
        raise SpaceError(f"{where} gives a {type(space).__name__}, not a lapt SearchSpace "
                         "(or a callable returning one)")
    if space.name != name:
        raise SpaceError(f"{where} is registered as {name!r} but the space calls itself "
                         f"{space.name!r}; the two names must agree")
    return space


def get_space(name: str) -> SearchSpace:
    """The search space registered as ``name`` (one shared instance per name).

    Raises:
        SpaceError: for an unknown name, listing the valid ones; for a plugin that fails
            to load, naming the plugin and why.
    """
    if name in _INSTANCES:
        return _INSTANCES[name]
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        space = _build(name, getattr(importlib.import_module(module), attr), BUILTIN[name])
    elif name in plugins():
        ep = plugins()[name]
        where = f"space plugin {name!r} ({origin(name)})"
        try:
            space = _build(name, ep.load(), where)
        except SpaceError as err:
            msg = str(err)
            raise SpaceError(msg if msg.startswith(where) else f"{where}: {msg}") from None
        except Exception as err:  # noqa: BLE001 - any failure of foreign code is reported
            raise SpaceError(f"{where} failed to load: {type(err).__name__}: {err}; the "
                             f"other spaces ({', '.join(n for n in space_names() if n != name)})"
                             " still work") from err
    else:
        raise SpaceError(f"unknown search space {name!r}; valid: {', '.join(space_names())}")
    _INSTANCES[name] = space
    return space
