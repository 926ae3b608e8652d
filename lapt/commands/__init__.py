"""CLI command modules. Each module defines its commands; :func:`register_all` wires them."""

from __future__ import annotations

import importlib

# Modules here that define a `register(app, bench_app)` function.
_MODULES: list[str] = ["run", "spaces", "demo", "bench_core", "bench_paper"]


def register_all() -> None:
    """Import every command module and let it add its commands to the CLI."""
    from lapt.cli import app, bench_app

    for name in _MODULES:
        importlib.import_module(f"lapt.commands.{name}").register(app, bench_app)
