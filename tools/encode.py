"""The Python class prompt (the paper's Fig. 2): a space as a runnable PyTorch module.

:func:`encode_space` writes the search space as an ``nn.Module`` class that takes a
layer list (one ``(operator, source node)`` pair per layer), with an ``OPS`` table and
a comment per operator; :func:`encode_architectures` adds each architecture's layer
list. The text is ours and runs as is (tests execute it); a space may supply its own
class through a ``python_class_source()`` method (DARTS does: two cells, strides).
"""

from __future__ import annotations

from collections.abc import Sequence

from lapt.spaces import Arch, SearchSpace, SpaceError, Subspace

_OP_CODE = {
    "none": "lambda C: Zero()",
    "skip_connect": "lambda C: nn.Identity()",
    "nor_conv_1x1": "lambda C: ReLUConvBN(C, 1)",
    "nor_conv_3x3": "lambda C: ReLUConvBN(C, 3)",
    "avg_pool_3x3": "lambda C: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)",
}

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


def _generic_class(space: SearchSpace, subspace: Subspace | None) -> str:
    unknown = [op for op in space.ops if op not in _OP_CODE]
    if unknown:
        raise SpaceError(f"encode: no PyTorch code for operators {unknown} of {space.name}; "
                         f"known: {', '.join(_OP_CODE)} (or give the space a "
                         "python_class_source() method)")
    if space.output_edges():
        raise SpaceError(f"encode: {space.name} has fixed output edges; give it a "
                         "python_class_source() method")
    choices = subspace.layers if subspace is not None else space.full_subspace().layers
    allowed = [op for op in space.ops if any(op in c.ops for c in choices)]
    ops = "\n".join(f"    {op!r}: {_OP_CODE[op]},  # {space.op_comments.get(op, op)}"
                    for op in allowed)
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


{_HELPERS}

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


def encode_space(space: SearchSpace, subspace: Subspace | None = None) -> str:
    """The search space as runnable PyTorch source: an ``OPS`` table and a ``Cell`` class.

    With ``subspace``, the per-layer comments and the ``OPS`` table show only its choices.

    Example:
        >>> from lapt.spaces import get_space
        >>> src = encode_space(get_space("nb201"))
        >>> "class Cell(nn.Module)" in src and "nor_conv_3x3" in src
        True
    """
    if subspace is not None and subspace.space != space.name:
        raise SpaceError(f"encode: subspace of {subspace.space!r} does not fit space "
                         f"{space.name!r}")
    custom = space.python_class_source()
    return custom if custom is not None else _generic_class(space, subspace)


def layer_list(arch: Arch) -> str:
    """One architecture as a Python layer list: ``[("nor_conv_3x3", 0), ...]``."""
    return "[" + ", ".join(f"({op!r}, {src})" for op, src in arch.as_layer_list()) + "]"


def encode_architectures(space: SearchSpace, archs: Sequence[Arch],
                         subspace: Subspace | None = None, *,
                         scores: Sequence[float] | None = None, metric: str = "score",
                         name: str = "arch") -> str:
    """The space's class (:func:`encode_space`) followed by each architecture's layer list.

    Args:
        space: the search space.
        archs: the architectures (anything with an ``arch`` attribute is accepted too).
        subspace: restrict the class comments to it; every architecture must lie in it.
        scores: optional metric per architecture, written as a trailing comment.
        metric: the name of that metric.
        name: prefix of the variables: ``arch_1``, ``arch_2``, ...

    Example:
        >>> from lapt.spaces import get_space
        >>> nb = get_space("nb201")
        >>> text = encode_architectures(nb, [nb.from_index(0)])
        >>> text.splitlines()[-1]
        "arch_1 = [('none', 0), ('none', 0), ('none', 1), ('none', 0), ('none', 1), ('none', 2)]"
    """
    cells = [space.check(getattr(a, "arch", a)) for a in archs]
    if scores is not None and len(scores) != len(cells):
        raise ValueError(f"encode: {len(scores)} scores for {len(cells)} architectures")
    if subspace is not None:
        outside = [i + 1 for i, a in enumerate(cells) if not space.contains(a, subspace)]
        if outside:
            raise SpaceError(f"encode: architectures {outside} lie outside the subspace")
    lines = [encode_space(space, subspace), "",
             f"# {len(cells)} architectures, as layer lists for the class above:"]
    for i, arch in enumerate(cells, start=1):
        tail = "" if scores is None else f"  # {metric}: {scores[i - 1]:.3f}"
        lines.append(f"{name}_{i} = {layer_list(arch)}{tail}")
    return "\n".join(lines)
