"""A LAPT session: Algorithm 1 of the paper, driven by typed messages between agents.

Read :meth:`Session._algorithm_1` first: it is the paper's Algorithm 1 line by line. The
rest sets up the AutoGen runtime, the agents and their model clients, the run folder,
and resume / replay.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from autogen_core import AgentId, SingleThreadedAgentRuntime

from lapt.spaces import Subspace, get_space
from lapt.tools import tasks as task_tools
from lapt.tools.evaluate import Evaluation, Evaluator, best_of
from lapt.tools.search import derive_seed

from ._recording import MessageRecorder, ResumingLLM, SkippingTranscript, UsageMeter
from .adapter import Adapter
from .analyst import Analyst
from .config import AGENTS, SessionConfig
from .messages import (
    AdaptRequest,
    Analysis,
    AnalyzeRequest,
    EvaluatedArch,
    Principles,
    SearchRequest,
    SearchResult,
    TranslateRequest,
    Translation,
)
from .providers import (
    LLM,
    AnswerSize,
    ChatModel,
    LocalClient,
    ManualConfig,
    ReplayConfig,
    build_llm,
)
from .results import IterationRecord, LLMUsage, RunResult, TaskResult
from .rundir import RunDir
from .searcher import Searcher
from .translator import Translator


@dataclass
class Reporter:
    """Progress callbacks (the CLI shows rich progress bars; scripts may pass their own)."""

    status: Callable[[str], None] = lambda text: None
    task_started: Callable[[str, int], None] = lambda task, total: None
    evaluated: Callable[[str, int], None] = lambda task, n_evals: None


class Session:
    """One LAPT run over a config; use :func:`run_session` for the one-call form."""

    def __init__(self, config: SessionConfig, run: RunDir, *, resume: bool = False,
                 replay_from: RunDir | None = None, reporter: Reporter | None = None,
                 llms: dict[str, LLM] | None = None) -> None:
        self.cfg = config
        self.run = run
        self.space = get_space(config.space)
        self.reporter = reporter or Reporter()
        secret_envs = [getattr(config.provider(a), "api_key_env", None) for a in AGENTS]
        base = run.transcript([e for e in secret_envs if e])
        self.transcript = SkippingTranscript(base, run.records() if resume else [])
        self.usage = UsageMeter()
        self._llms = llms
        self._recorded = run.records("llm_call") if resume else []
        self._resumed = resume
        self._replay_from = replay_from
        self._evaluators: dict[str, Evaluator] = {}
        # supernet.executor ray: trainings under way on the cluster (a thread each waits)
        self._pool: ThreadPoolExecutor | None = None
        self._training: dict[str, Future[Any]] = {}
        self._finals: dict[str, Future[dict[str, Any]]] = {}

    # ----------------------------------------------------------------- models
    def _build_llms(self) -> dict[str, ChatModel]:
        def sink(call):  # type: ignore[no-untyped-def]
            self.usage.add(call)
            self.transcript.llm_call(call)

        out: dict[str, ChatModel] = {}
        for agent in AGENTS:
            if self._llms and agent in self._llms:
                llm = self._llms[agent]
                llm.sink = sink
            elif self._replay_from is not None:
                llm = build_llm(ReplayConfig(transcript=self._replay_from.path), sink=sink)
            else:
                provider = self.cfg.provider(agent)
                if isinstance(provider, ManualConfig) and provider.answers_dir is not None:
                    # one folder per run, so that many runs can wait for answers at once
                    provider = provider.model_copy(
                        update={"answers_dir": provider.answers_dir / self.run.id})
                llm = build_llm(provider, sink=sink)
            # a call that failed for good ended the interrupted run: it is asked again
            recorded = [r for r in self._recorded
                        if r.get("agent") == agent and r.get("raw") is not None]
            if recorded and isinstance(llm.client, LocalClient):
                llm.client.skip(agent, len(recorded))  # number the next call as the run did
            out[agent] = ResumingLLM(llm, recorded, self.usage) if recorded else llm
        return out

    def _answer_sizes(self) -> dict[str, AnswerSize]:
        """Each agent's answer bounds; a replay takes those the recorded run used (they
        are part of its prompts), as its config.yaml records them."""
        sizes = {a: self.cfg.answer_size(a) for a in AGENTS}
        if self._replay_from is not None:
            data = self._replay_from.recorded_config()
            for a in AGENTS:
                recorded = (data.get(a) or {}).get("answer_size")
                if recorded:
                    sizes[a] = AnswerSize.model_validate(recorded)
        return sizes

    # ------------------------------------------------------------- evaluators
    def _evaluator(self, task: str, subspace: Subspace, key: str | None = None) -> Evaluator:
        """Tabular: one evaluator per task. DARTS: one supernet per (task, subspace)."""
        key = key or self._key(task, subspace)
        if key not in self._evaluators:
            name = key

            def record(e: Evaluation) -> None:
                self.run.append_evaluation(name, e)

            if key in self._training:  # trained on Ray meanwhile: wait, then reload
                self._training.pop(key).result()
            ev = task_tools.make_evaluator(
                self.cfg.space, task, self.cfg.supernet, on_evaluation=record,
                workdir=self._supernet_dir(key), subspace=subspace)
            ev.preload(self.run.evaluations(key))
            self._evaluators[key] = ev
        return self._evaluators[key]

    def _key(self, task: str, subspace: Subspace) -> str:
        if task_tools.is_tabular(self.cfg.space):
            return task
        # a supernet per subspace; the same subspace again reuses it and its cache
        return f"{task}/{hashlib.sha1(subspace.model_dump_json().encode()).hexdigest()[:10]}"

    def _supernet_dir(self, key: str) -> Path:
        return self.run.path / "supernets" / key.replace("/", "-")

    def _on_ray(self) -> bool:
        return not task_tools.is_tabular(self.cfg.space) and self.cfg.supernet.executor == "ray"

    def _background(self) -> ThreadPoolExecutor:
        if self._pool is None:
            from lapt.tools.cluster import connect

            connect(self.cfg.supernet.address)  # once, here: threads must not race ray.init
            self._pool = ThreadPoolExecutor(max_workers=2 * len(self.cfg.targets),
                                            thread_name_prefix="lapt-ray")
        return self._pool

    def _train_ahead(self, task: str, subspace: Subspace) -> None:
        """``supernet.executor: ray``: start training the supernet of (task, subspace) on
        the cluster now, so that several train at once (other GPUs) while the session
        goes on; :meth:`_evaluator` waits for it. Nothing to do on the local path."""
        key = self._key(task, subspace)
        if self._on_ray() and key not in self._evaluators and key not in self._training:
            from lapt.tools.supernet import prepare_supernet

            self._training[key] = self._background().submit(
                prepare_supernet, task, self.cfg.supernet, subspace, self._supernet_dir(key))

    def _source_archive(self) -> list[str]:
        """Line 1: A = top-k of the source task (free: looked up, or a DARTS supernet)."""
        src = self.cfg.source
        if src.search:  # no transfer (ablation): the top-k of a counted search on the task
            from lapt.tools.search import rea

            s = self.cfg.search
            ev = self._evaluator(src.task, self.space.full_subspace())
            pop = min(s.population, src.search)
            rea(ev, src.search, seed=derive_seed(self.cfg.seed, 0), population=pop,
                tournament=min(s.tournament, pop), mutation_layers=s.mutations)
            archs = [e.arch for e in sorted(ev.history, key=lambda e: -e.val)[: src.top_k]]
        elif task_tools.is_tabular(self.cfg.space):
            archs = task_tools.source_archive(self.cfg.space, src.task, src.top_k)
        else:
            ev = self._evaluator(src.task, self.space.full_subspace(), key=f"source:{src.task}")
            rng = np.random.default_rng(derive_seed(self.cfg.seed, 0))
            n = max(src.sample, src.top_k)
            while ev.n_evals < n:
                ev.evaluate(self.space.sample(rng))
            archs = [e.arch for e in sorted(ev.history, key=lambda e: -e.val)[: src.top_k]]
        return [self.space.encode(a) for a in archs]

    # ------------------------------------------------------------- Algorithm 1
    async def _algorithm_1(self, send: Callable[[Any, str], Any]) -> tuple[Principles, dict]:
        cfg, space = self.cfg, self.space
        archive = self._source_archive()                                             # line 1
        evidence = ""
        if cfg.analyst.evidence:
            from lapt.tools.stats import principle_stats
            evidence = principle_stats(space, [space.decode(a) for a in archive]).to_text()
        self.reporter.status(f"analyst: learning principles from {len(archive)} "
                             f"{cfg.source.task} architectures")
        analysis: Analysis = await send(AnalyzeRequest(                             # line 2
            space=cfg.space, task=cfg.source.task, archive=tuple(archive), evidence=evidence,
            task_description=task_tools.task_description(cfg.space, cfg.source.task)),
            "analyst")
        P = analysis.principles
        if cfg.analyst.first_subspace and analysis.subspace is not None:
            for task in cfg.targets:  # every target starts in it (on Ray: trained at once)
                self._train_ahead(task, analysis.subspace)
        results: dict[str, TaskResult] = {}
        G, blocks = cfg.search.iterations, cfg.search.blocks()
        for t, task in enumerate(cfg.targets):                                     # each task n
            P_n, base, omega = P, None, space.full_subspace()
            memory = analysis.exchange  # the task's conversation, continued by every round
            self.reporter.task_started(task, cfg.search.budget)
            iterations: list[IterationRecord] = []
            found: dict[str, EvaluatedArch] = {}
            tr: Translation | None = None
            tr_of: Principles | None = None  # the principles tr translated
            for g in range(G):                                                      # line 3
                self.transcript.event("iteration", task=task, iteration=g + 1)
                origin = "translator"
                if g == 0 and cfg.analyst.first_subspace and analysis.subspace is not None:
                    tr = Translation(subspace=analysis.subspace, valid=True, repairs=0)
                    tr_of, origin = P_n, "analyst"  # the paper: the Analyst's per-layer list
                elif tr is None or tr_of != P_n:  # the same principles keep the same Ω
                    self.reporter.status(f"{task}: iteration {g + 1}/{G}: translator")
                    incumbent = best_of(found.values()) if found else None
                    # the best known: the target's best so far, else the source's top-k
                    best_known = [incumbent.arch] if incumbent is not None \
                        else archive[: cfg.translator.known_best_top]
                    tr = await send(TranslateRequest(                               # line 4
                        space=cfg.space, task=task, principles=P_n, fallback=omega,
                        hint=analysis.subspace if g == 0 else None, incumbent=incumbent,
                        keep_one_of=tuple(best_known) if cfg.translator.keep_known_best
                        else (),
                        memory=memory if cfg.translator.memory else ()), "translator")
                    tr_of = P_n
                    memory += tr.exchange
                else:
                    origin = "kept"
                    self.transcript.event("subspace_kept", task=task, iteration=g + 1,
                                          reason="the principles did not change")
                omega = tr.subspace
                self.reporter.status(f"{task}: iteration {g + 1}/{G}: searching "
                                     f"{omega.cardinality():,} cells")
                B: SearchResult = await send(SearchRequest(                        # line 5
                    task=task, subspace=omega, budget=blocks[g],
                    seed=derive_seed(cfg.seed, t)), "searcher")
                found.update((e.arch, e) for e in B.evaluated)
                best = B.best.val                                                   # line 6
                branch = None
                if cfg.adapter.enabled and g < G - 1:  # (the last P_n would go unused) line 7
                    self.reporter.status(f"{task}: iteration {g + 1}/{G}: adapter")
                    so_far = sorted(found.values(), key=lambda e: (-e.val, e.n))
                    ad = await send(AdaptRequest(
                        space=cfg.space, task=task, principles=P_n, found=tuple(so_far),
                        subspace=omega, base=base, best=best, top_r=cfg.search.top_r,
                        memory=memory if cfg.adapter.memory else ()), "adapter")
                    P_n, base, branch = ad.principles, ad.base, ad.branch
                    memory += ad.exchange
                iterations.append(IterationRecord(
                    iteration=g + 1, subspace_size=omega.cardinality(), subspace_from=origin,
                    subspace_valid=tr.valid, repairs=tr.repairs,
                    fallback_reason=tr.fallback_reason, best_val=best,
                    n_evals=B.n_evals_total, branch=branch, subspace=omega))
            left = cfg.search.left_for_whole_space(B.stop_reason, B.n_evals_total)
            if left:  # the last subspace is spent: its search goes on in the whole space
                self.transcript.event("subspace_exhausted", task=task, n_evals=B.n_evals_total,
                                      searching="the whole space", budget=left)
                B = await send(SearchRequest(task=task, subspace=space.full_subspace(),
                                             budget=left, seed=derive_seed(cfg.seed, t)),
                               "searcher")
                found.update((e.arch, e) for e in B.evaluated)
                iterations[-1] = iterations[-1].model_copy(
                    update={"widened_at": cfg.search.budget - left})
            results[task] = self._task_result(task, list(found.values()), iterations)  # line 9
        for task, final in self._finals.items():  # on Ray: trained while later targets ran
            results[task] = results[task].model_copy(update={"extra": final.result()})
        return P, results

    def _task_result(self, task: str, found: list, iterations: list) -> TaskResult:
        top = best_of(found)
        rank = None
        extra: dict[str, Any] = {}
        arch = self.space.decode(top.arch)
        if task_tools.is_tabular(self.cfg.space):
            rank = task_tools.benchmark(self.cfg.space).lookup(arch, task).rank
        else:
            from lapt.tools.supernet import train_final

            if self._on_ray():  # a Ray task; the next target goes on meanwhile
                self._finals[task] = self._background().submit(
                    train_final, arch, task, self.cfg.supernet, self.run.path, False)
            else:
                extra = train_final(arch, task, self.cfg.supernet, workdir=self.run.path)
        n_evals = sum(ev.n_evals for k, ev in self._evaluators.items()
                      if k == task or k.startswith(f"{task}/"))
        return TaskResult(task=task, arch=top.arch, val=top.val, test=top.test, rank=rank,
                          n_evals=n_evals, iterations=iterations, extra=extra)

    # ----------------------------------------------------------------- driver
    async def arun(self) -> RunResult:
        """Run (or resume / replay) the session; writes ``results.json`` at the end."""
        t0 = time.perf_counter()
        llms = self._build_llms()
        recorder = MessageRecorder(self.transcript)
        runtime = SingleThreadedAgentRuntime(intervention_handlers=[recorder])
        cfg = self.cfg
        caps = {"max_ops": cfg.translator.max_ops_per_layer,
                "max_sources": cfg.translator.max_sources_per_layer}

        sizes = self._answer_sizes()
        await Analyst.register(runtime, "analyst", lambda: Analyst(
            "learns design principles", llms["analyst"], cfg.analyst.max_repairs,
            size=sizes["analyst"], keep_best=cfg.translator.known_best_top
            if cfg.translator.keep_known_best else 0, **caps))
        await Translator.register(runtime, "translator", lambda: Translator(
            "turns principles into subspaces", llms["translator"], cfg.translator.max_repairs,
            size=sizes["translator"], **caps))
        await Adapter.register(runtime, "adapter", lambda: Adapter(
            "adapts principles to the target", llms["adapter"], cfg.adapter.max_repairs,
            size=sizes["adapter"]))
        await Searcher.register(runtime, "searcher", lambda: Searcher(
            cfg.space, cfg.search, self._evaluator, on_trial=self.reporter.evaluated))
        runtime.start()

        async def send(message: Any, agent: str) -> Any:
            return await runtime.send_message(message, AgentId(agent, "default"))

        self.transcript.event("session_start", run_id=self.run.id, replay_from=(
            str(self._replay_from.path) if self._replay_from is not None else None))
        self.run.note_start(resumed=self._resumed, replay_from=self._replay_from,
                            recorded_llm_calls=len(self._recorded))
        try:
            principles, results = await self._algorithm_1(send)
        finally:
            if self._pool is not None:  # after a failure: trainings not started are dropped
                self._pool.shutdown(wait=True, cancel_futures=True)
            await runtime.stop()
            for llm in llms.values():
                await llm.close()
        out = RunResult(run_id=self.run.id, run_dir=str(self.run.path), space=cfg.space,
                        source=cfg.source.task, principles=principles,
                        tasks=results, llm={a: LLMUsage(**u) for a, u in
                                            self.usage.summary().items()},
                        wall_s=time.perf_counter() - t0)
        self.transcript.event("session_end", results={t: r.arch for t, r in results.items()})
        self.run.write_results(out.to_json())
        self.transcript.close()
        return out


def run_session(config: SessionConfig, *, run: RunDir | None = None, resume: bool = False,
                replay_from: RunDir | None = None, reporter: Reporter | None = None,
                llms: dict[str, LLM] | None = None) -> RunResult:
    """Run LAPT for ``config`` and return the results (the run folder is in ``run_dir``).

    Example:
        >>> from lapt.agents import load_config, run_session
        >>> cfg = load_config("nb201")                    # the embedded default
        >>> result = run_session(cfg)                     # doctest: +SKIP
        >>> result.tasks["cifar10"].test                  # doctest: +SKIP
    """
    run = run or RunDir.create(config)
    session = Session(config, run, resume=resume, replay_from=replay_from, reporter=reporter,
                      llms=llms)
    return asyncio.run(session.arun())
