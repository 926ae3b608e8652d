"""The Python class prompt (the paper's Fig. 2): a space as a runnable PyTorch module.

:func:`encode_space` writes the search space as an ``nn.Module`` class that takes a
layer list (one ``(operator, source node)`` pair per layer), with an ``OPS`` table and
a comment per operator; :func:`encode_architectures` adds each architecture's layer
list. The text is ours and runs as is (tests execute it); each space declares its class
(``SearchSpace.python_class_source``: the generic cell of :mod:`lapt.spaces.cell_prompt`
from the space's ``op_code``, or its own, as DARTS has).
"""

from __future__ import annotations

from collections.abc import Sequence

from lapt.spaces import Arch, SearchSpace, SpaceError, Subspace


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
    return space.python_class_source(subspace)


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
