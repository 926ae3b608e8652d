"""Search spaces, refined subspaces and the vendored benchmark tables.

Spaces are looked up by name with :func:`get_space`: the built-in ones and any that an
installed package registers in the entry-point group ``lapt.spaces`` (a
:class:`~lapt.spaces.table.TableSpace` turns a CSV of evaluated architectures and a
small YAML into one). Every space implements :class:`SearchSpace`. Nothing here knows
about LLMs.
"""

from __future__ import annotations

from ._base import Arch, Layer, SearchSpace, SpaceError, TaskInfo
from ._choices import CellChoices
from ._registry import (
    get_space,
    origin,
    plugin_names,
    register_space,
    space_names,
    unregister_space,
)
from ._subspace import (
    Index,
    LayerChoice,
    LayerProposal,
    Subspace,
    SubspaceProposal,
    ValidationReport,
    validate_subspace,
)
from ._tables import Record, TabularBenchmark

__all__ = [
    "Arch",
    "CellChoices",
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
    "origin",
    "plugin_names",
    "register_space",
    "space_names",
    "unregister_space",
    "validate_subspace",
]
