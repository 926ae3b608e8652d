"""Frozen search records and the ask/tell base every strategy extends.

A strategy is a generator that yields the next architecture to evaluate and receives
its :class:`~lapt.tools.evaluate.Evaluation` back; :class:`Strategy` wraps it as
``ask()`` / ``tell()`` (optuna style). Strategies see only frozen records.
"""

from __future__ import annotations

import abc
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lapt.spaces import Arch, SearchSpace, Subspace

from ._cells import CellSampler
from .evaluate import Evaluation

StopReason = Literal["budget", "exhausted", "repeats", "generations"]
"""Why a search stopped: its evaluation budget is spent; every cell of the subspace has
been evaluated; too many consecutive asks hit the cache; the strategy ran its own course
(REA's ``generations``)."""

Proposals = Generator[Arch | None, Evaluation | None, None]


class SearchError(ValueError):
    """Bad search settings: names the problem and the valid range."""


@dataclass(frozen=True)
class Trial:
    """One architecture a search asked for, and what the evaluator answered."""

    number: int
    """0-based position in this search."""
    arch: Arch
    val: float
    """Validation metric (searched on, higher is better)."""
    test: float
    """Test metric (reported only)."""
    new: bool
    """True when this trial spent a unique evaluation; False for a cache hit (free)."""
    n_evals: int
    """Unique evaluations this search has spent, this trial included."""


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one search.

    ``trials`` holds every architecture the search asked for, in order, cache hits
    included (``new=False``: free repeats, or cells evaluated before this search); the
    evaluator keeps the global history. ``best`` is the best trial by validation metric
    (the first one found wins ties).
    """

    strategy: str
    space: str
    task: str
    trials: tuple[Trial, ...]
    best: Trial
    n_evals: int
    """Unique evaluations spent by this search."""
    stop_reason: StopReason
    seed: int | None
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    """The strategy's settings."""

    @property
    def best_arch(self) -> Arch:
        return self.best.arch

    @property
    def best_val(self) -> float:
        return self.best.val

    @property
    def best_test(self) -> float:
        """Test metric of the cell validation picked: the figure to report."""
        return self.best.test

    @property
    def evaluations(self) -> tuple[Trial, ...]:
        """The trials that spent an evaluation, in order."""
        return tuple(t for t in self.trials if t.new)


class Strategy(abc.ABC):
    """Ask/tell over a (sub)space. Subclasses implement :meth:`_propose` as a generator.

    A strategy keeps its state (REA's population, the cells it has drawn) for its whole
    life: :meth:`restrict` moves it to another subspace between two asks, and
    :func:`~lapt.tools.search.run_search` may drive it again for another block of
    evaluations. That is how LAPT adapts the subspace inside one continuing search.

    Args:
        space: the search space.
        subspace: restrict every proposal to it (``None`` = the whole space).
        seed: seed of the strategy's own ``numpy`` generator (never the global RNG).
    """

    name: str = "strategy"

    def __init__(self, space: SearchSpace, subspace: Subspace | None = None,
                 seed: int | None = None) -> None:
        self.space = space
        self.subspace = subspace
        self.seed = seed
        self.cells = CellSampler(space, subspace)
        self.rng = np.random.default_rng(seed)
        self._gen: Proposals | None = None
        self._told: Evaluation | None = None
        self._next: Arch | None = None
        self._pending = False
        self.finished = False

    @abc.abstractmethod
    def _propose(self) -> Proposals:
        """Yield architectures; each ``yield`` returns the evaluation of what it yielded.

        Read ``self.cells`` at each step (never keep a copy): :meth:`restrict` replaces it.
        Yield ``None`` to end a block (the next :meth:`ask` resumes after it).
        """

    def params(self) -> dict[str, Any]:
        """The strategy's settings (recorded in the result)."""
        return {}

    @property
    def started(self) -> bool:
        """Whether :meth:`ask` has been called."""
        return self._gen is not None

    def restrict(self, subspace: Subspace | None) -> None:
        """Propose from ``subspace`` from the next :meth:`ask` on; the state is kept.

        Cells already evaluated (REA's population, say) may lie outside the new subspace:
        they stay; what a strategy proposes from them is its own affair (REA projects its
        children into the new subspace).
        """
        if self._pending:
            raise SearchError(f"{self.name}: restrict() between ask() and tell()")
        self.cells = CellSampler(self.space, subspace)
        self.subspace = subspace

    def begin_block(self) -> None:
        """Called by ``run_search`` before each block of evaluations (a hook)."""

    def ask(self) -> Arch | None:
        """The next architecture to evaluate, or ``None`` at the end of a block or search."""
        if self._pending:
            raise SearchError(f"{self.name}: ask() called twice without tell()")
        if self.finished:
            return None
        if self._gen is None:
            self._gen = self._propose()
        told, self._told = self._told, None
        try:
            arch = next(self._gen) if told is None else self._gen.send(told)
        except StopIteration:
            self.finished = True
            return None
        if arch is None:
            return None
        self._next = arch
        self._pending = True
        return arch

    def tell(self, evaluation: Evaluation) -> None:
        """Report the evaluation of the architecture :meth:`ask` returned."""
        if not self._pending:
            raise SearchError(f"{self.name}: tell() without a pending ask()")
        if evaluation.arch != self._next:
            raise SearchError(f"{self.name}: tell() got another architecture than ask() gave")
        self._pending = False
        self._told = evaluation
