"""The ``lapt`` command line. Each command lives in its own module; this file wires them."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Neural architecture search by design-principle transfer (LAPT).")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks and the paper's experiments.")
app.add_typer(bench_app, name="bench")


def main() -> None:
    """Console-script entry point."""
    app()


# Commands register themselves on `app` / `bench_app` when imported.
from lapt.commands import register_all  # noqa: E402

register_all()
