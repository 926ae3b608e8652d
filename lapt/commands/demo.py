"""``lapt demo``: replay a recorded capable-model NB201 session, with no key and no model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def demo(
    out: Annotated[str, typer.Option(help="where the replayed run folder goes")] = "runs/out",
    conversation: Annotated[bool, typer.Option(
        help="also print the agents' messages (principles, subspaces, adaptations)")] = True,
) -> None:
    """Replay a recorded LAPT session on NB201 whose agents a capable LLM answered.

    Nothing is asked of any model: the recorded answers are handed back in order, the
    benchmark table evaluates every cell again, and the result is the recorded one.
    """
    from lapt.agents import RunDir, run_session
    from lapt.agents.transcript_view import filter_records, render_text
    from lapt.demo import RECORDED, unpack
    from lapt.tools.metrics import evals_to_top_q
    from lapt.tools.tasks import benchmark

    with tempfile.TemporaryDirectory() as tmp:
        recorded = RunDir(unpack(Path(tmp)))
        cfg = recorded.config().model_copy(update={"out_dir": out, "name": "demo"})
        console.print(f"[bold]lapt demo[/bold]: a [bold]replay[/bold] of a recorded session, "
                      f"answered by {RECORDED}.\nNo model is asked; every answer comes from "
                      f"the recording ({recorded.path.name}).")
        result = run_session(cfg, replay_from=recorded)
    run = RunDir(Path(result.run_dir))
    if conversation:  # what the agents concluded: principles, subspaces, adaptations
        shown = [r for r in filter_records(run.records()) if r["kind"] == "message"
                 and r["type"] in ("analysis", "translation", "adaptation")]
        render_text(shown, console)
    bench = benchmark(cfg.space)
    table = Table(title=f"best cell per task ({cfg.space}, source {cfg.source.task}), replayed")
    for col in ("task", "test", "rank of 15,625", "evaluations until the top 0.1 %",
                "subspace sizes"):
        table.add_column(col)
    for t in result.tasks.values():
        top = evals_to_top_q(run.evaluations(t.task), bench, t.task, 0.001, by="val")
        sizes = " -> ".join(f"{i.subspace_size:,}" for i in t.iterations)
        table.add_row(t.task, f"{t.test:.2f}", f"{t.rank:,}" if t.rank else "-",
                      str(top.evals) if top.reached else "not reached", sizes)
    console.print(table)
    console.print("Plain REA in the whole space needs about 89 (CIFAR-10) and 73 (CIFAR-100) "
                  "evaluations for the same (docs/bench).")
    console.print(f"replayed run folder: {result.run_dir} (`lapt transcript "
                  f"{Path(result.run_dir).name}` shows every prompt and answer)")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("demo")(demo)
