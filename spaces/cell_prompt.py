"""The generic class prompt (the paper's Fig. 2): a cell space as a runnable PyTorch module.

:func:`generic_class` writes an ``nn.Module`` class that takes a layer list (one
``(operator, source node)`` pair per layer), with an ``OPS`` table built from the space's
``op_code`` and a comment per operator. A space with another shape (DARTS: two cells,
strides) overrides ``SearchSpace.python_class_source`` instead. The text is source code
for a model to read; nothing here runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import SpaceError

if TYPE_CHECKING:
    from ._base import SearchSpace
    from ._subspace import Subspace

_HELPERS = '''\
class Zero(nn.Module):
    """Outputs zeros shaped like its input."""

    def forward(self, x):
        return x * 0.0


class ReLUConvBN(nn.Module):
    """ReLU, a k x k convolution (C -> C channels, same spatial size), batch norm."""

    def __init__(self, C, k):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, k, padding=k // 2, bias=False),
                                nn.BatchNorm2d(C))

    def forward(self, x):
        return self.op(x)
'''


_OPAQUE = '''

class Opaque(nn.Module):
    """An operator of this space whose code is not given here (runs as the identity)."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def forward(self, x):
        return x
'''

def generic_class(space: SearchSpace, subspace: Subspace | None = None) -> str:
    """The generic class prompt of ``space``: an ``OPS`` table from ``space.op_code`` and a
    ``Cell`` whose layer i applies its operator to its source node and feeds its target.

    An operator without code becomes an ``Opaque`` module (identity, named in a comment),
    so the class still runs.
    """
    if space.output_edges():
        raise SpaceError(f"encode: {space.name} has fixed output edges; give it a "
                         "python_class_source() method")
    choices = subspace.layers if subspace is not None else space.full_subspace().layers
    allowed = [op for op in space.ops if any(op in c.ops for c in choices)]
    code = {op: space.op_code.get(op, f"lambda C: Opaque({op!r})") for op in allowed}
    ops = "\n".join(f"    {op!r}: {code[op]},  # {space.op_comments.get(op, op)}"
                    for op in allowed)
    helpers = _HELPERS + (_OPAQUE if any(op not in space.op_code for op in allowed) else "")
    targets = tuple(layer.target for layer in space.layers)
    rows = "\n".join(
        f"    #   layer {i} ({layer.name}): "
        + ("any operator in OPS" if c.ops == layer.ops else f"operator in {list(c.ops)}")
        + (f", source in {list(c.sources)}" if len(layer.sources) > 1 else
           f", from node {layer.sources[0]} to node {layer.target}")
        for i, (layer, c) in enumerate(zip(space.layers, choices)))
    inputs = space.input_nodes
    args = "x" if len(inputs) == 1 else ", ".join(f"s{n}" for n in inputs)
    start = "{" + ", ".join(f"{n}: {a}" for n, a in zip(inputs, args.split(", "))) + "}"
    return f'''\
import torch
import torch.nn as nn


{helpers}

# Candidate operators: name -> constructor taking the channel count C.
OPS = {{
{ops}
}}


class Cell(nn.Module):
    """A cell of the {space.name} space: node{'s' if len(inputs) > 1 else ''} {', '.join(map(str, inputs))} \
{'are' if len(inputs) > 1 else 'is'} the input, node {space.output_node} the output.

    `layers` is a layer list: one (operator, source node) pair per layer. Layer i applies
    its operator to its source node and feeds node TARGETS[i]; a node sums its incoming
    layers. Every operator keeps the shape (C channels, same spatial size).
    """

    # The layers and their choices:
{rows}
    TARGETS = {targets}

    def __init__(self, layers, C):
        super().__init__()
        assert len(layers) == len(self.TARGETS), "one (operator, source) pair per layer"
        self.sources = [src for _, src in layers]
        self.layers = nn.ModuleList(OPS[op](C) for op, _ in layers)

    def forward(self, {args}):
        nodes = {start}
        for node in sorted(set(self.TARGETS)):
            nodes[node] = sum(layer(nodes[src]) for layer, src, target
                              in zip(self.layers, self.sources, self.TARGETS) if target == node)
        return nodes[{space.output_node}]
'''
