"""The Searcher: a tool-backed agent (no LLM) that runs the NAS method on a subspace."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autogen_core import MessageContext, RoutedAgent, message_handler

from lapt.spaces import Arch, SearchSpace, Subspace, get_space
from lapt.tools.evaluate import Evaluation, Evaluator
from lapt.tools.search import STRATEGIES, Strategy, Trial, run_search

from .config import SearchConfig
from .messages import EvaluatedArch, SearchRequest, SearchResult

EvaluatorFactory = Callable[[str, Subspace], Evaluator]
"""(task, subspace) -> the evaluator to search with (tabular: one per task)."""


def start_search(space: SearchSpace, settings: SearchConfig, subspace: Subspace, seed: int,
                 budget: int, initial: Sequence[Arch] = ()) -> Strategy:
    """A task's search as the session starts it: ``settings.method`` in ``subspace``, REA's
    population and tournament no larger than the first block's ``budget``."""
    s = settings
    knobs: dict[str, Any] = {}
    if s.method == "rea":
        knobs = dict(population=min(s.population, budget),
                     tournament=min(s.tournament, s.population, budget),
                     mutation_layers=s.mutations, crossover=s.crossover,
                     mutation=s.mutation_prob, generations=s.generations,
                     initial=list(initial))
    return STRATEGIES[s.method](space, subspace, seed, **knobs)


def search_sequence(space: SearchSpace, settings: SearchConfig, subspaces: Sequence[Subspace],
                    evaluator: Evaluator, seed: int) -> Evaluator:
    """A task's search as a session runs it, without the agents: one search started in
    ``subspaces[0]`` and moved to the next subspace before each block of
    ``settings.blocks()``; if the last one is spent early, the rest of the budget goes to
    the whole space (the session's rule). Returns ``evaluator``, which holds the history."""
    s, blocks = settings, settings.blocks()
    if len(subspaces) != len(blocks):
        raise ValueError(f"{len(subspaces)} subspaces for {len(blocks)} blocks {blocks}")
    strategy = start_search(space, s, subspaces[0], seed, blocks[0])
    for g, (n, sub) in enumerate(zip(blocks, subspaces)):
        if g:
            strategy.restrict(sub)
        result = run_search(strategy, evaluator, n)
    left = s.left_for_whole_space(result.stop_reason, evaluator.n_evals)
    if left:
        strategy.restrict(space.full_subspace())
        run_search(strategy, evaluator, left)
    return evaluator


class Searcher(RoutedAgent):
    """Algorithm 1, line 5: B_n = search(Ω_r) with REA (or random / local search).

    One search per task for the whole session, as in the paper's code: the first request
    starts it (seeded), each later one moves it to the new subspace
    (:meth:`~lapt.tools.search.Strategy.restrict`) and runs its next block of
    evaluations. REA's population and every evaluation carry over; nothing is evaluated
    twice.
    """

    def __init__(self, space: str, settings: SearchConfig, evaluator_for: EvaluatorFactory,
                 on_trial: Callable[[str, int], None] | None = None) -> None:
        super().__init__(f"runs {settings.method} on {space} subspaces")
        self.space = get_space(space)
        self.settings = settings
        self.evaluator_for = evaluator_for
        self.on_trial = on_trial
        self.strategies: dict[str, Strategy] = {}

    def _initial(self, message: SearchRequest) -> list[Arch]:
        """Seed cells that lie in the subspace, at most a population of them."""
        cells = [self.space.decode(a) for a in message.initial]
        inside = [a for a in cells if self.space.contains(a, message.subspace)]
        return inside[: min(self.settings.population, message.budget)]

    def _strategy(self, message: SearchRequest) -> Strategy:
        """The task's search: started by its first request, restricted by later ones."""
        s = self.settings
        strategy = self.strategies.get(message.task)
        if strategy is not None:
            strategy.restrict(message.subspace)
            return strategy
        strategy = start_search(self.space, s, message.subspace, message.seed,
                                message.budget, self._initial(message))
        self.strategies[message.task] = strategy
        return strategy

    @message_handler
    async def on_search(self, message: SearchRequest, ctx: MessageContext) -> SearchResult:
        s = self.settings
        evaluator = self.evaluator_for(message.task, message.subspace)
        continued = message.task in self.strategies
        strategy = self._strategy(message)
        hook = evaluator.on_evaluation
        if self.on_trial is not None:
            def counted(ev: Evaluation) -> None:
                if hook is not None:
                    hook(ev)
                self.on_trial(message.task, evaluator.n_evals)  # type: ignore[misc]
            evaluator.on_evaluation = counted
        try:
            budget = None if (s.method == "rea" and s.generations) else message.budget
            result = run_search(strategy, evaluator, budget)
        finally:
            evaluator.on_evaluation = hook
        seen: dict[Arch, Trial] = {}
        # B_n: this block's new evaluations (its cache hits only when it found nothing new)
        for t in [t for t in result.trials if t.new] or result.trials:
            seen.setdefault(t.arch, t)
        found = sorted(seen.values(), key=lambda t: -t.val)
        enc = self.space.encode

        def msg(t: Trial) -> EvaluatedArch:
            n = evaluator.evaluate(t.arch).n  # a cache hit: the global evaluation number
            return EvaluatedArch(arch=enc(t.arch), val=t.val, test=t.test, n=n)

        return SearchResult(task=message.task, evaluated=tuple(msg(t) for t in found),
                            best=msg(found[0]), n_evals_total=evaluator.n_evals,
                            stop_reason=result.stop_reason, continued=continued)
