"""The package type-checks (mypy, with the pydantic plugin) and lints (ruff), as part of
the test run."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_package_type_checks() -> None:
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(ROOT / ".mypy_cache"),
                                *(str(ROOT / d) for d in ("spaces", "tools", "agents", "lapt"))])
    assert status == 0, out + err


def test_the_code_passes_ruff() -> None:
    """The lint rules in pyproject.toml hold for the package, scripts and tests."""
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python (pip install -e '.[test]')")
    done = subprocess.run([str(ruff), "check", str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
