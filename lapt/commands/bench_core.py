"""``lapt bench core``: time the non-LLM core on NAS-Bench-201 (table loads, lookups, REA)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import typer


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median and best wall time over ``repeats`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


def run_core(task: str = "cifar10", evals: int = 1_000, seeds: int = 10,
             repeats: int = 5) -> list[tuple[str, float, float, str]]:
    """The benchmark rows: (what, median s, best s, result)."""
    from lapt.spaces import nb201
    from lapt.tools.evaluate import TabularEvaluator
    from lapt.tools.search import rea

    t0 = time.perf_counter()
    bench = nb201.benchmark()
    bench.val(task)
    load = time.perf_counter() - t0
    space = bench.space
    n = space.cardinality()
    rows = [(f"load the NB201 table ({task})", load, load, f"{n:,} cells")]

    def evaluate_all() -> TabularEvaluator:
        ev = TabularEvaluator(bench, task)
        for arch in space.enumerate():
            ev.evaluate(arch)
        return ev

    med, best, ev = _timed(evaluate_all, repeats)
    assert isinstance(ev, TabularEvaluator)
    top = ev.best()
    rows.append((f"evaluate all {n:,} cells (enumerate + evaluator)", med, best,
                 f"{ev.n_evals:,} evals; best val {top.val:.3f} (test {top.test:.3f})"))

    picked: list[float] = []

    def one_rea(seed: int) -> Callable[[], object]:
        return lambda: rea(TabularEvaluator(bench, task), evals, seed=seed,
                           population=5, tournament=2)

    times = []
    for seed in range(seeds):
        med_s, best_s, res = _timed(one_rea(seed), max(1, repeats // 2))
        times.append((med_s, best_s))
        picked.append(res.best_test)  # type: ignore[attr-defined]
    rows.append(((f"REA, {evals:,} evaluations, population 5, tournament 2 "
                 f"(time of one run; {seeds} seeds)"),
                 statistics.median(t for t, _ in times), min(b for _, b in times),
                 (f"test acc of the picked cell: mean {statistics.mean(picked):.2f} "
                  f"(min {min(picked):.2f}, max {max(picked):.2f})")))
    return rows


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``core`` to ``lapt bench``."""

    @bench_app.command("core")
    def core(
        task: str = typer.Option("cifar10", help="NB201 dataset: cifar10, cifar100, "
                                 "ImageNet16-120"),
        evals: int = typer.Option(1_000, min=1, help="REA budget in unique evaluations"),
        seeds: int = typer.Option(10, min=1, help="REA runs (seeds 0..seeds-1)"),
        repeats: int = typer.Option(5, min=1, help="timed repeats per measurement"),
    ) -> None:
        """Time loading NB201, evaluating every cell and a 1,000-evaluation REA search."""
        import os
        import platform

        from rich.console import Console
        from rich.table import Table

        from lapt.spaces import SpaceError

        try:
            rows = run_core(task, evals, seeds, repeats)
        except SpaceError as err:
            raise typer.BadParameter(str(err)) from None
        table = Table(title=f"lapt bench core: NAS-Bench-201 {task} "
                      f"({platform.python_implementation()} {platform.python_version()}, "
                      f"{os.cpu_count()} CPUs)")
        table.add_column("what")
        table.add_column("median s", justify="right")
        table.add_column("best s", justify="right")
        table.add_column("result")
        for what, med, best, result in rows:
            table.add_row(what, f"{med:.3f}", f"{best:.3f}", result)
        Console().print(table)
