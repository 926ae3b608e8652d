"""Plain statistics over an archive of good cells: the evidence principles stand on.

:func:`principle_stats` counts, per layer, how often each operator (and each source,
where a layer has several) appears in an archive (e.g. the top-k of a source task)
against a reference: the uniform share 1/|C_i| of the whole space, or the counts over a
given reference set of cells. Enrichment = archive share / reference share.
:func:`stats_subspace` keeps the most enriched choices per layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lapt.spaces import Arch, SearchSpace, SpaceError, Subspace, validate_subspace


@dataclass(frozen=True)
class ChoiceStat:
    """One operator (or source) of one layer."""

    choice: str | int
    count: int
    """Cells of the archive that pick it."""
    share: float
    """count / archive size."""
    reference: float
    """Its share in the reference (1/|C_i| for the uniform whole space)."""
    enrichment: float
    """share / reference (``inf`` when the reference never picks it but the archive does)."""


@dataclass(frozen=True)
class LayerStats:
    layer: int
    name: str
    ops: tuple[ChoiceStat, ...]
    sources: tuple[ChoiceStat, ...]
    """Empty for layers with a single candidate source."""


@dataclass(frozen=True)
class PrincipleStats:
    """Per-layer operator (and source) statistics of an archive against a reference."""

    space: str
    archive_size: int
    reference: str
    """``"uniform"`` or ``"N cells"``."""
    layers: tuple[LayerStats, ...]

    def to_text(self, digits: int = 2) -> str:
        """A short table per layer, readable by a person or an LLM."""
        head = (f"Operator statistics of {self.archive_size} archive cells of {self.space} "
                f"against the {self.reference} reference "
                "(enrichment = archive share / reference share; > 1 favoured, < 1 avoided).")
        out = [head]
        for ls in self.layers:
            out.append(f"\nlayer {ls.layer} ({ls.name})")
            for label, rows in (("op", ls.ops), ("source", ls.sources)):
                if not rows:
                    continue
                width = max(len(str(r.choice)) for r in rows + (ChoiceStat(label, 0, 0, 0, 0),))
                out.append(f"  {label:<{width}}  count  share  ref    enrichment")
                for r in sorted(rows, key=lambda r: -r.enrichment):
                    out.append(f"  {r.choice!s:<{width}}  {r.count:>5}  {r.share:.{digits}f}"
                               f"   {r.reference:.{digits}f}   {r.enrichment:.{digits}f}")
        return "\n".join(out)


def _stat(choice: str | int, count: int, n: int, ref: float) -> ChoiceStat:
    share = count / n
    enrichment = share / ref if ref > 0 else (float("inf") if count else 0.0)
    return ChoiceStat(choice, count, share, ref, enrichment)


def principle_stats(space: SearchSpace, archive: Iterable[Arch],
                    reference: Sequence[Arch] | None = None) -> PrincipleStats:
    """Per layer, how often each operator and source appears in ``archive`` vs a reference.

    Args:
        space: the search space the cells belong to.
        archive: the cells to explain (e.g. ``benchmark.top(task, 50)``); anything with
            an ``arch`` attribute (an evaluation) is accepted too.
        reference: cells to compare against; ``None`` = the whole space, uniform per layer
            (1/|C_i| per operator, 1/|S_i| per source).

    Example:
        >>> from lapt.spaces import nb201
        >>> bench = nb201.benchmark()
        >>> st = principle_stats(bench.space, bench.top("cifar10", 50))
        >>> st.layers[0].ops[0].choice, st.archive_size
        ('none', 50)
    """
    cells = [space.check(getattr(a, "arch", a)) for a in archive]
    if not cells:
        raise SpaceError("principle_stats needs at least one archive cell")
    ref_cells = None if reference is None else [space.check(getattr(a, "arch", a))
                                                for a in reference]
    if ref_cells is not None and not ref_cells:
        raise SpaceError("principle_stats: the reference set is empty; pass None for uniform")
    layers = []
    for i, layer in enumerate(space.layers):
        ops = Counter(a.ops[i] for a in cells)
        src = Counter(a.sources[i] for a in cells)
        if ref_cells is None:
            ref_ops = {o: 1 / len(layer.ops) for o in layer.ops}
            ref_src = {s: 1 / len(layer.sources) for s in layer.sources}
        else:
            r_ops, r_src = Counter(a.ops[i] for a in ref_cells), Counter(a.sources[i]
                                                                         for a in ref_cells)
            ref_ops = {o: r_ops[o] / len(ref_cells) for o in layer.ops}
            ref_src = {s: r_src[s] / len(ref_cells) for s in layer.sources}
        layers.append(LayerStats(
            i, layer.name,
            tuple(_stat(o, ops[o], len(cells), ref_ops[o]) for o in layer.ops),
            tuple(_stat(s, src[s], len(cells), ref_src[s]) for s in layer.sources)
            if len(layer.sources) > 1 else (),
        ))
    ref_label = "uniform" if ref_cells is None else f"{len(ref_cells)}-cell"
    return PrincipleStats(space.name, len(cells), ref_label, tuple(layers))


def stats_subspace(stats: PrincipleStats, keep: int | None = None,
                   threshold: float = 1.0) -> Subspace:
    """The subspace the statistics imply: per layer the most enriched choices.

    A layer keeps its operators (and sources) with enrichment >= ``threshold``, at most
    ``keep`` of them (the most enriched), and at least one. While that subspace fails
    :func:`validate_subspace` (every cell degenerate, or a space constraint such as
    DARTS' two distinct inputs), the most enriched choice left out, over all layers, is
    added back.

    Example:
        >>> from lapt.spaces import nb201
        >>> bench = nb201.benchmark()
        >>> sub = stats_subspace(principle_stats(bench.space, bench.top("cifar10", 50)), keep=2)
        >>> sub.cardinality() <= 2 ** 6
        True
    """
    from lapt.spaces import get_space

    if keep is not None and keep < 1:
        raise ValueError(f"keep must be >= 1 or None, got {keep}")
    space = get_space(stats.space)

    def ranked(rows: tuple[ChoiceStat, ...]) -> list[ChoiceStat]:
        return sorted(rows, key=lambda r: (-r.enrichment, -r.count))

    def initial(rows: tuple[ChoiceStat, ...]) -> int:
        n = sum(1 for r in rows if r.enrichment >= threshold)
        return max(1, min(n, keep if keep is not None else n))

    # per layer and kind ("ops", "sources"): the choices by enrichment, and how many kept
    plan: list[dict[str, tuple[list[ChoiceStat], int]]] = []
    for ls, layer in zip(stats.layers, space.layers):
        src = (ranked(ls.sources), initial(ls.sources)) if ls.sources else (
            [ChoiceStat(s, 0, 0.0, 1.0, 1.0) for s in layer.sources], len(layer.sources))
        plan.append({"ops": (ranked(ls.ops), initial(ls.ops)), "sources": src})
    while True:
        proposal = {"layers": [{"layer": i, **{kind: [r.choice for r in rows[:n]]
                                               for kind, (rows, n) in p.items()}}
                               for i, p in enumerate(plan)]}
        report = validate_subspace(space, proposal)
        if report.valid:
            assert report.subspace is not None
            return report.subspace
        # relax: add the most enriched choice left out anywhere, and check again
        left = [(rows[n].enrichment, i, kind) for i, p in enumerate(plan)
                for kind, (rows, n) in p.items() if n < len(rows)]
        if not left:
            raise SpaceError("stats_subspace: even the whole space fails validation: "
                             + report.message())
        _, i, kind = max(left, key=lambda t: (t[0], -t[1]))
        rows, n = plan[i][kind]
        plan[i][kind] = (rows, n + 1)
