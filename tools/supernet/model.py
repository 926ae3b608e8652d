"""The DARTS evaluation network, as a supernet over a (sub)space and as a standalone cell.

Both are one class, :class:`DartsNetwork`: the standard DARTS network (a 3x3-conv stem,
``layers`` cells with reduction cells at 1/3 and 2/3 of the depth, global average pooling,
a linear classifier), whose cells hold, per edge ``source -> node``, a module per allowed
operator under ``edges["<source>_<node>"]["<op>"]``. The supernet holds every operator
the subspace allows on every edge; a :class:`StandaloneNetwork` only those of its genotype,
under the same names, so its state dict is a subset of the supernet's and a genotype
inherits its weights by a plain key lookup (:meth:`Supernet.extract`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from lapt.spaces import Arch, Subspace
from lapt.spaces.darts import CELLS, NODES, DartsSpace

from .ops import FactorizedReduce, ReLUConvBN, make_op

Pairs = Sequence[tuple[str, int]]
EdgeOps = dict[tuple[int, int], tuple[str, ...]]
"""Per edge ``(source, node)``, the operators present on it."""

STEM_MULTIPLIER = 3


def edge_ops_of_subspace(subspace: Subspace, cell: str) -> EdgeOps:
    """Per edge of ``cell``, the union of the operators its node's two layers allow."""
    out: dict[tuple[int, int], list[str]] = {}
    for c, k, a, b in DartsSpace.node_layers():
        if c != cell:
            continue
        for i in (a, b):
            choice = subspace.layers[i]
            for src in choice.sources:
                ops = out.setdefault((src, k), [])
                ops += [op for op in choice.ops if op not in ops]
    return {e: tuple(v) for e, v in out.items()}


def edge_ops_of_pairs(pairs: Pairs) -> EdgeOps:
    """The edges and operators one cell's 8 ``(op, source)`` pairs use."""
    return {(src, NODES[n // 2]): (op,) for n, (op, src) in enumerate(pairs)}


class Cell(nn.Module):
    """A DARTS cell: preprocess both inputs to C channels, 4 nodes, concat of nodes 2..5."""

    def __init__(self, edge_ops: EdgeOps, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.edges = nn.ModuleDict({
            f"{src}_{k}": nn.ModuleDict({
                op: make_op(op, c, 2 if reduction and src < 2 else 1) for op in ops})
            for (src, k), ops in sorted(edge_ops.items())})

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, pairs: Pairs,
                drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for n, k in enumerate(NODES):
            h: torch.Tensor | None = None
            for op, src in pairs[2 * n:2 * n + 2]:
                module = cast(nn.ModuleDict, self.edges[f"{src}_{k}"])[op]
                out = module(states[src])
                if drop_prob > 0.0 and self.training and not isinstance(module, nn.Identity):
                    out = _drop_path(out, drop_prob)
                h = out if h is None else h + out
            assert h is not None
            states.append(h)
        return torch.cat(states[2:], dim=1)


def _drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    keep = 1.0 - prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x.div(keep).mul(mask)


class DartsNetwork(nn.Module):
    """Stem, cells (reductions at ``layers // 3`` and ``2 * layers // 3``), pool, classifier.

    Args:
        normal: edges and operators of the normal cells.
        reduce: edges and operators of the reduction cells.
        channels: C, the width of the first cells (doubled at each reduction).
        layers: number of cells.
        num_classes: classifier outputs.
        in_channels: image channels (3 for CIFAR, 1 for digits).
    """

    def __init__(self, normal: EdgeOps, reduce: EdgeOps, channels: int = 16, layers: int = 8,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if layers < 3 or channels < 2:
            raise ValueError(f"need layers >= 3 (two reduction cells at 1/3 and 2/3 depth) and "
                             f"channels >= 2, got layers={layers}, channels={channels}")
        c_curr = STEM_MULTIPLIER * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_curr))
        c_pp, c_p, c = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            self.cells.append(Cell(reduce if reduction else normal, c_pp, c_p, c, reduction,
                                   reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(NODES) * c
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward_pairs(self, x: torch.Tensor, normal: Pairs, reduce: Pairs,
                      drop_prob: float = 0.0) -> torch.Tensor:
        """Logits of the path given by a normal and a reduce cell's ``(op, source)`` pairs."""
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal, drop_prob)
        return self.classifier(self.pool(s1).flatten(1))


class StandaloneNetwork(DartsNetwork):
    """The network of one genotype (the DARTS evaluation network, no auxiliary head)."""

    def __init__(self, arch: Arch, channels: int = 16, layers: int = 8, num_classes: int = 10,
                 in_channels: int = 3, drop_path: float = 0.0) -> None:
        pairs = arch.as_layer_list()
        self.arch = arch
        self.normal_pairs, self.reduce_pairs = pairs[:8], pairs[8:]
        super().__init__(edge_ops_of_pairs(self.normal_pairs), edge_ops_of_pairs(self.reduce_pairs),
                         channels, layers, num_classes, in_channels)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_pairs(x, self.normal_pairs, self.reduce_pairs, self.drop_path)


class Supernet(DartsNetwork):
    """One-shot network over a subspace: every allowed operator on every allowed edge.

    Example:
        >>> from lapt.spaces import get_space
        >>> space = get_space("darts")
        >>> net = Supernet(space.full_subspace(), channels=4, layers=3, in_channels=1)
        >>> arch = net.sample(np.random.default_rng(0))
        >>> net(torch.zeros(2, 1, 8, 8), arch).shape
        torch.Size([2, 10])
    """

    def __init__(self, subspace: Subspace, channels: int = 16, layers: int = 8,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        if subspace.space != "darts":
            raise ValueError(f"a DARTS supernet needs a subspace of 'darts', "
                             f"got {subspace.space!r}")
        super().__init__(edge_ops_of_subspace(subspace, CELLS[0]),
                         edge_ops_of_subspace(subspace, CELLS[1]),
                         channels, layers, num_classes, in_channels)
        self.subspace = subspace
        self.train_log: list[dict[str, float]] = []
        """Per trained epoch: mean loss, seconds, images/s (set by ``train_supernet``)."""
        self.train_seconds = 0.0
        self.config: Any = None
        """The ``TrainConfig`` it was trained with."""
        self.shape = {"channels": channels, "layers": layers, "num_classes": num_classes,
                      "in_channels": in_channels}

    @property
    def space(self) -> DartsSpace:
        space = self.subspace.search_space
        assert isinstance(space, DartsSpace)
        return space

    def sample(self, rng: np.random.Generator) -> Arch:
        """A genotype drawn uniformly from the supernet's subspace."""
        return self.space.sample(rng, self.subspace)

    def check(self, arch: Arch) -> Arch:
        """``arch`` if the supernet holds its path, else a ``ValueError`` naming why."""
        self.space.check(arch)
        if not self.subspace.contains(arch):
            raise ValueError(f"the supernet was built for a subspace that does not contain "
                             f"{self.space.encode(arch)}")
        return arch

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:  # type: ignore[override]
        pairs = arch.as_layer_list()
        return self.forward_pairs(x, pairs[:8], pairs[8:])

    def extract(self, arch: Arch) -> StandaloneNetwork:
        """A standalone network of ``arch`` carrying the supernet's weights (and BN statistics)."""
        net = StandaloneNetwork(self.check(arch), **self.shape)
        own = self.state_dict()
        net.load_state_dict({k: own[k].clone() for k in net.state_dict()})
        return net.to(next(self.parameters()).device)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
