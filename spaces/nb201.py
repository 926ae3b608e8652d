"""NAS-Bench-201 (Dong & Yang, ICLR 2020): a 4-node cell, 6 edges, 5 operators.

Layers are the edges in the order of the official arch string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3. Node 0 is
the cell input, node 3 its output; a node sums its incoming edges. Canonical index:
the layer ops read as a base-5 number (operator ids in :data:`OPS` order).
"""

from __future__ import annotations

from functools import cache

from . import _cell4
from ._base import Arch, Layer, SearchSpace, SpaceError, TaskInfo
from ._tables import TabularBenchmark

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = _cell4.EDGES
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


class NB201Space(SearchSpace):
    """The NAS-Bench-201 cell space (15,625 cells)."""

    name = "nb201"
    ops = OPS
    layers = tuple(Layer(f"edge {s}->{t}", OPS, (s,), t) for s, t in EDGES)
    input_nodes = _cell4.INPUT_NODES
    output_node = _cell4.OUTPUT_NODE
    op_comments = {op: _cell4.OP_COMMENTS[op] for op in OPS}
    op_code = {op: _cell4.OP_CODE[op] for op in OPS}
    evaluation = "table"

    def benchmark(self) -> TabularBenchmark:
        """The vendored table (see :func:`benchmark`)."""
        return benchmark()

    def encode(self, arch: Arch) -> str:
        """The official arch string, e.g. ``|nor_conv_3x3~0|+|...|+|...|``."""
        self.check(arch)
        nodes, k = [], 0
        for t in (1, 2, 3):
            nodes.append("|" + "|".join(f"{arch.ops[k + s]}~{s}" for s in range(t)) + "|")
            k += t
        return "+".join(nodes)

    def decode(self, text: str) -> Arch:
        """Parse an official arch string, as the ``nas-bench-201`` package's
        ``NASBench201API.str2lists`` reads it (that package imports torch, 1.5 s a
        process; ``tests/test_spaces.py`` checks this parser against it on every cell)."""
        if not isinstance(text, str) or text.count("+") != 2:
            raise SpaceError(f"nb201: malformed arch string {text!r}: expected 3 nodes joined "
                             "by '+', like |op~0|+|op~0|op~1|+|op~0|op~1|op~2|")
        ops: list[str] = []
        for t, node in enumerate(text.split("+"), start=1):
            pairs = [p.split("~") for p in node.split("|") if p]
            if any(len(p) != 2 or not p[1].strip().lstrip("+-").isdigit() for p in pairs):
                raise SpaceError(f"nb201: malformed arch string {text!r}: each input must be "
                                 f"written op~node, got {node!r}")
            sources = [int(src) for _, src in pairs]
            if sources != list(range(t)):
                raise SpaceError(f"nb201: malformed arch string {text!r}: node {t} must list "
                                 f"inputs {list(range(t))} in order, got {sources}")
            ops.extend(op for op, _ in pairs)
        return self.arch(ops)


@cache
def benchmark() -> TabularBenchmark:
    """The vendored NAS-Bench-201 table: 200-epoch val/test accuracy on three datasets."""
    from . import get_space

    return TabularBenchmark(
        space=get_space("nb201"),
        tasks={
            "cifar10": TaskInfo("cifar10", "accuracy (%)",
                                "CIFAR-10 image classification, 10 classes, 32x32"),
            "cifar100": TaskInfo("cifar100", "accuracy (%)",
                                 "CIFAR-100 image classification, 100 classes, 32x32"),
            "ImageNet16-120": TaskInfo("ImageNet16-120", "accuracy (%)",
                                       "ImageNet downsampled to 16x16, 120 classes"),
        },
        source="nb201.npz",
        citation="NAS-Bench-201 (Dong & Yang, ICLR 2020), 200-epoch training",
    )
