"""Search strategies restricted to a subspace, with a budget in unique evaluations.

Three strategies (:class:`REA`, :class:`RandomSearch`, :class:`LocalSearch`) share one
ask/tell interface; :func:`run_search` drives any of them against an evaluator, and
:func:`rea`, :func:`random_search`, :func:`local_search` and :func:`search` do it in
one call. Every strategy draws from its own seeded ``numpy`` generator and never
proposes a cell outside its subspace.

Budget: the number of *new unique* evaluations the evaluator counts during this search.
Cache hits (repeats, or cells evaluated before) are free, so a search also stops when
every cell of the subspace has been evaluated (``"exhausted"``) or after
``max_repeats`` consecutive cache hits (``"repeats"``). A subspace whose every cell
was evaluated before the search starts yields those cached cells as its trials (all
``new=False``) and ``n_evals == 0``.
"""

from __future__ import annotations

from typing import Any

from lapt.spaces import Subspace

from ._search_base import SearchError, SearchResult, StopReason, Strategy, Trial
from ._strategies import REA, LocalSearch, RandomSearch
from .evaluate import Evaluator


def derive_seed(*parts: int) -> int:
    """A 32-bit seed from integers (a run seed, a task number ...), the same everywhere:
    a LAPT session's search on target task ``t`` of seed ``s`` and a bench baseline's
    both use ``derive_seed(s, t)``, so with the whole space as subspace they are one REA.

    Example:
        >>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(1, 0)
        True
    """
    import numpy as np

    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


STRATEGIES: dict[str, type[Strategy]] = {"rea": REA, "random": RandomSearch,
                                         "local": LocalSearch}
"""Strategy classes by name."""


def run_search(strategy: Strategy, evaluator: Evaluator, budget: int | None = None, *,
               max_repeats: int = 1_000) -> SearchResult:
    """Drive ``strategy`` against ``evaluator`` until a stop condition holds.

    Args:
        strategy: a fresh strategy (ask/tell); its space must be the evaluator's.
        evaluator: the evaluator (its cache and counter may be shared between searches).
        budget: new unique evaluations this search may spend (>= 1); ``None`` only for a
            strategy that ends by itself (REA with ``generations``).

    A strategy that has run before goes on where it stopped (its state kept), so one
    search can be driven in blocks, with :meth:`Strategy.restrict` between them.
        max_repeats: stop after this many consecutive cache hits.

    Returns:
        The :class:`SearchResult`: every trial in order, the best by validation, its test
        metric and why the search stopped.

    Example:
        >>> from lapt.spaces import nb201
        >>> from lapt.tools.evaluate import TabularEvaluator
        >>> ev = TabularEvaluator(nb201.benchmark(), "cifar10")
        >>> r = run_search(RandomSearch(ev.space, seed=0), ev, budget=20)
        >>> r.n_evals, r.stop_reason
        (20, 'budget')
    """
    if strategy.space.name != evaluator.space.name:
        raise SearchError(f"the strategy searches {strategy.space.name!r} but the evaluator "
                          f"measures {evaluator.space.name!r}")
    if strategy.finished:
        raise SearchError(f"{strategy.name}: this strategy has finished; make a new one")
    if budget is None:
        if not (isinstance(strategy, REA) and strategy.generations is not None):
            raise SearchError(f"{strategy.name}: give a budget (>= 1 evaluations); only REA "
                              "with generations may run without one")
    elif isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise SearchError(f"budget must be an integer >= 1 (unique evaluations), got {budget!r}")
    elif isinstance(strategy, REA) and not strategy.started and strategy.population > budget:
        raise SearchError(f"rea: population ({strategy.population}) exceeds the budget "
                          f"({budget}); lower the population or raise the budget")
    if max_repeats < 1:
        raise SearchError(f"max_repeats must be >= 1, got {max_repeats}")

    strategy.begin_block()
    cells = strategy.cells
    covered = sum(1 for e in evaluator.history if cells.contains(e.arch))
    start = evaluator.n_evals
    trials: list[Trial] = []
    best: Trial | None = None
    repeats = 0
    reason: StopReason
    while True:
        spent = evaluator.n_evals - start
        if budget is not None and spent >= budget:
            reason = "budget"
            break
        if covered >= cells.cardinality:
            reason = "exhausted"
            break
        if repeats >= max_repeats:
            reason = "repeats"
            break
        arch = strategy.ask()
        if arch is None:
            reason = "generations" if not strategy.finished else "exhausted"
            break
        ev = evaluator.evaluate(arch)
        new = evaluator.n_evals - start > spent
        covered += new
        repeats = 0 if new else repeats + 1
        trial = Trial(len(trials), arch, ev.val, ev.test, new, evaluator.n_evals - start)
        trials.append(trial)
        if best is None or trial.val > best.val:
            best = trial
        strategy.tell(ev)
    if not trials:  # the subspace was exhausted before: its cached cells are the answer
        for e in evaluator.history:
            if cells.contains(e.arch):
                trials.append(Trial(len(trials), e.arch, e.val, e.test, False, 0))
                if best is None or e.val > best.val:
                    best = trials[-1]
    assert best is not None
    return SearchResult(strategy.name, strategy.space.name, evaluator.task, tuple(trials), best,
                        evaluator.n_evals - start, reason, strategy.seed, strategy.params())


