"""Metrics as the paper counts them: evals-to-top-q, rank, regret, best-so-far, eEDF.

Every metric in the tables is oriented so that higher is better. Evaluation counts are
the unique evaluations a search spent (cache hits are free). Definitions:

- *best-so-far* after k evaluations: the test metric of the cell with the best
  validation metric among those seen by then (first found wins ties).
- *evals-to-top-q*: the first k at which that cell is in the top q of the whole space:
  ``by="test"`` (default) means its test rank <= ceil(q * N) (ranks share ties, 1 = best);
  ``by="val"`` means its validation metric >= the ceil(q * N)-th best validation metric,
  which is how the LAPT code counts it. Never reached: the budget (or the number of
  evaluations) is returned with ``reached=False``.
- *regret*: best test metric in the space minus the cell's test metric.
- *eEDF* (Appendix III): F(e) = share of cells whose error is <= e, where the error of a
  task comes from :func:`error_of`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from lapt.spaces import Arch, SpaceError, Subspace

from ._search_base import SearchResult

if TYPE_CHECKING:
    from lapt.spaces import TabularBenchmark


class _Scored(Protocol):
    @property
    def arch(self) -> Arch: ...
    @property
    def val(self) -> float: ...
    @property
    def test(self) -> float: ...


Records = SearchResult | Sequence[_Scored]
"""A search result, or evaluations in order (each one counts as one evaluation)."""


def _steps(records: Records) -> list[tuple[int, _Scored]]:
    """(evaluation count at which the record was seen, record), in order."""
    if isinstance(records, SearchResult):
        return [(max(t.n_evals, 1), t) for t in records.trials]
    return [(k, r) for k, r in enumerate(records, start=1)]


def best_so_far(records: Records) -> np.ndarray:
    """Test metric of the validation-picked cell after each evaluation (index k-1 = k evals).

    Example:
        >>> from lapt.spaces import nb201
        >>> from lapt.tools.evaluate import TabularEvaluator
        >>> ev = TabularEvaluator(nb201.benchmark(), "cifar10")
        >>> _ = [ev.evaluate(ev.space.from_index(i)) for i in (0, 15624, 7000)]
        >>> best_so_far(ev.history).shape
        (3,)
    """
    return np.array([r.test for r in _picked(records)], dtype=float)


def _picked(records: Records) -> list[_Scored]:
    """The validation-best record after each evaluation count."""
    steps = _steps(records)
    n = steps[-1][0] if steps else 0
    out: list[_Scored] = []
    best: _Scored | None = None
    i = 0
    for k in range(1, n + 1):
        while i < len(steps) and steps[i][0] <= k:
            if best is None or steps[i][1].val > best.val:
                best = steps[i][1]
            i += 1
        assert best is not None
        out.append(best)
    return out


@dataclass(frozen=True)
class TopQ:
    """The outcome of :func:`evals_to_top_q`."""

    evals: int
    """Evaluations until the picked cell entered the top q (the cap when not reached)."""
    reached: bool
    q: float
    threshold_rank: int
    """ceil(q * N): the worst rank that counts as top q."""


def top_q_cut(benchmark: TabularBenchmark, task: str, q: float = 0.001) -> tuple[int, float]:
    """The top ``q`` of ``task``: ceil(q * N), the worst test rank in it, and the
    validation metric of the ceil(q * N)-th best cell by validation."""
    if not 0 < q <= 1:
        raise ValueError(f"q is a share of the space in (0, 1], got {q}")
    k_top = math.ceil(q * len(benchmark.val(task)))
    return k_top, float(np.sort(benchmark.val(task))[::-1][k_top - 1])


def evals_to_top_q(records: Records, benchmark: TabularBenchmark, task: str, q: float = 0.001,
                   *, budget: int | None = None, by: Literal["test", "val"] = "test") -> TopQ:
    """Evaluations until the validation-picked cell is in the top ``q`` of the whole space.

    Example:
        >>> from lapt.spaces import nb201
        >>> from lapt.tools.evaluate import TabularEvaluator
        >>> bench = nb201.benchmark()
        >>> ev = TabularEvaluator(bench, "cifar10")
        >>> for a in [ev.space.from_index(0)] + bench.top("cifar10", 1, by="test"):
        ...     _ = ev.evaluate(a)
        >>> evals_to_top_q(ev.history, bench, "cifar10")
        TopQ(evals=2, reached=True, q=0.001, threshold_rank=16)
    """
    k_top, threshold = top_q_cut(benchmark, task, q)
    if by not in ("test", "val"):
        raise ValueError(f"by={by!r}: valid: test, val")
    if budget is not None and budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    space = benchmark.space
    ranks = benchmark.ranks(task)
    picked = _picked(records)
    cap = len(picked) if budget is None else budget
    for k, rec in enumerate(picked[:cap], start=1):
        ok = (ranks[space.index(rec.arch)] <= k_top if by == "test"
              else rec.val >= threshold)
        if ok:
            return TopQ(k, True, q, k_top)
    return TopQ(cap, False, q, k_top)


def rank(benchmark: TabularBenchmark, task: str, arch: Arch) -> int:
    """Position of ``arch`` in the whole space by test metric on ``task`` (1 = best)."""
    return benchmark.lookup(arch, task).rank


def regret(benchmark: TabularBenchmark, task: str, arch: Arch) -> float:
    """Best test metric in the space minus the test metric of ``arch`` (>= 0)."""
    return float(benchmark.test(task).max() - benchmark.lookup(arch, task).test)


_ERRORS = {
    "(%)": ("100 - metric", lambda v: 100.0 - v),
    "SSIM": ("1 - SSIM", lambda v: 1.0 - v),
    "negated L2 loss": ("L2 loss = -metric", lambda v: -v),
}


def error_of(benchmark: TabularBenchmark, task: str, values: np.ndarray) -> np.ndarray:
    """The task's error (lower is better) from its metric, e.g. 100 - accuracy (%).

    The transform per metric: accuracy in percent -> 100 - acc; SSIM -> 1 - SSIM; a
    negated L2 loss -> the loss. See :func:`error_name`.
    """
    return _ERRORS[_error_key(benchmark, task)][1](np.asarray(values, dtype=float))


def error_name(benchmark: TabularBenchmark, task: str) -> str:
    """How :func:`error_of` turns the task's metric into an error, in words."""
    return _ERRORS[_error_key(benchmark, task)][0]


