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
from typing import TYPE_CHECKING, Protocol, TypeVar

from lapt.spaces import Arch, SearchSpace

if TYPE_CHECKING:
    from lapt.spaces import TabularBenchmark


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


class _Scored(Protocol):
    @property
    def val(self) -> float: ...
    @property
    def n(self) -> int: ...


_S = TypeVar("_S", bound=_Scored)


def best_of(pool: Iterable[_S]) -> _S:
    """The best by validation metric; the first found (lowest ``n``) wins ties."""
    items = list(pool)
    if not items:
        raise ValueError("no architecture has been evaluated yet")
    return max(items, key=lambda e: (e.val, -e.n))


class Evaluator(abc.ABC):
    """Cache, counter and history around a measurement function (``_measure``)."""

    def __init__(self, space: SearchSpace, task: str,
                 on_evaluation: Callable[[Evaluation], None] | None = None) -> None:
        self.space = space
        self.task = task
        self.history: list[Evaluation] = []
        self._cache: dict[Arch, Evaluation] = {}
        self._preloaded: dict[Arch, Evaluation] = {}
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
        old = self._preloaded.pop(arch, None)
        if old is not None:
            ev = Evaluation(arch, self.task, old.val, old.test, len(self.history) + 1,
                            old.cost_s)
            self._record(ev)
            return ev
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
        """Offer earlier measurements (a resumed or replayed run) without counting them.

        A preloaded cell is counted, in the order the search asks for it again, but never
        measured twice: ``evaluate`` takes its recorded numbers instead of ``_measure``.
        """
        for ev in records:
            if ev.task == self.task:
                self._preloaded.setdefault(ev.arch, ev)

    def _record(self, ev: Evaluation) -> None:
        self._cache[ev.arch] = ev
        self.history.append(ev)

    def best(self, among: Iterable[Evaluation] | None = None) -> Evaluation:
        """The best evaluation by validation metric (first found wins ties)."""
        return best_of(self.history if among is None else among)


class TabularEvaluator(Evaluator):
    """Table lookup on a :class:`~lapt.spaces.TabularBenchmark`: val searched, test reported.

    Example:
        >>> from lapt.spaces import nb201
        >>> bench = nb201.benchmark()
        >>> ev = TabularEvaluator(bench, "cifar10")
        >>> e = ev.evaluate(bench.top("cifar10", 1)[0])  # the best cell by validation
        >>> round(e.val, 3), round(e.test, 3), ev.n_evals
        (91.607, 94.373, 1)
    """

    def __init__(self, benchmark: TabularBenchmark, task: str,
                 on_evaluation: Callable[[Evaluation], None] | None = None) -> None:
        info = benchmark.task(task)  # raises naming the valid tasks
        super().__init__(benchmark.space, info.name, on_evaluation)
        self.benchmark = benchmark
        self.metric_name = info.metric
        # plain lists of floats: indexing them is several times faster than numpy scalars
        self._val: list[float] = benchmark.val(info.name).tolist()
        self._test: list[float] = benchmark.test(info.name).tolist()
        # per layer: op name -> id, so a lookup is one pass over the layers
        self._op_ids = [{op: j for j, op in enumerate(layer.ops)} for layer in self.space.layers]
        self._radix = [len(layer.ops) for layer in self.space.layers]

    def _measure(self, arch: Arch) -> tuple[float, float]:
        idx = 0
        for ids, radix, op in zip(self._op_ids, self._radix, arch.ops):
            idx = idx * radix + ids[op]
        return self._val[idx], self._test[idx]