def search(strategy: str, evaluator: Evaluator, budget: int | None = None,
           subspace: Subspace | None = None, seed: int | None = None, *,
           max_repeats: int = 1_000, **params: Any) -> SearchResult:
    """Run the strategy called ``strategy`` (``"rea"``, ``"random"``, ``"local"``) in one call.

    Example:
        >>> from lapt.spaces import trans101
        >>> from lapt.tools.evaluate import TabularEvaluator
        >>> ev = TabularEvaluator(trans101.benchmark(), "class_scene")
        >>> search("local", ev, budget=30, seed=1).n_evals
        30
    """
    if strategy not in STRATEGIES:
        raise SearchError(f"unknown search strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    made = STRATEGIES[strategy](evaluator.space, subspace, seed, **params)
    return run_search(made, evaluator, budget, max_repeats=max_repeats)


def rea(evaluator: Evaluator, budget: int | None = None, subspace: Subspace | None = None,
        seed: int | None = None, *, max_repeats: int = 1_000, **knobs: Any) -> SearchResult:
    """Regularized evolution in one call; ``knobs`` are :class:`REA`'s keyword arguments.

    Example:
        >>> from lapt.spaces import nb201
        >>> from lapt.tools.evaluate import TabularEvaluator
        >>> ev = TabularEvaluator(nb201.benchmark(), "cifar10")
        >>> r = rea(ev, budget=100, seed=0, population=5, tournament=2)
        >>> r.n_evals, r.best_test > 85
        (100, True)
    """
    return search("rea", evaluator, budget, subspace, seed, max_repeats=max_repeats, **knobs)


def random_search(evaluator: Evaluator, budget: int, subspace: Subspace | None = None,
                  seed: int | None = None, *, max_repeats: int = 1_000) -> SearchResult:
    """Uniform random search without replacement in one call."""
    return search("random", evaluator, budget, subspace, seed, max_repeats=max_repeats)


def local_search(evaluator: Evaluator, budget: int, subspace: Subspace | None = None,
                 seed: int | None = None, *, max_repeats: int = 1_000) -> SearchResult:
    """Best-improvement local search with random restarts in one call."""
    return search("local", evaluator, budget, subspace, seed, max_repeats=max_repeats)


__all__ = ["REA", "STRATEGIES", "derive_seed", "LocalSearch", "RandomSearch", "SearchError", "SearchResult",
           "StopReason", "Strategy", "Trial", "local_search", "random_search", "rea",
           "run_search", "search"]