def _error_key(benchmark: TabularBenchmark, task: str) -> str:
    metric = benchmark.task(task).metric
    for key in _ERRORS:
        if key in metric:
            return key
    raise SpaceError(f"no error transform for metric {metric!r} of task {task!r}; known: "
                     f"{', '.join(f'{k} ({v[0]})' for k, v in _ERRORS.items())}")


@dataclass(frozen=True)
class EEDF:
    """Empirical distribution of errors: ``F(e)`` = share of the cells with error <= e."""

    errors: np.ndarray
    """The cells' errors, sorted ascending."""
    transform: str

    def __call__(self, e: float | np.ndarray) -> float | np.ndarray:
        out = np.searchsorted(self.errors, e, side="right") / len(self.errors)
        return float(out) if np.ndim(out) == 0 else out

    def __len__(self) -> int:
        return len(self.errors)


def eedf(benchmark: TabularBenchmark, task: str,
         cells: Subspace | Iterable[Arch] | None = None, *,
         split: Literal["test", "val"] = "test") -> EEDF:
    """The eEDF of a set of cells (``None`` = the whole space, or a subspace, or archs).

    Example:
        >>> from lapt.spaces import nb201
        >>> f = eedf(nb201.benchmark(), "cifar10")
        >>> len(f), f(100.0)
        (15625, 1.0)
    """
    if split not in ("test", "val"):
        raise ValueError(f"split={split!r}: valid: test, val")
    values = benchmark.test(task) if split == "test" else benchmark.val(task)
    space = benchmark.space
    if cells is not None:
        archs = space.enumerate(cells) if isinstance(cells, Subspace) else cells
        values = values[[space.index(space.check(a)) for a in archs]]
    if len(values) == 0:
        raise ValueError("eedf of an empty set of cells")
    return EEDF(np.sort(error_of(benchmark, task, values)), error_name(benchmark, task))
