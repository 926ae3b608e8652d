"""``lapt spaces``: the registered search spaces, built-in and plugins."""

from __future__ import annotations

import typer


def spaces() -> None:
    """List the search spaces: where each comes from, its size, evaluation and tasks.

    A plugin that fails to load is listed with the reason; the others still work.
    """
    from rich.console import Console
    from rich.table import Table

    from lapt.spaces import SpaceError, get_space, origin, space_names

    table = Table(title="search spaces")
    for col in ("space", "from", "cells", "evaluation", "tasks"):
        table.add_column(col, overflow="fold")
    for name in space_names():
        try:
            space = get_space(name)
            table.add_row(name, origin(name), f"{space.cardinality():,}", space.evaluation,
                          ", ".join(space.tasks()))
        except SpaceError as err:
            table.add_row(name, origin(name), "-", "[red]failed to load[/red]", str(err))
    Console(width=200).print(table)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("spaces")(spaces)
