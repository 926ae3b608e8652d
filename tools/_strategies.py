"""Search strategies: regularized evolution (REA), random search, local search."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from lapt.spaces import Arch, SearchSpace, Subspace

from ._search_base import Proposals, SearchError, Strategy
from .evaluate import Evaluation


def _told(evaluation: Evaluation | None) -> Evaluation:
    """What ``tell`` sent back for a yielded architecture (never None there)."""
    assert evaluation is not None
    return evaluation


class REA(Strategy):
    """Regularized evolution (Real et al., AAAI 2019) inside a (sub)space.

    A population of ``population`` cells (the given ``initial`` ones first, then uniform
    samples) evolves by aging: each step runs a tournament of ``tournament`` distinct
    members, the best by validation wins, and its child (the winner with ``mutation_layers``
    layers changed) joins the population while the oldest member leaves. With
    ``crossover > 0``, a step crosses two tournament winners with that probability
    (uniform per layer; children that break a constraint are re-drawn) and then mutates
    the child with probability ``mutation``. ``generations`` ends each block of the search
    (each ``run_search`` call) after ``generations * population`` children (DARTS'
    setting); otherwise the budget ends it. The population lives as long as the strategy:
    after :meth:`restrict`, a child of an old member keeps the choices the new subspace
    still allows and draws the others from it, so every child lies in the subspace.

    Paper settings: NB201 population 5, tournament 2, one layer; Trans101 population 10,
    tournament 5; DARTS population 20, tournament 2, 10 generations, crossover 0.5,
    mutation 0.5.

    Example:
        >>> from lapt.spaces import get_space
        >>> rea = REA(get_space("nb201"), population=5, tournament=2, seed=0)
        >>> rea.ask() is not None
        True
    """

    name = "rea"

    def __init__(self, space: SearchSpace, subspace: Subspace | None = None,
                 seed: int | None = None, *, population: int = 10, tournament: int = 2,
                 mutation_layers: int = 1, crossover: float = 0.0, mutation: float = 1.0,
                 generations: int | None = None, initial: Sequence[Arch] = ()) -> None:
        super().__init__(space, subspace, seed)
        if population < 1:
            raise SearchError(f"rea: population must be >= 1, got {population}")
        if not 1 <= tournament <= population:
            raise SearchError(f"rea: tournament must be in 1..population ({population}), "
                              f"got {tournament}")
        if mutation_layers < 1:
            raise SearchError(f"rea: mutation_layers must be >= 1, got {mutation_layers}")
        for label, p in (("crossover", crossover), ("mutation", mutation)):
            if not 0.0 <= p <= 1.0:
                raise SearchError(f"rea: {label} is a probability in [0, 1], got {p}")
        if generations is not None and generations < 0:
            raise SearchError(f"rea: generations must be >= 0 or None, got {generations}")
        outside = [a for a in initial if not self.cells.contains(a)]
        if outside:
            raise SearchError(f"rea: {len(outside)} initial architectures lie outside the "
                              f"subspace, e.g. {outside[0].as_layer_list()}")
        if len(initial) > population:
            raise SearchError(f"rea: {len(initial)} initial architectures exceed the "
                              f"population ({population})")
        self.population = population
        self.tournament = tournament
        self.mutation_layers = mutation_layers
        self.crossover = crossover
        self.mutation = mutation
        self.generations = generations
        self.initial = tuple(initial)
        self._children = 0

    def params(self) -> dict[str, Any]:
        return {"population": self.population, "tournament": self.tournament,
                "mutation_layers": self.mutation_layers, "crossover": self.crossover,
                "mutation": self.mutation, "generations": self.generations,
                "initial": len(self.initial)}

    def _winner(self, pop: deque[Evaluation]) -> Evaluation:
        idx = self.rng.permutation(len(pop))[:self.tournament]
        return max((pop[int(i)] for i in idx), key=lambda e: e.val)

    def begin_block(self) -> None:
        self._children = 0

    def _propose(self) -> Proposals:
        rng = self.rng
        pop: deque[Evaluation] = deque()
        for arch in self.initial:
            pop.append(_told((yield arch)))
        while len(pop) < self.population:
            pop.append(_told((yield self.cells.sample(rng))))
        self._children = 0
        while True:
            if self.generations is not None and \
                    self._children >= self.generations * self.population:
                yield None  # the block's generations are done; a later block goes on
                continue
            cells = self.cells  # read at each step: restrict() may have replaced it
            parent = self._winner(pop)
            if self.crossover > 0 and rng.random() < self.crossover:
                child = cells.crossover(parent.arch, self._winner(pop).arch, rng)
                if rng.random() < self.mutation:
                    child = cells.mutate(child, rng, self.mutation_layers)
            else:
                child = cells.mutate(parent.arch, rng, self.mutation_layers)
            # a parent from before a restrict() passes on what the subspace still allows
            pop.append(_told((yield cells.project(child, rng))))
            pop.popleft()
            self._children += 1


class RandomSearch(Strategy):
    """Uniform random search without replacement inside a (sub)space.

    Example:
        >>> from lapt.spaces import get_space
        >>> rs = RandomSearch(get_space("trans101"), seed=0)
        >>> rs.ask() is not None
        True
    """

    name = "random"

    def _propose(self) -> Proposals:
        rng = self.rng
        drawn: set[Arch] = set()
        misses = 0
        while misses < 100:  # rejection while it is cheap
            arch = self.cells.sample(rng)
            if arch in drawn:
                misses += 1
                continue
            misses = 0
            drawn.add(arch)
            yield arch
        while True:  # nearly exhausted: the remaining cells in a random order
            sub = self.subspace
            rest = [a for a in self.space.enumerate(sub) if a not in drawn]
            for j in rng.permutation(len(rest)):
                if self.subspace is not sub:
                    break  # restricted meanwhile: list the new subspace's cells
                drawn.add(rest[int(j)])
                yield rest[int(j)]
            else:
                if self.subspace is sub:
                    return


class LocalSearch(Strategy):
    """Best-improvement local search over one-layer neighbours, with random restarts.

    From a uniform random cell, evaluate all its neighbours in the subspace (in a random
    order), move to the best if it beats the current cell by validation, and restart
    from a new random cell at a local optimum.

    Example:
        >>> from lapt.spaces import get_space
        >>> ls = LocalSearch(get_space("nb201"), seed=0)
        >>> ls.ask() is not None
        True
    """

    name = "local"

    def _propose(self) -> Proposals:
        rng = self.rng
        starts: set[Arch] = set()
        while True:
            arch = self.cells.sample(rng)
            for _ in range(100):  # prefer a start not used before
                if arch not in starts:
                    break
                arch = self.cells.sample(rng)
            starts.add(arch)
            current = _told((yield arch))
            while True:
                cells = self.cells
                nbrs = cells.neighbours(current.arch)
                best = current
                for j in rng.permutation(len(nbrs)):
                    if self.cells is not cells:
                        break  # restricted: list the neighbours in the new subspace
                    ev = _told((yield nbrs[int(j)]))
                    if ev.val > best.val:
                        best = ev
                if best is current and self.cells is cells:
                    break  # local optimum: restart
                current = best
