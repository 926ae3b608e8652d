"""The DARTS cell search space (Liu et al., 2019), as the paper's third space.

A DARTS architecture is a *normal* and a *reduction* cell. Each cell has two input nodes
(0, 1: the outputs of the two previous cells) and four intermediate nodes (2..5); node k
sums two operations applied to two *distinct* earlier nodes, and the cell's output
concatenates nodes 2..5 (a fixed edge per node, see :meth:`DartsSpace.output_edges`).

On the base interface this is 16 layers: ``normal node 2, input 0``, ``normal node 2,
input 1``, ..., ``normal node 5, input 1``, then the same for ``reduce``. A node-k layer
chooses one of the 8 operators and one source among 0..k-1.

Conventions (decisions the DARTS papers leave open):

* ``none`` is a member of the space, as in the paper's list of 8 operators; the original
  DARTS excludes it from its derived genotypes. :meth:`DartsSpace.without_none` is that
  7-operator space as a subspace.
* A node's two inputs must come from distinct nodes (the DARTS genotype convention). Their
  order is kept as written, as in the DARTS repository's genotypes (``DARTS_V2`` lists
  node 4's inputs as 1, 0), so a string round-trips exactly. The node sums its inputs, so
  swapping a node's two ``(op, source)`` pairs gives the same network (and the same
  supernet weights, which belong to edges): :meth:`DartsSpace.canonical` sorts each pair
  by source and :meth:`DartsSpace.network_count` counts networks rather than genotypes.
* Cardinality per cell: ``prod_k 8**2 * k * (k - 1)`` = 2880 * 8**8 = 48,318,382,080
  ordered genotypes, 180 * 8**8 = 3,019,898,880 distinct networks; without ``none``,
  180 * 7**8 = 1,037,664,180 networks (the "about 10^9" of the DARTS paper). The whole
  space, both cells, is the square of each.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from ._base import Arch, Layer, SearchSpace, SpaceError, TaskInfo
from ._darts_genotype import Genotype, GenotypeParser
from ._darts_prompt import CLASS_TEMPLATE, OP_CODE

if TYPE_CHECKING:
    from ._subspace import Subspace

OPS: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
CELLS: tuple[str, ...] = ("normal", "reduce")
NODES: tuple[int, ...] = (2, 3, 4, 5)
CONCAT: tuple[int, ...] = NODES
ENUMERATE_LIMIT = 10**7
TASKS: dict[str, TaskInfo] = {t: TaskInfo(t, "accuracy (%) of a cell with inherited weights", d)
                              for t, d in {
    "digits": "8x8 handwritten digits (scikit-learn), 10 classes: the embedded CPU-sized task",
    "cifar10": "CIFAR-10 image classification, 10 classes, 32x32",
    "cifar100": "CIFAR-100 image classification, 100 classes, 32x32",
}.items()}
"""The supernet's tasks (:mod:`lapt.tools.supernet` trains on them)."""

OP_COMMENTS: dict[str, str] = {
    "none": "zero: cuts the edge, the input contributes nothing",
    "max_pool_3x3": "3x3 max pooling (stride 2 on a reduction cell's input edges)",
    "avg_pool_3x3": "3x3 average pooling (stride 2 on a reduction cell's input edges)",
    "skip_connect": "identity; a factorized 1x1-conv reduction on a reduction cell's inputs",
    "sep_conv_3x3": "separable conv 3x3, applied twice: (ReLU, depthwise, pointwise, BN) x 2",
    "sep_conv_5x5": "separable conv 5x5, applied twice: (ReLU, depthwise, pointwise, BN) x 2",
    "dil_conv_3x3": "dilated separable conv 3x3, dilation 2: ReLU, depthwise, pointwise, BN",
    "dil_conv_5x5": "dilated separable conv 5x5, dilation 2: ReLU, depthwise, pointwise, BN",
}


_NodePairs = tuple[tuple[tuple[str, int, str, int], ...], ...]
_PAIR_CACHE: dict[Subspace | None, _NodePairs] = {}


