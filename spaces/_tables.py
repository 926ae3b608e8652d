"""Vendored benchmark tables: every cell of a space measured on every task.

Tables are numpy arrays indexed by the space's canonical cell index, loaded lazily from
the compressed copies in ``lapt/spaces/data`` (provenance: ``data/PROVENANCE.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import numpy as np

from ._base import Arch, SearchSpace, SpaceError, TaskInfo


@dataclass(frozen=True)
class Record:
    """A looked-up cell: its validation metric (searched on) and test metric (reported)."""

    val: float
    test: float
    rank: int
    """Position of the cell by test metric in the whole space (1 = best)."""


@dataclass(eq=False)
class TabularBenchmark:
    """All cells of ``space`` on every task, with lookups and ranks.

    Attributes:
        space: the search space (fixed sources: cells are indexed canonically).
        tasks: task name -> :class:`TaskInfo`.
        source: which packaged ``.npz`` holds the numbers.
    """

    space: SearchSpace
    tasks: dict[str, TaskInfo]
    source: str
    citation: str = ""
    arrays: dict[str, np.ndarray] | None = None
    """The numbers themselves (``val``, optional ``test``: tasks x cells), for a table not
    packaged in ``lapt/spaces/data`` (a :class:`~lapt.spaces.table.TableSpace`'s CSV)."""

    @cached_property
    def _data(self) -> dict[str, np.ndarray]:
        if self.arrays is not None:
            return self.arrays
        with resources.files("lapt.spaces").joinpath("data", self.source).open("rb") as fh:
            with np.load(fh) as z:
                return {k: z[k] for k in z.files}

    def task(self, name: str) -> TaskInfo:
        """The task called ``name`` (case-insensitive); raises naming the valid ones."""
        if name not in self.tasks:
            for key in self.tasks:
                if key.lower() == str(name).lower():
                    return self.tasks[key]
            raise SpaceError(f"unknown task {name!r} for {self.space.name}; "
                             f"valid: {', '.join(self.tasks)}")
        return self.tasks[name]

    def _row(self, key: str, task: str) -> np.ndarray:
        task = self.task(task).name
        data = self._data
        if key not in data:  # tables that publish one metric use it for both roles
            key = "val"
        return data[key][list(self.tasks).index(task)]

    def val(self, task: str) -> np.ndarray:
        """Validation metric of every cell (canonical order): the search signal."""
        return self._row("val", task)

    def test(self, task: str) -> np.ndarray:
        """Test metric of every cell (canonical order): the figure reported."""
        return self._row("test", task)

    @cached_property
    def _ranks(self) -> dict[str, np.ndarray]:
        out = {}
        for k, task in enumerate(self.tasks):
            if "rank" in self._data:  # the published ranks (ties broken by the source)
                out[task] = self._data["rank"][k].astype(np.int64)
                continue
            t = self.test(task)
            order = np.sort(t)[::-1]
            # competition rank: 1 + number of cells strictly better
            out[task] = (np.searchsorted(-order, -t, side="left") + 1).astype(np.int64)
        return out

    def ranks(self, task: str) -> np.ndarray:
        """Rank of every cell by test metric (1 = best).

        Tables that publish ranks (NB201) give theirs; otherwise ties share the best rank.
        """
        return self._ranks[self.task(task).name]

    def lookup(self, arch: Arch, task: str) -> Record:
        """The recorded numbers of ``arch`` on ``task``."""
        i = self.space.index(self.space.check(arch))
        return Record(float(self.val(task)[i]), float(self.test(task)[i]),
                      int(self.ranks(task)[i]))

    def top(self, task: str, k: int, by: str = "val") -> list[Arch]:
        """The ``k`` best cells on ``task`` by ``val`` or ``test`` (stable order on ties)."""
        if by not in ("val", "test"):
            raise SpaceError(f"top(by={by!r}): valid: val, test")
        values = self.val(task) if by == "val" else self.test(task)
        idx = np.argsort(-values, kind="stable")[:k]
        return [self.space.from_index(int(i)) for i in idx]
