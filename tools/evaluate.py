"""Evaluators: measure an architecture on a task, counting unique cells (the paper's cost).

Every evaluator caches by architecture, counts each unique cell once, keeps the ordered
history, and can be seeded with earlier records (resume: nothing is evaluated twice).
Metrics are oriented so that higher is better everywhere; ``val`` is the search signal
and ``test`` the figure reported for the cell that validation picked.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lapt.spaces import Arch, SearchSpace


@dataclass(frozen=True)
class Evaluation:
    """One measured architecture."""

    arch: Arch
    task: str
    val: float
    """Validation metric: the search signal (higher is better)."""
    test: float
    """Test metric: reported, never searched on."""
    n: int
    """1-based position among the unique evaluations on this task."""
    cost_s: float = 0.0
    """Seconds the measurement took (0 for a table lookup)."""


class Evaluator(abc.ABC):
    """Cache, counter and history around a measurement function (``_measure``)."""

    def __init__(self, space: SearchSpace, task: str,
                 on_evaluation: Callable[[Evaluation], None] | None = None) -> None:
        self.space = space
        self.task = task
        self.history: list[Evaluation] = []
        self._cache: dict[Arch, Evaluation] = {}
        self.on_evaluation = on_evaluation

    @abc.abstractmethod
    def _measure(self, arch: Arch) -> tuple[float, float]:
        """Return ``(val, test)`` for a checked architecture."""

    metric_name: str = "accuracy"

    @property
    def n_evals(self) -> int:
        """Unique architectures evaluated on this task."""
        return len(self.history)

    def seen(self, arch: Arch) -> bool:
        return arch in self._cache

    def evaluate(self, arch: Arch) -> Evaluation:
        """Measure ``arch`` (once; a repeat returns the cached record and costs nothing)."""
        hit = self._cache.get(arch)
        if hit is not None:
            return hit
        self.space.check(arch)
        t0 = time.perf_counter()
        val, test = self._measure(arch)
        ev = Evaluation(arch, self.task, float(val), float(test), len(self.history) + 1,
                        time.perf_counter() - t0)
        self._record(ev)
        if self.on_evaluation is not None:
            self.on_evaluation(ev)
        return ev

    def preload(self, records: Iterable[Evaluation]) -> None:
        """Seed cache and history with earlier evaluations (resume); counts them as spent."""
        for ev in records:
            if ev.arch not in self._cache:
                self._record(ev)

    def _record(self, ev: Evaluation) -> None:
        self._cache[ev.arch] = ev
        self.history.append(ev)

    def best(self, among: Iterable[Evaluation] | None = None) -> Evaluation:
        """The best evaluation by validation metric (first found wins ties)."""
        pool = list(self.history if among is None else among)
        if not pool:
            raise ValueError("no architecture has been evaluated yet")
        return max(pool, key=lambda e: (e.val, -e.n))
