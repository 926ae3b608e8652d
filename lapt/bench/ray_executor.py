"""The ``ray`` executor of a bench: each (method, seed) is one Ray task.

Workers need no shared filesystem. A worker runs its seed in a scratch folder that holds
the seed's run folders so far (a resumed seed goes on from its last step) and, for
``--replay``, the replayed bench's run folders; it returns a :class:`SeedOutput`: the
record and the seed's run folders as bytes, with the scratch paths inside them rewritten
to the bench folder's. The driver alone writes the bench folder: run folders first, the
result file last (so a resumed bench runs exactly the seeds without one).

A worker that dies mid-seed (a lost node, a killed process) is retried ``retries`` times
by Ray; after that the seed is reported like any failed seed. A seed that raises is not
retried (the same input would fail again).

Keys: provider configs carry ``api_key_env`` names only. With ``forward_keys`` the values
of those variables that are set here travel in the tasks' Ray runtime environment
(never the bench folder, but Ray's own ``runtime_env_agent.log`` records them); without
it (the default) each node's environment must hold them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lapt.tools.cluster import connect, in_scratch, pack_folder, unpack_files

from .methods import Job, run_job, session_configs
from .protocols import LLM_METHODS

__all__ = ["LLAMA_CPUS", "SeedOutput", "execute_ray", "key_env", "seed_cpus", "seed_inputs"]

LLAMA_CPUS = 2
"""CPUs a seed reserves for an in-process llama.cpp model whose ``n_threads`` is unset."""

OnStart = Callable[[Job], None]
OnSettled = Callable[[Job, dict[str, Any] | None, BaseException | None], None]


@dataclass(frozen=True)
class SeedOutput:
    """What a worker returns for one seed."""

    record: dict[str, Any]
    """The seed's record, as the result file holds it."""
    files: dict[str, bytes]
    """The seed's LAPT run folders, by path relative to the bench folder."""


def _providers(job: Job) -> list[Any]:
    """The provider configs of every agent of the seed's sessions (none for baselines and
    replayed seeds, which ask no model)."""
    if job.method not in LLM_METHODS or job.replay_dir is not None:
        return []
    from lapt.agents import load_config

    cfgs = [load_config(data) for _, data in session_configs(job)]
    return [c.provider(a) for c in cfgs for a in ("analyst", "translator", "adapter")]


def seed_cpus(job: Job) -> float:
    """CPUs one seed reserves: the most threads an in-process llama.cpp model of its agents
    runs (``n_threads``, :data:`LLAMA_CPUS` when unset), else one."""
    threads = [p.n_threads or LLAMA_CPUS for p in _providers(job)
               if getattr(p, "provider", None) == "llama_cpp"]
    return float(max(threads, default=1))


def key_env(jobs: list[Job]) -> dict[str, str]:
    """The key variables the jobs' providers name (``api_key_env``) that are set here."""
    names = {p.api_key_env for job in jobs for p in _providers(job)
             if getattr(p, "api_key_env", None)}
    return {n: os.environ[n] for n in sorted(names) if os.environ.get(n)}


def seed_inputs(bench_dir: Path, job: Job) -> dict[str, bytes]:
    """The files a worker starts from: the seed's run folders so far (``bench/...``) and
    the replayed bench's run folders of the same runs (``replay/...``)."""
    files: dict[str, bytes] = {}
    if job.method not in LLM_METHODS:
        return files
    for run_id, _ in session_configs(job):
        for rel, data in pack_folder(bench_dir / "runs" / run_id).items():
            files[f"bench/runs/{run_id}/{rel}"] = data
        if job.replay_dir is not None:
            for rel, data in pack_folder(Path(job.replay_dir) / "runs" / run_id).items():
                files[f"replay/runs/{run_id}/{rel}"] = data
    return files


def _run_in(root: Path, job: Job) -> dict[str, Any]:
    """Worker body inside the scratch folder ``root``: run the seed, then rewrite the
    scratch paths in its record and run folders to the driver's bench (and replay) folder."""
    local = replace(job, bench_dir=str(root / "bench"),
                    replay_dir=str(root / "replay") if job.replay_dir is not None else None)
    (root / "bench").mkdir(exist_ok=True)
    record = run_job(local)
    moves = [(local.bench_dir, job.bench_dir)]
    if job.replay_dir is not None and local.replay_dir is not None:
        moves.append((local.replay_dir, job.replay_dir))
    for path in (root / "bench").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            new = data
            for old, to in moves:
                new = new.replace(old.encode(), to.encode())
            if new != data:
                path.write_bytes(new)
    record["runs"] = [_moved(r, moves) for r in record.get("runs", [])]
    return record


def _moved(path: str, moves: list[tuple[str, str]]) -> str:
    for old, to in moves:
        path = path.replace(old, to)
    return path


def remote_seed(job: Job, files: dict[str, bytes]) -> SeedOutput:
    """Run one seed on a worker (the body of the Ray task)."""
    record, out = in_scratch(_run_in, files, job)
    return SeedOutput(record, {rel.removeprefix("bench/"): data for rel, data in out.items()
                               if rel.startswith("bench/")})


def _error(err: BaseException) -> BaseException:
    """The seed's own exception where Ray wraps it; Ray's error otherwise (a lost worker)."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def execute_ray(bench_dir: Path, todo: list[Job], *, address: str | None = None,
                workers: int = 1, cpus_per_seed: float | None = None, retries: int = 2,
                forward_keys: bool = False, on_start: OnStart | None = None,
                on_settled: OnSettled | None = None) -> None:
    """Run ``todo`` as Ray tasks and write each finished seed into ``bench_dir``.

    Without ``address`` a local Ray instance is started with ``workers`` logical CPUs
    (and shut down after); ``cpus_per_seed`` overrides :func:`seed_cpus`.
    """
    from lapt.tools.cluster import require_ray

    ray = require_ray()
    started = not ray.is_initialized()
    connect(address, num_cpus=workers if address is None else None)
    try:
        task = ray.remote(remote_seed)
        env = key_env(todo) if forward_keys else {}
        refs: dict[Any, Job] = {}
        for job in todo:
            opts: dict[str, Any] = {
                "num_cpus": cpus_per_seed if cpus_per_seed is not None else seed_cpus(job),
                "max_retries": retries, "retry_exceptions": False}
            if env:
                opts["runtime_env"] = {"env_vars": env}
            refs[task.options(**opts).remote(job, seed_inputs(bench_dir, job))] = job
            if on_start:
                on_start(job)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                job = refs[ref]
                try:
                    out: SeedOutput = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - reported, the other seeds go on
                    if on_settled:
                        on_settled(job, None, _error(err))
                    continue
                unpack_files(out.files, bench_dir)
                if on_settled:
                    on_settled(job, out.record, None)
    finally:
        if started:
            ray.shutdown()
