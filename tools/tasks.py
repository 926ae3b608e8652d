"""Tasks per space, and the evaluator that measures a cell on each.

Tabular spaces (NB201, Trans101) look cells up in the vendored tables; DARTS trains a
weight-sharing supernet (see :mod:`lapt.tools.supernet`). This is the one place that
maps a (space, task) pair to its evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lapt.spaces import Arch, SearchSpace, SpaceError, TabularBenchmark, get_space

from .evaluate import Evaluation, Evaluator
from .supernet_settings import SupernetSettings

DARTS_TASKS = {
    "digits": "8x8 handwritten digits (scikit-learn), 10 classes: the embedded CPU-sized task",
    "cifar10": "CIFAR-10 image classification, 10 classes, 32x32",
    "cifar100": "CIFAR-100 image classification, 100 classes, 32x32",
}


def benchmark(space: str | SearchSpace) -> TabularBenchmark:
    """The vendored table of a tabular space; raises for spaces without one."""
    name = space if isinstance(space, str) else space.name
    if name == "nb201":
        from lapt.spaces.nb201 import benchmark as b
    elif name == "trans101":
        from lapt.spaces.trans101 import benchmark as b
    else:
        raise SpaceError(f"space {name!r} has no benchmark table; tabular spaces: nb201, trans101")
    return b()


def is_tabular(space: str) -> bool:
    return space in ("nb201", "trans101")


def task_names(space: str) -> list[str]:
    """The tasks a space can be evaluated on."""
    get_space(space)
    return list(DARTS_TASKS) if space == "darts" else list(benchmark(space).tasks)


def task_description(space: str, task: str) -> str:
    """One line on what the task is and which metric scores it."""
    if space == "darts":
        if task not in DARTS_TASKS:
            raise SpaceError(f"unknown task {task!r} for darts; valid: {', '.join(DARTS_TASKS)}")
        return f"{DARTS_TASKS[task]}; metric: accuracy (%) of a cell with inherited weights"
    info = benchmark(space).task(task)
    return f"{info.description}; metric: {info.metric}, higher is better"


def make_evaluator(space: str, task: str, settings: SupernetSettings | None = None,
                   on_evaluation: Callable[[Evaluation], None] | None = None,
                   workdir: Any = None, subspace: Any = None) -> Evaluator:
    """The evaluator of ``task`` in ``space`` (tabular lookup, or a DARTS supernet).

    Args:
        settings: DARTS only: a ``SupernetSettings`` (width, epochs, data root, ...).
        workdir: DARTS only: where supernet checkpoints go.
        subspace: DARTS only: the subspace the supernet is built over (None = full space).
    """
    if is_tabular(space):
        from .evaluate import TabularEvaluator

        return TabularEvaluator(benchmark(space), task, on_evaluation=on_evaluation)
    from .supernet import make_supernet_evaluator  # torch is imported only for DARTS

    return make_supernet_evaluator(task, settings, subspace=subspace, workdir=workdir,
                                   on_evaluation=on_evaluation)


def source_archive(space: str, task: str, k: int) -> list[Arch]:
    """Top-k cells of a solved tabular source task by validation metric (free: not counted)."""
    return benchmark(space).top(task, k, by="val")
