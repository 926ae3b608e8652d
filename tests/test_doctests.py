"""The docstring examples of every lapt module run, and pass."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("lapt", "lapt.spaces", "lapt.tools", "lapt.agents", "lapt.runs")
"""The top-level packages (setuptools maps the last four from their own folders)."""


def _modules() -> list[str]:
    names: dict[str, None] = {}
    for pkg in PACKAGES:
        names[pkg] = None
        path = importlib.import_module(pkg).__path__
        for info in pkgutil.walk_packages(path, f"{pkg}."):
            names[info.name] = None
    return list(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_there_are_examples() -> None:
    attempted = 0
    for name in _modules():
        finder = doctest.DocTestFinder()
        attempted += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert attempted >= 80