def _layers() -> tuple[Layer, ...]:
    out = []
    for cell in CELLS:
        for k in NODES:
            for j in (0, 1):
                out.append(Layer(f"{cell} node {k}, input {j}", OPS, tuple(range(k)), k))
    return tuple(out)


class DartsSpace(SearchSpace):
    """The DARTS space: 16 layers (8 per cell), 8 operators, sources 0..k-1 for node k.

    Example:
        >>> from lapt.spaces import get_space
        >>> darts = get_space("darts")
        >>> arch = darts.decode(darts.encode(darts.sample(np.random.default_rng(0))))
        >>> darts.network_count() == 3_019_898_880 ** 2
        True
    """

    name = "darts"
    ops = OPS
    layers = _layers()
    input_nodes = (0, 1)
    output_node = 6
    zero_op = "none"
    op_comments = OP_COMMENTS
    has_constraints = True
    evaluation = "supernet"

    def tasks(self) -> dict[str, TaskInfo]:
        return dict(TASKS)

    def task_description(self, task: str) -> str:
        info = self._task(task)
        return f"{info.description}; metric: {info.metric}"

    # ------------------------------------------------------------------ structure
    @staticmethod
    def layer_index(cell: str, node: int, input_: int) -> int:
        """Index of the layer feeding ``node`` (2..5) of ``cell`` as its input 0 or 1."""
        return CELLS.index(cell) * 8 + (node - 2) * 2 + input_

    @staticmethod
    def node_layers() -> list[tuple[str, int, int, int]]:
        """Per node ``(cell, node, layer of input 0, layer of input 1)``; the crossover units."""
        return [(cell, k, c * 8 + (k - 2) * 2, c * 8 + (k - 2) * 2 + 1)
                for c, cell in enumerate(CELLS) for k in NODES]

    def constraint_problems(self, arch: Arch) -> list[str]:
        out = []
        for cell, k, a, b in self.node_layers():
            sa, sb = arch.sources[a], arch.sources[b]
            if sa == sb:
                out.append(f"{cell} node {k}: both inputs come from node {sa}; "
                           f"a node takes two distinct inputs")
        return out

    def canonical(self, arch: Arch) -> Arch:
        """The same network with each node's two inputs sorted by source."""
        pairs = arch.as_layer_list()
        out: list[tuple[str, int]] = []
        for _, _, a, b in self.node_layers():
            out += sorted((pairs[a], pairs[b]), key=lambda p: p[1])
        return Arch(tuple(o for o, _ in out), tuple(s for _, s in out))

    def output_edges(self) -> list[tuple[int, int]]:
        return [(k, self.output_node) for k in CONCAT]

    # ----------------------------------------------------------------- genotypes
    def to_genotype(self, arch: Arch) -> Genotype:
        """The DARTS ``Genotype`` of ``arch``."""
        pairs = arch.as_layer_list()
        return Genotype(pairs[:8], list(CONCAT), pairs[8:], list(CONCAT))

    def from_genotype(self, genotype: Genotype) -> Arch:
        """The :class:`Arch` of a genotype (pairs kept in their order)."""
        pairs: list[tuple[str, int]] = []
        for cell, cell_pairs, concat in ((CELLS[0], genotype.normal, genotype.normal_concat),
                                         (CELLS[1], genotype.reduce, genotype.reduce_concat)):
            if list(concat) != list(CONCAT):
                raise SpaceError(f"darts: {cell}_concat must be {list(CONCAT)} (this space's "
                                 f"cells concatenate nodes 2..5), got {list(concat)}")
            if len(cell_pairs) != 8:
                raise SpaceError(f"darts: {cell} needs 8 (op, source) pairs, two per node "
                                 f"2..5, got {len(cell_pairs)}")
            for k, p, q in zip(NODES, cell_pairs[0::2], cell_pairs[1::2]):
                for op, src in (p, q):
                    if op not in OPS:
                        raise SpaceError(f"darts: {cell} node {k}: unknown operator {op!r}; "
                                         f"valid: {', '.join(OPS)}")
                    if not 0 <= src < k:
                        raise SpaceError(f"darts: {cell} node {k}: source {src} is not an "
                                         f"earlier node (valid: 0..{k - 1})")
                if p[1] == q[1]:
                    raise SpaceError(f"darts: {cell} node {k}: both inputs come from node "
                                     f"{p[1]}; a node takes two distinct inputs")
                pairs += [p, q]
        return self.check(Arch(tuple(o for o, _ in pairs), tuple(s for _, s in pairs)))

    def encode(self, arch: Arch) -> str:
        """The genotype string, as ``str(Genotype(...))`` prints it in the DARTS repository."""
        g = self.to_genotype(self.check(arch))
        return (f"Genotype(normal={g.normal!r}, normal_concat={g.normal_concat!r}, "
                f"reduce={g.reduce!r}, reduce_concat={g.reduce_concat!r})")

    def decode(self, text: str) -> Arch:
        """Parse a genotype string (``range(2, 6)`` is accepted for a concat); never evaluates it.

        Raises:
            SpaceError: naming the position and what was expected, or the invalid content.
        """
        return self.from_genotype(GenotypeParser(text).parse())

    # ----------------------------------------------------------- (sub)space sets
    def _node_pairs(self, subspace: Subspace | None) -> _NodePairs:
        """Per node, every allowed ``(op0, src0, op1, src1)`` with ``src0 != src1`` (cached)."""
        hit = _PAIR_CACHE.get(subspace)
        if hit is None:
            choices = self._choices(subspace)
            hit = tuple(tuple((oa, sa, ob, sb) for oa, sa in choices[a] for ob, sb in choices[b]
                              if sa != sb)
                        for _, _, a, b in self.node_layers())
            if len(_PAIR_CACHE) > 64:
                _PAIR_CACHE.clear()
            _PAIR_CACHE[subspace] = hit
        return hit

    def cardinality(self, subspace: Subspace | None = None) -> int:
        """Exact number of genotypes: per node, op pairs times pairs of distinct sources."""
        sub = subspace if subspace is not None else self.full_subspace()
        self._choices(sub)
        total = 1
        for _, _, a, b in self.node_layers():
            la, lb = sub.layers[a], sub.layers[b]
            common = len(set(la.sources) & set(lb.sources))
            total *= len(la.ops) * len(lb.ops) * (len(la.sources) * len(lb.sources) - common)
        return total

    def network_count(self, subspace: Subspace | None = None) -> int:
        """Exact number of distinct networks (genotypes up to the order of a node's inputs).

        Per node, of the ordered pairs P (input 0 from A, input 1 from B, distinct
        sources), those whose swap is also in P (both choices in A and B) pair up.
        """
        sub = subspace if subspace is not None else self.full_subspace()
        total = 1
        for _, _, a, b in self.node_layers():
            la, lb = sub.layers[a], sub.layers[b]
            ordered = len(la.ops) * len(lb.ops) * (
                len(la.sources) * len(lb.sources) - len(set(la.sources) & set(lb.sources)))
            ops = len(set(la.ops) & set(lb.ops))
            srcs = len(set(la.sources) & set(lb.sources))
            total *= ordered - (ops * ops * srcs * (srcs - 1)) // 2
        return total

    def enumerate(self, subspace: Subspace | None = None) -> Iterator[Arch]:
        """Every genotype of a (small) subspace, in layer-by-layer product order.

        Raises:
            SpaceError: when the (sub)space holds more than 10^7 cells.
        """
        n = self.cardinality(subspace)
        if n > ENUMERATE_LIMIT:
            raise SpaceError(f"darts: refusing to enumerate {n:,} cells (limit "
                             f"{ENUMERATE_LIMIT:,}); sample or search the space instead")
        for combo in itertools.product(*self._node_pairs(subspace)):
            ops = tuple(o for oa, _, ob, _ in combo for o in (oa, ob))
            srcs = tuple(s for _, sa, _, sb in combo for s in (sa, sb))
            yield Arch(ops, srcs)

    def sample(self, rng: np.random.Generator, subspace: Subspace | None = None) -> Arch:
        """A uniform sample: each node's input pair uniform among its allowed pairs."""
        ops: list[str] = []
        srcs: list[int] = []
        for (cell, k, _, _), pairs in zip(self.node_layers(), self._node_pairs(subspace)):
            if not pairs:
                raise SpaceError(f"darts: {cell} node {k} has no allowed pair of distinct "
                                 f"inputs in this subspace")
            oa, sa, ob, sb = pairs[rng.integers(len(pairs))]
            ops += [oa, ob]
            srcs += [sa, sb]
        return Arch(tuple(ops), tuple(srcs))

    def without_none(self) -> Subspace:
        """The original DARTS genotype space: every operator but ``none``."""
        from ._subspace import LayerChoice, Subspace

        return Subspace(space=self.name, layers=tuple(
            LayerChoice(ops=tuple(o for o in l.ops if o != "none"), sources=l.sources)
            for l in self.layers))

    def subspace_problems(self, subspace: Subspace) -> list[str]:
        """A node whose two input layers can only pick the same source."""
        out = []
        for cell, k, a, b in self.node_layers():
            sa, sb = subspace.layers[a].sources, subspace.layers[b].sources
            if not any(x != y for x in sa for y in sb):
                others = [s for s in range(k) if s not in sa]
                out.append(
                    f"{cell} node {k}: input 0 (layer {a}) and input 1 (layer {b}) both allow "
                    f"only source {sa[0]}, but a node takes two distinct inputs; allow another "
                    f"source for one of them (candidates: {others})")
        return out

    # --------------------------------------------------------------------- graph
    def to_graph(self, arch: Arch) -> nx.MultiDiGraph:
        """Both cells as one DAG: normal nodes 0..6 (6 = concat), reduce nodes 7..13.

        Nodes carry ``cell`` and ``node`` (the genotype index); edges ``op`` and ``layer``.
        """
        g = nx.MultiDiGraph()
        for c, cell in enumerate(CELLS):
            off = c * 7
            for node in range(7):
                kind = "input" if node < 2 else "output" if node == 6 else "node"
                g.add_node(off + node, cell=cell, node=node, kind=kind)
            for k in CONCAT:
                g.add_edge(off + k, off + 6, op="concat", layer=None)
        for i, (layer, op, src) in enumerate(zip(self.layers, arch.ops, arch.sources)):
            off = 7 * (i // 8)
            g.add_edge(off + src, off + layer.target, op=op, layer=i)
        return g

    def _live(self, edges_per_layer: list[tuple[str, int]] | list[list[tuple[str, int]]]) -> bool:
        """Both cells must carry a non-zero path from an input to the concat."""
        items = list(edges_per_layer)
        for c in range(len(CELLS)):
            g = nx.DiGraph()
            g.add_nodes_from(range(7))
            g.add_edges_from(self.output_edges())
            for layer, item in zip(self.layers[c * 8:(c + 1) * 8], items[c * 8:(c + 1) * 8]):
                for op, src in item if isinstance(item, list) else [item]:
                    if op != self.zero_op:
                        g.add_edge(src, layer.target)
            if not any(nx.has_path(g, i, self.output_node) for i in self.input_nodes):
                return False
        return True

    # --------------------------------------------------------------------- prompt
    def python_class_source(self, subspace: Subspace | None = None) -> str:
        """The space as a runnable PyTorch ``nn.Module`` taking a layer list (paper's Fig. 2).

        Needs only ``torch``; the architectures are then given as layer lists
        (``arch.as_layer_list()``): 16 ``(op, source)`` pairs, normal cell first. The
        class is the same for every subspace.
        """
        comments = "\n".join(f"    {op!r}: {OP_CODE[op]},  # {OP_COMMENTS[op]}" for op in OPS)
        return CLASS_TEMPLATE.replace("{OPS}", comments)
