"""Run a bench: every (method, seed) not yet finished, with progress, on an executor:
``local`` (this process, or parallel processes) or ``ray`` (one Ray task per seed, see
:mod:`lapt.bench.ray_executor`).

Example:
    >>> from lapt.bench import run_bench
    >>> bd = run_bench("nb201", methods="rea,random,stats", seeds=3)   # doctest: +SKIP
    >>> (bd.path / "report.md").is_file()                               # doctest: +SKIP
    True
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lapt.tools.cluster import ClusterError, check_executor

from .methods import Job, run_job
from .protocols import LLM_METHODS, BenchError, get_protocol, notransfer_budget, parse_methods
from .store import BenchDir, provider_json


@dataclass
class Outcome:
    """What a call to :func:`run_bench` did."""

    bench: BenchDir
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0


def load_providers(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Provider configs from a YAML file (or a mapping): a run config with ``providers:``,
    a ``providers`` mapping ('default' / agent names), or one provider (``provider: ...``)."""
    import yaml

    from lapt.agents.config import parse_providers

    data: Any = source
    if not isinstance(source, dict):
        path = Path(source)
        if not path.is_file():
            raise BenchError(f"provider config {str(source)!r}: no such file")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise BenchError(f"provider config {path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise BenchError(f"provider config {source}: expected a mapping, e.g. "
                         "'providers: {default: {provider: llama_cpp}}'")
    if "providers" in data:
        data = data["providers"]
    elif "provider" in data:
        data = {"default": data}
    try:
        return dict(parse_providers(data))
    except ValueError as err:
        raise BenchError(f"provider config {source}: {err}") from None


