"""Search spaces, refined subspaces and the vendored benchmark tables.

Spaces are looked up by name with :func:`get_space`; every space implements
:class:`SearchSpace`. Nothing here knows about LLMs.
"""

from __future__ import annotations

import importlib

from ._base import Arch, Layer, SearchSpace, SpaceError
from ._subspace import (
    Index,
    LayerChoice,
    LayerProposal,
    Subspace,
    SubspaceProposal,
    ValidationReport,
    validate_subspace,
)
from ._tables import Record, TabularBenchmark, TaskInfo

# name -> (module, class); modules are imported on first use.
_SPACES: dict[str, tuple[str, str]] = {
    "nb201": ("lapt.spaces.nb201", "NB201Space"),
    "trans101": ("lapt.spaces.trans101", "Trans101Space"),
    "darts": ("lapt.spaces.darts", "DartsSpace"),
}
_INSTANCES: dict[str, SearchSpace] = {}


def space_names() -> list[str]:
    """Names accepted by :func:`get_space`."""
    return list(_SPACES)


def get_space(name: str) -> SearchSpace:
    """The search space registered as ``name`` (one shared instance per name).

    Raises:
        SpaceError: for an unknown name, listing the valid ones.
    """
    if name not in _SPACES:
        raise SpaceError(f"unknown search space {name!r}; valid: {', '.join(_SPACES)}")
    if name not in _INSTANCES:
        module, cls = _SPACES[name]
        _INSTANCES[name] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[name]


__all__ = [
    "Arch",
    "Layer",
    "Index",
    "LayerChoice",
    "LayerProposal",
    "Record",
    "SearchSpace",
    "SpaceError",
    "Subspace",
    "SubspaceProposal",
    "TabularBenchmark",
    "TaskInfo",
    "ValidationReport",
    "get_space",
    "space_names",
    "validate_subspace",
]
