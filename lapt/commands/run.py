"""``lapt run``, ``lapt runs`` and ``lapt transcript``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from lapt.agents import RunDir

console = Console()
DEFAULT = "nb201"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def run(
    config: Annotated[str | None, typer.Argument(
        help="YAML config file or preset name (default: the embedded nb201 preset)")] = None,
    resume: Annotated[str | None, typer.Option(
        help="continue an interrupted run (id or folder) from its last completed step")] = None,
    replay: Annotated[str | None, typer.Option(
        help="re-run a finished run from its transcript, with no LLM")] = None,
    out: Annotated[str | None, typer.Option(help="where run folders go")] = None,
    seed: Annotated[int | None, typer.Option(help="override the config's seed")] = None,
) -> None:
    """Run LAPT: learn principles on the source task, search every target task."""
    from lapt.agents import ConfigError, Reporter, RunDir, load_config, run_session

    try:
        if resume and replay:
            raise _fail("give --resume or --replay, not both")
        replay_from = RunDir.open(replay, out or "runs/out") if replay else None
        if resume:
            rd = RunDir.open(resume, out or "runs/out")
            cfg = rd.config()
            source = rd.replayed_from()  # a resumed replay goes on replaying
            replay_from = RunDir(source) if source is not None else None
        else:
            if replay_from is not None and config is None:
                cfg = replay_from.config()
            else:
                cfg = load_config(config or DEFAULT)
            updates = {k: v for k, v in (("out_dir", out), ("seed", seed)) if v is not None}
            if updates:  # validated like the file: a bad --out is a config error
                cfg = load_config({**cfg.model_dump(mode="json"), **updates})
            missing = [] if replay_from is not None else cfg.missing_keys()
            if missing:  # before a run folder exists: nothing is left behind
                raise _fail("; ".join(missing))
            rd = RunDir.create(cfg)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as err:
        raise _fail(str(err)) from None

    if rd.finished:  # every answer is recorded: nothing to run, no model to load
        console.print(f"run {rd.id} had finished; its results:")
        _print_results(rd)
        return
    resume_hint = f"lapt run --resume {rd.id}" + (
        f" --out {cfg.out_dir}" if cfg.out_dir != "runs/out" else "")
    console.print(f"[bold]lapt run[/bold] {cfg.name}: space {cfg.space}, source "
                  f"{cfg.source.task}, targets {', '.join(cfg.targets)} -> {rd.path}"
                  + (f" (replaying {replay_from.path})" if replay_from is not None else ""))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        status = progress.add_task("starting", total=None)
        bars: dict[str, TaskID] = {}

        def task_started(task: str, total: int) -> None:
            bars[task] = progress.add_task(f"{task} evaluations", total=total)

        reporter = Reporter(
            status=lambda text: progress.update(status, description=text),
            task_started=task_started,
            evaluated=lambda task, n: progress.update(bars[task], completed=n)
            if task in bars else None,
        )
        from lapt.agents.providers import LLMError

        try:
            run_session(cfg, run=rd, resume=bool(resume), replay_from=replay_from,
                        reporter=reporter)
        except LLMError as err:
            raise _fail(f"{err}\nthe run folder keeps everything done so far; continue with "
                        f"`{resume_hint}`") from None
        except KeyboardInterrupt:
            raise _fail(f"interrupted; continue with `{resume_hint}`") from None
        progress.update(status, description="done", total=1, completed=1)
    _print_results(rd)


def _print_results(rd: RunDir) -> None:
    """The table of a finished run, from its results.json."""
    results = rd.results()
    if results is None:
        raise _fail(f"run {rd.id} has no results.json")
    table = Table(title=f"best cell per task ({results.space}, source {results.source})")
    for col in ("task", "architecture", "val", "test", "rank", "evaluations"):
        table.add_column(col, overflow="fold")
    for t in results.tasks.values():
        table.add_row(t.task, t.arch, f"{t.val:.3f}", f"{t.test:.3f}",
                      "-" if t.rank is None else f"{t.rank:,}", str(t.n_evals))
    console.print(table)
    calls = sum(u.calls for u in results.llm.values())
    tokens = sum(u.prompt_tokens + u.completion_tokens for u in results.llm.values())
    console.print(f"{calls} LLM calls, {tokens:,} tokens, {results.wall_s:.1f} s")
    console.print(f"run folder: {rd.path}")


def runs(out: Annotated[str, typer.Option(help="where run folders are")] = "runs/out") -> None:
    """List runs, oldest first."""
    from lapt.agents import list_runs

    table = Table(title=f"runs in {out}")
    for col in ("run", "space", "targets", "status"):
        table.add_column(col)
    for r in list_runs(out):
        try:
            cfg = r.config()
            space, targets = cfg.space, ", ".join(cfg.targets)
        except Exception as err:  # a damaged folder is listed, not fatal
            space, targets = "?", f"unreadable config: {err}"
        table.add_row(r.id, space, targets, "finished" if r.finished else "incomplete")
    console.print(table)


def transcript(
    run: Annotated[str, typer.Argument(help="run id or folder")],
    agent: Annotated[str | None, typer.Option(help="only this agent's turns")] = None,
    iteration: Annotated[int | None, typer.Option(help="only this iteration (1-based)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    out: Annotated[str, typer.Option(help="where run folders are")] = "runs/out",
) -> None:
    """Show a run's conversation for a person: by agent, by iteration."""
    from lapt.agents import RunDir
    from lapt.agents.transcript_view import filter_records, render_text

    if fmt not in ("text", "json"):
        raise _fail(f"unknown format {fmt!r}; valid: text, json")
    try:
        rd = RunDir.open(run, out)
    except FileNotFoundError as err:
        raise _fail(str(err)) from None
    records = filter_records(rd.records(), agent=agent, iteration=iteration)
    if fmt == "json":
        for r in records:
            print(json.dumps(r))
    else:
        render_text(records, console)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("runs")(runs)
    app.command("transcript")(transcript)