def _check(protocol: str, methods: tuple[str, ...], seeds: int, budget: int,
           workers: int) -> None:
    proto = get_protocol(protocol)
    for what, v in (("seeds", seeds), ("budget", budget), ("workers", workers)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise BenchError(f"{what} must be an integer >= 1, got {v!r}")
    if any(m in LLM_METHODS for m in methods):
        need = proto.iterations + (notransfer_budget(proto, budget)
                                   if "lapt-notransfer" in methods else 0)
        if budget < need:
            raise BenchError(f"budget {budget} is too small for {', '.join(methods)}: the "
                             f"LAPT methods need >= {need} ({proto.iterations} iterations)")


def plan(protocol: str, *, methods: Any = None, seeds: int | None = None,
         budget: int | None = None, providers: dict[str, Any] | None = None,
         workers: int = 1, out_dir: str | Path = "runs/out", resume: str | None = None,
         bench_id: str | None = None, replay: str | None = None) -> tuple[BenchDir, list[Job]]:
    """The bench folder (new, or the one to resume) and the jobs it still has to run."""
    proto = get_protocol(protocol)
    if resume is not None:
        bd = BenchDir.open(resume, out_dir)
        saved = bd.settings()
        if saved["protocol"] != protocol:
            raise BenchError(f"bench {bd.id} is a {saved['protocol']} bench, not {protocol}")
        if budget is not None and budget != saved["budget"]:
            raise BenchError(f"bench {bd.id} runs budget {saved['budget']}; a resumed bench "
                             f"keeps it (got --budget {budget})")
        budget = saved["budget"]
        methods_t = parse_methods(methods) if methods is not None else tuple(saved["methods"])
        seeds = seeds if seeds is not None else saved["seeds"]
        replay = replay or saved.get("replay")
        if providers is None and saved.get("providers"):
            providers = load_providers(saved["providers"])
        _check(protocol, methods_t, seeds, budget, workers)
        merged = list(dict.fromkeys([*saved["methods"], *methods_t]))
        bd.write_settings({**saved, "methods": merged, "seeds": max(seeds, saved["seeds"]),
                           **({"providers": provider_json(providers)} if providers else {})})
    else:
        methods_t = parse_methods(methods)
        seeds = proto.seeds if seeds is None else seeds
        budget = proto.budget if budget is None else budget
        _check(protocol, methods_t, seeds, budget, workers)
        if replay is not None:
            replay = str(BenchDir.open(replay, out_dir).path)
        bd = BenchDir.create(out_dir, protocol, {
            "methods": list(methods_t), "seeds": seeds, "budget": budget,
            "providers": provider_json(providers or {}), "replay": replay}, bench_id)
    jobs = [Job(protocol, m, s, budget, str(bd.path), dict(providers or {}), replay)
            for m in methods_t for s in range(seeds)]
    return bd, jobs


def _work(job: Job, queue: Any = None) -> tuple[str, float]:
    """Worker body: run one job and write its result file (so a crash loses nothing)."""
    status = (lambda text: queue.put((job.name, text))) if queue is not None else None
    record = run_job(job, status)
    BenchDir(Path(job.bench_dir)).write_result(record)
    return job.name, record["wall_s"]


@dataclass(frozen=True)
class Executor:
    """Where a bench's seeds run, and how."""

    name: str = "local"
    """``local``: this process (``workers == 1``) or parallel processes; ``ray``: Ray tasks."""
    address: str | None = None
    """Ray only: the cluster's address (None: a local instance of ``workers`` CPUs)."""
    cpus_per_seed: float | None = None
    """Ray only: CPUs a seed reserves (None: its model's threads, else one)."""
    retries: int = 2
    """Ray only: retries of a seed whose worker died."""
    forward_keys: bool = False
    """Ray only: send the providers' key variables in the tasks' runtime environment
    (Ray's runtime_env_agent.log then holds them: docs/ray.md)."""

    def __post_init__(self) -> None:
        check_executor(self.name)
        if self.name != "ray" and (self.address is not None or self.cpus_per_seed is not None):
            raise ClusterError("--address and --cpus-per-seed need --executor ray")
        if self.cpus_per_seed is not None and not self.cpus_per_seed > 0:
            raise ClusterError(f"cpus per seed must be > 0, got {self.cpus_per_seed!r}")


def execute(bd: BenchDir, jobs: list[Job], workers: int = 1,
            on_start: Callable[[Job], None] | None = None,
            on_done: Callable[[Job, float | None, str | None], None] | None = None,
            on_status: Callable[[str, str], None] | None = None,
            executor: Executor | None = None) -> Outcome:
    """Run the unfinished jobs (in this process when ``workers == 1`` and local)."""
    executor = executor or Executor()
    out = Outcome(bd)
    t0 = time.perf_counter()
    todo = []
    for job in jobs:
        if bd.finished(job.method, job.seed):
            out.skipped.append(job.name)
        else:
            todo.append(job)
    if executor.name == "ray" and todo:
        from .ray_executor import execute_ray

        def settled(job: Job, record: dict[str, Any] | None, err: BaseException | None) -> None:
            if record is not None:
                bd.write_result(record)
            _settle(out, job, record["wall_s"] if record else None, err, on_done)

        execute_ray(bd.path, todo, address=executor.address, workers=workers,
                    cpus_per_seed=executor.cpus_per_seed, retries=executor.retries,
                    forward_keys=executor.forward_keys, on_start=on_start, on_settled=settled)
    elif workers == 1:
        for job in todo:
            if on_start:
                on_start(job)
            try:
                _, wall = _work(job, None) if on_status is None else _in_process(job, on_status)
            except Exception as err:  # noqa: BLE001 - reported, the other seeds go on
                _settle(out, job, None, err, on_done)
                continue
            _settle(out, job, wall, None, on_done)
    elif todo:
        _parallel(todo, workers, out, on_start, on_done, on_status)
    out.wall_s = time.perf_counter() - t0
    return out


def _settle(out: Outcome, job: Job, wall: float | None, err: BaseException | None,
            on_done: Any) -> None:
    """Record a finished seed (or its failure) and tell ``on_done``."""
    if err is not None:
        out.failed[job.name] = f"{type(err).__name__}: {err}"
    else:
        out.ran.append(job.name)
    if on_done:
        on_done(job, wall, out.failed.get(job.name) if err is not None else None)


def _in_process(job: Job, on_status: Callable[[str, str], None]) -> tuple[str, float]:
    record = run_job(job, lambda text: on_status(job.name, text))
    BenchDir(Path(job.bench_dir)).write_result(record)
    return job.name, record["wall_s"]


def _parallel(todo: list[Job], workers: int, out: Outcome, on_start: Any, on_done: Any,
              on_status: Any) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        queue = manager.Queue() if on_status is not None else None
        futures: dict[Future, Job] = {}
        for job in todo:
            futures[pool.submit(_work, job, queue)] = job
            if on_start:
                on_start(job)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            while queue is not None and not queue.empty():
                name, text = queue.get()
                on_status(name, text)
            for fut in done:
                job = futures[fut]
                try:
                    _, wall = fut.result()
                except Exception as err:  # noqa: BLE001 - reported, the other seeds go on
                    _settle(out, job, None, err, on_done)
                    continue
                _settle(out, job, wall, None, on_done)


def run_bench(protocol: str, *, workers: int = 1, render: bool = True,
              executor: Executor | None = None, **options: Any) -> Outcome:
    """Plan, execute and (by default) render a bench; ``options`` are :func:`plan`'s."""
    bd, jobs = plan(protocol, workers=workers, **options)
    out = execute(bd, jobs, workers, executor=executor)
    if render:
        from .report import render as render_report

        render_report(bd)
    return out
