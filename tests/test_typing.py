"""The package type-checks (mypy, with the pydantic plugin), as part of the test run."""

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
