"""Per-layer choices of a (sub)space, precomputed once: the one place where membership,
sampling, mutation and one-layer neighbours are written.

``SearchSpace.contains`` / ``sample`` / ``mutate`` / ``neighbours`` use a cached
:class:`CellChoices` of the subspace; the searches (:mod:`lapt.tools`) keep one per
subspace and add crossover and projection. Every architecture returned lies in the
subspace and satisfies the space's constraints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._base import Arch, SpaceError

if TYPE_CHECKING:
    from ._base import SearchSpace
    from ._subspace import Subspace


class CellChoices:
    """The (op, source) choices per layer of ``subspace`` (``None`` = the whole space).

    Raises:
        SpaceError: when the subspace belongs to another space, has the wrong number of
            layers, or allows an operator or source that the layer does not offer.
    """

    TRIES = 1_000
    """Draws before a constrained sample, mutation or crossover gives up."""

    def __init__(self, space: SearchSpace, subspace: Subspace | None = None) -> None:
        sub = subspace if subspace is not None else space.full_subspace()
        if sub.space != space.name or len(sub.layers) != len(space.layers):
            raise SpaceError(f"subspace of {sub.space!r} with {len(sub.layers)} layers does not "
                             f"fit space {space.name!r} ({len(space.layers)} layers)")
        choices = []
        for i, (layer, c) in enumerate(zip(space.layers, sub.layers)):
            bad_ops = [o for o in c.ops if o not in layer.ops]
            bad_src = [s for s in c.sources if s not in layer.sources]
            if bad_ops or bad_src or not c.ops or not c.sources:
                raise SpaceError(
                    f"subspace layer {i} ({layer.name}) is not a subset of the layer's candidates "
                    f"(ops {list(layer.ops)}, sources {list(layer.sources)}): got ops "
                    f"{list(c.ops)}, sources {list(c.sources)}; check it with validate_subspace")
            choices.append(tuple((o, s) for o in c.ops for s in c.sources))
        self.space = space
        self.subspace = subspace
        self.choices: tuple[tuple[tuple[str, int], ...], ...] = tuple(choices)
        self.sets = tuple(frozenset(c) for c in choices)
        self.sizes = np.array([len(c) for c in choices], dtype=np.int64)
        self.mutable = tuple(i for i, c in enumerate(choices) if len(c) > 1)
        self.cardinality = space.cardinality(subspace)
        self._constrained = space.has_constraints  # only DARTS pays for the check

    def ok(self, arch: Arch) -> bool:
        """Whether ``arch`` satisfies the space's cross-layer constraints."""
        return not (self._constrained and self.space.constraint_problems(arch))

    def contains(self, arch: Arch) -> bool:
        """Whether ``arch`` lies in the subspace."""
        if len(arch.ops) != len(self.choices):
            return False
        return all(p in s for p, s in zip(zip(arch.ops, arch.sources), self.sets)) and self.ok(arch)

    def _build(self, picks: list[tuple[str, int]] | tuple[tuple[str, int], ...]) -> Arch:
        return Arch(tuple(o for o, _ in picks), tuple(s for _, s in picks))

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniform sample (the space's own sampler where layers constrain each other)."""
        if self._constrained:
            return self.space.sample(rng, self.subspace)
        return self.draw(rng)

    def draw(self, rng: np.random.Generator) -> Arch:
        """A uniform draw per layer, redrawn while it breaks a constraint."""
        for _ in range(self.TRIES):
            idx = rng.integers(0, self.sizes)
            arch = self._build([c[j] for c, j in zip(self.choices, idx)])
            if self.ok(arch):
                return arch
        raise SpaceError(f"{self.space.name}: could not sample a valid architecture from the "
                         "subspace")

    def _replace(self, arch: Arch, i: int, pick: tuple[str, int]) -> Arch:
        return Arch(arch.ops[:i] + (pick[0],) + arch.ops[i + 1:],
                    arch.sources[:i] + (pick[1],) + arch.sources[i + 1:])

    def mutate(self, arch: Arch, rng: np.random.Generator, layers: int = 1) -> Arch:
        """Change ``layers`` distinct layers of ``arch`` to other allowed choices.

        Returns ``arch`` itself only when the subspace allows no valid change.
        """
        if not self.mutable:
            return arch
        k = min(layers, len(self.mutable))
        for _ in range(self.TRIES):
            child = arch
            if k == 1:
                picked = [self.mutable[int(rng.integers(len(self.mutable)))]]
            else:
                picked = [self.mutable[int(j)] for j in rng.permutation(len(self.mutable))[:k]]
            for i in picked:
                options = self.choices[i]
                current = (arch.ops[i], arch.sources[i])
                j = int(rng.integers(len(options) - 1)) if current in self.sets[i] else \
                    int(rng.integers(len(options)))
                if current in self.sets[i] and options[j] == current:
                    j = len(options) - 1  # skip the current choice: uniform over the others
                child = self._replace(child, i, options[j])
            if self.ok(child):
                return child
        return arch

    def neighbours(self, arch: Arch) -> list[Arch]:
        """All valid architectures of the subspace one layer away from ``arch``."""
        out = []
        for i in self.mutable:
            current = (arch.ops[i], arch.sources[i])
            for pick in self.choices[i]:
                if pick != current:
                    cand = self._replace(arch, i, pick)
                    if self.ok(cand):
                        out.append(cand)
        return out
