"""The package type-checks (mypy, with the pydantic plugin) and lints (ruff), as part of
the test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


PACKAGE_DIRS = {"spaces": "spaces", "tools": "tools", "agents": "agents", "runs": "runs"}
"""Where setuptools' package-dir puts lapt.<name> (pyproject.toml)."""


def _tree() -> Path:
    """The installed layout (lapt/, lapt/spaces, ...) as links to the sources, so mypy
    resolves every ``lapt.*`` import across the package doors instead of seeing Any.
    It lives in .mypy_cache (git-ignored), at a fixed place so mypy's cache stays warm."""
    base = ROOT / ".mypy_cache" / "layout"
    top = base / "lapt"
    if top.exists():
        shutil.rmtree(top)
    top.mkdir(parents=True)
    for entry in (ROOT / "lapt").iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    for name, folder in PACKAGE_DIRS.items():
        (top / name).symlink_to(ROOT / folder)
    return top


def _mypy(tree: Path) -> tuple[str, int]:
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(tree.parent / "cache"), "-p", "lapt"])
    return out + err, status


@pytest.mark.slow
def test_the_package_type_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """mypy over the installed layout, untyped definitions refused, and a deliberate
    cross-package type error is caught (it would be Any without the layout)."""
    tree = _tree()
    monkeypatch.chdir(tree.parent)
    monkeypatch.setenv("MYPYPATH", str(tree.parent))
    out, status = _mypy(tree)
    assert status == 0, out
    probe = tree / "_probe.py"
    probe.write_text("from lapt.spaces import get_space\n\nx: int = get_space('nb201')\n\n\n"
                     "def untyped(a):\n    return a\n")
    try:
        out, status = _mypy(tree)
    finally:
        probe.unlink()
    assert status == 1
    assert 'Incompatible types in assignment (expression has type "SearchSpace"' in out, out
    assert "Function is missing a type annotation" in out, out


def test_the_code_passes_ruff() -> None:
    """The lint rules in pyproject.toml hold for the package, scripts and tests."""
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python (pip install -e '.[test]')")
    done = subprocess.run([str(ruff), "check", str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
