"""``lapt bench nb201|trans101``: the paper's experiments; ``lapt bench render``: re-render."""

from __future__ import annotations

from typing import Any

import typer

from lapt.bench.protocols import DEFAULT_METHODS, LLM_METHODS, METHODS


def _progress(bd: Any, jobs: list, workers: int, executor: Any = None) -> Any:
    """Run the jobs under rich progress bars (one per method) and a status line."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lapt.bench.runner import execute

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        bars = {}
        for job in jobs:
            if job.method not in bars:
                total = sum(j.method == job.method for j in jobs)
                done = sum(j.method == job.method and bd.finished(j.method, j.seed) for j in jobs)
                bars[job.method] = progress.add_task(f"{job.method:<16}", total=total,
                                                     completed=done)
        line = progress.add_task("", total=None,
                                 visible=any(j.method in LLM_METHODS for j in jobs))

        def on_done(job: Any, wall: float | None, error: str | None) -> None:
            progress.advance(bars[job.method])
            if error:
                console.print(f"[red]{job.name} failed:[/] {error}")
            elif not console.is_terminal and wall is not None:  # a log file: a line per seed
                task = progress.tasks[bars[job.method]]
                console.print(f"{job.name} done in {wall:.0f} s ({job.method}: "
                              f"{task.completed:g} of {task.total:g})")

        def on_status(name: str, text: str) -> None:
            progress.update(line, description=f"[dim]{name}: {text}"[:120])

        return execute(bd, jobs, workers, on_done=on_done, executor=executor,
                       on_status=on_status if executor is None or executor.name == "local"
                       else None)


def _bench(protocol: str, methods: str | None, seeds: int | None, provider_config: str | None,
           workers: int, budget: int | None, out: str, resume: str | None,
           bench_id: str | None, replay: str | None, ray: dict[str, Any]) -> None:
    from rich.console import Console

    from lapt.bench import BenchError, Executor, load_providers, plan, render
    from lapt.tools.cluster import ClusterError, check_address

    console = Console()
    try:
        executor = Executor(**ray)
        if executor.address is not None:  # before the bench folder is made
            check_address(executor.address)
        providers = load_providers(provider_config) if provider_config else None
        bd, jobs = plan(protocol, methods=methods, seeds=seeds, budget=budget,
                        providers=providers, workers=workers, out_dir=out, resume=resume,
                        bench_id=bench_id, replay=replay)
    except (BenchError, ClusterError) as err:
        raise typer.BadParameter(str(err)) from None
    left = sum(not bd.finished(j.method, j.seed) for j in jobs)
    where = (f"{workers} worker(s)" if executor.name == "local" else
             f"Ray at {executor.address}" if executor.address else
             f"a local Ray instance of {workers} CPU(s)")
    console.print(f"lapt bench {protocol}: {bd.path} ({left} of {len(jobs)} seeds to run, "
                  f"{where})")
    try:
        outcome = _progress(bd, jobs, workers, executor)
    except ClusterError as err:
        raise typer.BadParameter(str(err)) from None
    report = render(bd)
    console.print(f"ran {len(outcome.ran)}, skipped {len(outcome.skipped)} finished, "
                  f"failed {len(outcome.failed)} in {outcome.wall_s:.1f} s; report: {report}")
    if outcome.failed:
        raise typer.Exit(1)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``nb201``, ``trans101``, one command per plugin space and ``render`` to
    ``lapt bench``."""
    methods_help = (f"comma-separated, of: {', '.join(METHODS)} "
                    f"(default: all: {','.join(DEFAULT_METHODS)})")

    def make(protocol: str, what: str) -> None:
        from lapt.bench.protocols import PROTOCOLS

        p = PROTOCOLS.get(protocol)
        seeds_default = f"default {p.seeds}" if p else "default 5"
        budget_default = f"default {p.budget}" if p else "default: the space's run budget"

        @bench_app.command(protocol, help=f"{what}: every method side by side over many "
                           "seeds; writes report.md, seeds.csv and plots.")
        def command(
            methods: str = typer.Option(None, help=methods_help),
            seeds: int = typer.Option(None, help=f"seeds per method ({seeds_default})"),
            provider_config: str = typer.Option(
                None, help="YAML with the LLM providers (a run config, a 'providers' "
                "mapping, or one provider); default: the embedded llama.cpp model"),
            workers: int = typer.Option(1, help="seeds run in parallel processes (ray "
                                        "without --address: the local instance's CPUs)"),
            budget: int = typer.Option(None, help="unique evaluations per target task and "
                                       f"seed ({budget_default})"),
            out: str = typer.Option("runs/out", help="where bench folders go"),
            resume: str = typer.Option(None, help="continue a bench (id or folder): "
                                       "finished seeds are not run again"),
            bench_id: str = typer.Option(None, "--id", help="name of a new bench folder"),
            replay: str = typer.Option(None, help="answer every LLM call from this "
                                       "bench's transcripts (no LLM)"),
            executor: str = typer.Option("local", help="where seeds run: local or ray "
                                         "(docs/ray.md)"),
            address: str = typer.Option(None, help="ray: the cluster's address (default: "
                                        "start a local instance)"),
            cpus_per_seed: float = typer.Option(None, help="ray: CPUs a seed reserves "
                                                "(default: its model's threads, else 1)"),
            forward_keys: bool = typer.Option(False, help="ray: send the providers' key "
                                              "variables in the tasks' runtime environment "
                                              "(Ray logs them there: docs/ray.md)"),
        ) -> None:
            _bench(protocol, methods, seeds, provider_config, workers, budget, out, resume,
                   bench_id, replay, {"name": executor, "address": address,
                                      "cpus_per_seed": cpus_per_seed,
                                      "forward_keys": forward_keys})

    make("nb201", "NAS-Bench-201, the paper's Table 2 (source ImageNet16-120; CIFAR-10/100)")
    make("trans101", "TransNAS-Bench-101 micro, the paper's Table 3 (source jigsaw; six tasks)")
    from lapt.spaces import plugin_names  # listed, not loaded: a broken one fails on use

    taken = {c.name for c in bench_app.registered_commands} | {"render"}
    for name in plugin_names():
        if name not in taken:  # a plugin named like a bench command has no bench command
            make(name, f"the plugin space {name} (its declared run: source, targets, search)")

    @bench_app.command("render")
    def render_cmd(
        bench: str = typer.Argument(..., help="bench id or folder"),
        out: str = typer.Option("runs/out", help="where bench folders are"),
    ) -> None:
        """Re-write report.md, seeds.csv and plots of a bench from its result files."""
        from lapt.bench import BenchDir, BenchError, render

        try:
            bd = BenchDir.open(bench, out)
        except BenchError as err:
            raise typer.BadParameter(str(err)) from None
        typer.echo(f"report: {render(bd)}")
