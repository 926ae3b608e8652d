"""Run one (method, seed) of a protocol and return its record: every evaluation, in order.

Baselines (REA, random, local search) search the full space; ``stats`` runs REA in the
``principle_stats`` subspace of the source archive; the LAPT methods run whole sessions
(:func:`lapt.agents.run_session`) whose run folders stay under the bench folder, so a
bench can be re-rendered, resumed or replayed without any LLM.

Seeds: target task ``t`` of seed ``s`` searches with ``SeedSequence([s, t])`` (the same
stream for every baseline); a LAPT session takes ``seed = s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lapt.spaces import Subspace
from lapt.tools.evaluate import Evaluation, TabularEvaluator
from lapt.tools.search import derive_seed, search
from lapt.tools.stats import principle_stats, stats_subspace
from lapt.tools.tasks import benchmark, source_archive

from .protocols import LLM_METHODS, Protocol, get_protocol, notransfer_budget

if TYPE_CHECKING:
    from lapt.agents import RunDir

Status = Callable[[str], None]


@dataclass
class Job:
    """One (method, seed) of a bench; picklable, so it can run in a worker process."""

    protocol: str
    method: str
    seed: int
    budget: int
    bench_dir: str
    providers: dict[str, Any] = field(default_factory=dict)
    """Provider configs by 'default' / agent name (empty: the preset's, the embedded model)."""
    replay_dir: str | None = None
    """A bench folder whose LAPT transcripts answer every LLM call (no LLM is asked)."""

    @property
    def name(self) -> str:
        return f"{self.method}-s{self.seed}"


def task_seed(seed: int, t: int) -> int:
    """The search seed of target task number ``t`` in bench seed ``seed`` (a LAPT session
    derives the same one, see :func:`lapt.tools.search.derive_seed`)."""
    return derive_seed(seed, t)


def history(space: Any, evals: list[Evaluation], budget: int) -> dict[str, list]:
    """The ordered unique evaluations as cell indices, validation and test metrics."""
    evals = evals[:budget]
    return {"cells": [space.index(e.arch) for e in evals], "val": [e.val for e in evals],
            "test": [e.test for e in evals]}


def stats_method_subspace(proto: Protocol) -> Subspace:
    """The ``principle_stats`` subspace of the source archive (top-k of the source task)."""
    bench = benchmark(proto.space)
    archive = source_archive(proto.space, proto.source, proto.top_k)
    return stats_subspace(principle_stats(bench.space, archive))


def run_baseline(job: Job) -> dict[str, Any]:
    """REA / random / local on the full space, or REA in the statistics subspace."""
    proto = get_protocol(job.protocol)
    bench = benchmark(proto.space)
    subspace = stats_method_subspace(proto) if job.method == "stats" else None
    strategy = "rea" if job.method == "stats" else job.method
    tasks: dict[str, Any] = {}
    for t, task in enumerate(proto.targets):
        ev = TabularEvaluator(bench, task)
        knobs: dict[str, Any] = {}
        if strategy == "rea":
            pop = min(proto.population, job.budget)
            knobs = {"population": pop, "tournament": min(proto.tournament, pop)}
        search(strategy, ev, job.budget, subspace, task_seed(job.seed, t), **knobs)
        tasks[task] = history(bench.space, ev.history, job.budget)
        if subspace is not None:
            tasks[task]["subspaces"] = [subspace.model_dump(mode="json")]
    return {"tasks": tasks}


def fit_schedule(search: dict[str, Any], budget: int) -> dict[str, Any]:
    """The preset's search settings with ``budget``; a schedule (initial block, adaptation
    interval) that the budget cannot hold becomes equal shares of it."""
    out = {**search, "budget": budget}
    head = (out.get("initial") or 0) + (out["iterations"] - 2) * (out.get("adapt_every") or 0)
    if out.get("initial") is not None and head >= budget:
        out["initial"] = out["adapt_every"] = None
    return out


def session_configs(job: Job) -> list[tuple[str, dict[str, Any]]]:
    """(run id, config dict) of the LAPT sessions one seed of ``job.method`` runs."""
    from lapt.agents import load_config

    proto = get_protocol(job.protocol)
    base = load_config(proto.preset).model_dump(mode="json", exclude={"providers"})
    base.update(seed=job.seed, out_dir=str(Path(job.bench_dir) / "runs"),
                targets=list(proto.targets))
    base["source"] = {"task": proto.source, "top_k": proto.top_k}
    base["search"] = fit_schedule(base["search"], job.budget)
    if job.providers:
        base["providers"] = dict(job.providers)
    else:
        base.pop("providers", None)
    if job.method == "lapt-noadapt":
        base["adapter"] = {**base.get("adapter", {}), "enabled": False}
    if job.method == "lapt-translated":
        base["analyst"] = {**base.get("analyst", {}), "first_subspace": False}
    if job.method == "lapt-noevidence":
        base["analyst"] = {**base.get("analyst", {}), "evidence": False}
    if job.method != "lapt-notransfer":
        return [(job.name, {**base, "name": job.name})]
    spent = notransfer_budget(proto, job.budget)
    out = []
    for task in proto.targets:
        name = f"{job.name}-{task}"
        out.append((name, {**base, "name": name, "targets": [task],
                           "source": {"task": task, "top_k": min(proto.top_r, spent),
                                      "search": spent},
                           "search": fit_schedule(base["search"], job.budget - spent)}))
    return out


def replayed_config(recorded: RunDir, data: dict[str, Any]) -> dict[str, Any]:
    """The config a replay of ``recorded`` runs: the recorded session's own (its prompts
    came from it, and a preset may have changed since), in this bench's folder."""
    return {**recorded.recorded_config(), "name": data["name"], "out_dir": data["out_dir"]}


def run_lapt(job: Job, status: Status | None = None) -> dict[str, Any]:
    """Run (or resume, or replay) the LAPT sessions of one seed and read their folders."""
    from lapt.agents import Reporter, RunDir, load_config, run_session

    proto = get_protocol(job.protocol)
    space = benchmark(proto.space).space
    tasks: dict[str, Any] = {}
    llm: dict[str, dict[str, float]] = {}
    providers: dict[str, str] = {}
    runs = []
    for run_id, data in session_configs(job):
        replay = None
        if job.replay_dir is not None:
            replay = RunDir(Path(job.replay_dir) / "runs" / run_id)
            if not replay.finished:
                raise FileNotFoundError(f"no finished run {run_id} in {job.replay_dir} "
                                        "to replay")
            data = replayed_config(replay, data)
        cfg = load_config(data)
        path = Path(cfg.out_dir) / run_id
        rd = RunDir(path)
        if not rd.finished:
            reporter = Reporter()
            if status is not None:
                say = status

                def tell(text: str, r: str = run_id) -> None:
                    say(f"{r}: {text}")

                reporter.status = tell
            resume = path.exists()  # an interrupted seed goes on from its last step
            run = rd if resume else RunDir.create(cfg, run_id)
            run_session(cfg, run=run, resume=resume, replay_from=replay, reporter=reporter)
        results = rd.results()
        assert results is not None
        runs.append(str(path))
        for agent, usage in results.llm.items():
            acc = llm.setdefault(agent, {})
            for k, v in usage.model_dump().items():
                acc[k] = acc.get(k, 0) + v
        for agent in ("analyst", "translator", "adapter"):
            p = cfg.provider(agent)
            providers[agent] = f"{p.provider}:{p.model}"
        for task in cfg.targets:
            rec = history(space, rd.evaluations(task), job.budget)
            its = results.tasks[task].iterations
            rec["subspaces"] = [i.subspace.model_dump(mode="json") for i in its]
            rec["iterations"] = [i.model_dump(mode="json", include={
                "subspace_size", "subspace_from", "subspace_valid", "branch", "best_val",
                "fallback_reason"}) for i in its]
            tasks[task] = rec
    return {"tasks": tasks, "llm": llm, "providers": providers, "runs": runs}


def run_job(job: Job, status: Status | None = None) -> dict[str, Any]:
    """Run one (method, seed) and return its record (also what the result file holds)."""
    t0 = time.perf_counter()
    out = run_lapt(job, status) if job.method in LLM_METHODS else run_baseline(job)
    return {"protocol": job.protocol, "method": job.method, "seed": job.seed,
            "budget": job.budget, "wall_s": time.perf_counter() - t0, **out}
