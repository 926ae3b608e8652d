"""The evaluator that measures a cell of a space on a task, as the space declares it.

A tabular space (``evaluation == "table"``) looks cells up in its benchmark table; a
supernet space (DARTS) trains a weight-sharing supernet (see :mod:`lapt.tools.supernet`).
Which tasks a space has, and what they mean, the space itself says (``tasks()``,
``task_description()``); nothing here names a space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lapt.spaces import Arch, SearchSpace, SpaceError, TabularBenchmark, get_space

from .evaluate import Evaluation, Evaluator
from .supernet_settings import SupernetSettings


def _space(space: str | SearchSpace) -> SearchSpace:
    return get_space(space) if isinstance(space, str) else space


def benchmark(space: str | SearchSpace) -> TabularBenchmark:
    """The table of a tabular space; raises for spaces without one."""
    return _space(space).benchmark()


def is_tabular(space: str | SearchSpace) -> bool:
    """Whether cells of ``space`` are looked up in a table (else: a supernet)."""
    return _space(space).evaluation == "table"


def task_names(space: str | SearchSpace) -> list[str]:
    """The tasks a space can be evaluated on."""
    return list(_space(space).tasks())


def task_description(space: str | SearchSpace, task: str) -> str:
    """One line on what the task is and which metric scores it."""
    return _space(space).task_description(task)


def make_evaluator(space: str, task: str, settings: SupernetSettings | None = None,
                   on_evaluation: Callable[[Evaluation], None] | None = None,
                   workdir: Any = None, subspace: Any = None) -> Evaluator:
    """The evaluator of ``task`` in ``space`` (tabular lookup, or a DARTS supernet).

    Args:
        settings: supernet only: a ``SupernetSettings`` (width, epochs, data root, ...).
        workdir: supernet only: where supernet checkpoints go.
        subspace: supernet only: the subspace the supernet is built over (None = full space).
    """
    s = _space(space)
    if s.evaluation == "table":
        from .evaluate import TabularEvaluator

        return TabularEvaluator(s.benchmark(), task, on_evaluation=on_evaluation)
    if s.evaluation != "supernet":
        raise SpaceError(f"space {s.name!r}: unknown evaluation {s.evaluation!r}; valid: "
                         "table, supernet")
    from .supernet import make_supernet_evaluator  # torch is imported only for supernets

    return make_supernet_evaluator(task, settings, subspace=subspace, workdir=workdir,
                                   on_evaluation=on_evaluation)


def source_archive(space: str, task: str, k: int) -> list[Arch]:
    """Top-k cells of a solved tabular source task by validation metric (free: not counted)."""
    return benchmark(space).top(task, k, by="val")
