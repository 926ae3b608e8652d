"""TransNAS-Bench-101 micro (Duan et al., CVPR 2021): a 4-node cell, 6 edges, 4 operators.

Layers are the edges in the order of the official code ``64-41414-a_bc_def``:
a: 0->1; b, c: 0->2, 1->2; d, e, f: 0->3, 1->3, 2->3 (each letter an op id). The
``64-41414`` prefix is the fixed macro skeleton of the micro space. Canonical index:
the layer ops read as a base-4 number.
"""

from __future__ import annotations

import re
from functools import cache

from ._base import Arch, Layer, SearchSpace, SpaceError, TaskInfo
from ._cell4 import EDGES, INPUT_NODES, OP_CODE, OP_COMMENTS, OUTPUT_NODE
from ._tables import TabularBenchmark

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
PREFIX = "64-41414-"
TASKS = ("class_object", "class_scene", "room_layout", "autoencoder", "normal",
         "segmentsemantic", "jigsaw")
_CODE = re.compile(r"^64-41414-([0-3])_([0-3]{2})_([0-3]{3})$")
_DASHED = re.compile(r"^[0-3](-[0-3]){5}$")


class Trans101Space(SearchSpace):
    """The TransNAS-Bench-101 micro cell space (4,096 cells)."""

    name = "trans101"
    ops = OPS
    layers = tuple(Layer(f"edge {s}->{t}", OPS, (s,), t) for s, t in EDGES)
    input_nodes = INPUT_NODES
    output_node = OUTPUT_NODE
    op_comments = {op: OP_COMMENTS[op] for op in OPS}
    op_code = {op: OP_CODE[op] for op in OPS}
    evaluation = "table"

    def benchmark(self) -> TabularBenchmark:
        """The vendored table (see :func:`benchmark`)."""
        return benchmark()

    def encode(self, arch: Arch) -> str:
        """The official code, e.g. ``64-41414-3_33_333``."""
        ids = [str(OPS.index(op)) for op in self.check(arch).ops]
        return f"{PREFIX}{ids[0]}_{''.join(ids[1:3])}_{''.join(ids[3:])}"

    def decode(self, text: str) -> Arch:
        """Parse the official code ``64-41414-a_bc_def`` (or the table's ``a-b-c-d-e-f``)."""
        text = text.strip() if isinstance(text, str) else text
        if isinstance(text, str) and _DASHED.match(text):
            return self.arch([int(c) for c in text.split("-")])
        m = _CODE.match(text) if isinstance(text, str) else None
        if m is None:
            raise SpaceError(
                f"trans101: malformed code {text!r}: expected 64-41414-a_bc_def with op ids "
                f"0..3 ({', '.join(f'{i}={o}' for i, o in enumerate(OPS))}), e.g. 64-41414-3_33_333"
            )
        return self.arch([int(c) for c in "".join(m.groups())])


@cache
def benchmark() -> TabularBenchmark:
    """The vendored TransNAS-Bench-101 micro table: validation metric on seven tasks.

    The table publishes one metric per task, so it serves as both the search signal and
    the reported figure.
    """
    from . import get_space

    info = {
        "class_object": ("top-1 accuracy (%)", "object classification (Taskonomy, 100 classes)"),
        "class_scene": ("top-1 accuracy (%)", "scene classification (Taskonomy, 63 classes)"),
        "room_layout": ("negated L2 loss", "room layout regression"),
        "autoencoder": ("SSIM", "image reconstruction (pixel-level autoencoding)"),
        "normal": ("SSIM", "surface normal estimation"),
        "segmentsemantic": ("accuracy (%)", "semantic segmentation"),
        "jigsaw": ("top-1 accuracy (%)", "jigsaw puzzle permutation classification"),
    }
    return TabularBenchmark(
        space=get_space("trans101"),
        tasks={t: TaskInfo(t, *info[t]) for t in TASKS},
        source="trans101.npz",
        citation="TransNAS-Bench-101 micro (Duan et al., CVPR 2021), via NASLib",
    )
