"""The search's view of a (sub)space: :class:`lapt.spaces.CellChoices` (membership,
sampling, mutation, neighbours) plus projection and uniform crossover.
"""

from __future__ import annotations

import numpy as np

from lapt.spaces import Arch, CellChoices


class CellSampler(CellChoices):
    """The (op, source) choices per layer of ``subspace`` (``None`` = the whole space),
    with the operators that only searches need."""

    def project(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """``arch`` with every layer whose choice the subspace does not allow re-drawn from
        the allowed ones (the others kept): the child of a cell from before a restriction.

        Returns ``arch`` itself when it lies in the subspace, or when no valid projection
        turns up.
        """
        outside = [i for i, s in enumerate(self.sets) if (arch.ops[i], arch.sources[i]) not in s]
        if not outside:
            return arch
        for _ in range(self.TRIES):
            child = arch
            for i in outside:
                child = self._replace(child, i, self.choices[i][int(rng.integers(self.sizes[i]))])
            if self.ok(child):
                return child
        return arch

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform per-layer crossover; a child that breaks a constraint is re-drawn.

        Falls back to ``a`` when no valid child turns up.
        """
        n = len(self.choices)
        for _ in range(self.TRIES):
            mask = rng.random(n) < 0.5
            child = self._build([(b.ops[i], b.sources[i]) if m else (a.ops[i], a.sources[i])
                                 for i, m in enumerate(mask)])
            if self.ok(child):
                return child
        return a
