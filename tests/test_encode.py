"""The Python class prompt: the generated source runs, and its wiring is the cell DAG.

The tests execute text that :mod:`lapt.tools.encode` generates (ours, never a model's).
Wiring: every operator is replaced by a multiplication with a weight per layer, so a
node's value is the sum over paths of the products of the weights; the same sum
computed on ``space.to_graph(arch)`` must match.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest

from lapt.spaces import Arch, SearchSpace, SpaceError, get_space, validate_subspace
from lapt.tools.encode import encode_architectures, encode_space, layer_list

torch = pytest.importorskip("torch")
from torch import nn


def load(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # noqa: S102 (our own text)
    return namespace


class Scale(nn.Module):
    def __init__(self, w: float) -> None:
        super().__init__()
        self.w = w

    def forward(self, x: Any) -> Any:
        return x * self.w


def weighted_ops(namespace: dict[str, Any], weights: list[float]) -> None:
    """Make every OPS constructor return the next layer's Scale (layers build in order)."""
    made = iter(weights)
    namespace["OPS"] = {op: (lambda *args: Scale(next(made))) for op in namespace["OPS"]}


def path_sums(g: nx.MultiDiGraph, weights: list[float], inputs: dict[int, float]) -> dict:
    value: dict[int, float] = {}
    for node in nx.topological_sort(g):
        if node in inputs:
            value[node] = inputs[node]
            continue
        value[node] = sum(weights[d["layer"]] * value[u]
                          for u, _, d in g.in_edges(node, data=True) if d["layer"] is not None)
    return value


@pytest.mark.parametrize("name", ["nb201", "trans101"])
def test_generated_cell_runs_and_matches_the_graph(name: str) -> None:
    space = get_space(name)
    source = encode_space(space)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(8)] + [space.from_index(space.cardinality() - 1)]
    x = torch.randn(2, 4, 8, 8)
    for arch in archs:
        ns = load(source)
        cell = ns["Cell"](arch.as_layer_list(), 4)
        assert cell(x).shape == x.shape
        # wiring against the DAG
        weights = list(rng.uniform(0.5, 1.5, len(space.layers)))
        ns = load(source)
        weighted_ops(ns, weights)
        out = ns["Cell"](arch.as_layer_list(), 1)(torch.ones(1, 1, 1, 1, dtype=torch.float64))
        expected = path_sums(space.to_graph(arch), weights, {0: 1.0})[space.output_node]
        assert float(out) == pytest.approx(expected, rel=1e-12)
    cut = load(source)["Cell"](space.from_index(0).as_layer_list(), 4)  # every layer 'none'
    assert torch.count_nonzero(cut(x)) == 0


def test_generated_darts_cells_run_and_match_the_graph() -> None:
    space = get_space("darts")
    source = encode_space(space)
    rng = np.random.default_rng(1)
    for _ in range(4):
        arch = space.sample(rng)
        net = load(source)["Network"](arch.as_layer_list(), C=4)
        assert net(torch.randn(2, 3, 8, 8)).shape == (2, 16, 4, 4)
        g = space.to_graph(arch)
        weights = list(rng.uniform(0.5, 1.5, len(space.layers)))
        for c, cell_name in enumerate(("normal", "reduce")):
            ns = load(source)
            weighted_ops(ns, weights[8 * c:8 * c + 8])
            cell = ns["Cell"](arch.as_layer_list()[8 * c:8 * c + 8], 1, reduction=False)
            sub = g.subgraph([n for n in g if g.nodes[n]["cell"] == cell_name])
            for s0, s1 in ((1.0, 0.0), (0.0, 1.0)):
                t = [torch.full((1, 1, 1, 1), v, dtype=torch.float64) for v in (s0, s1)]
                out = cell(*t).flatten().tolist()
                value = path_sums(sub, weights, {7 * c: s0, 7 * c + 1: s1})
                assert out == pytest.approx([value[7 * c + k] for k in (2, 3, 4, 5)], rel=1e-12)


def test_encode_architectures_lists_layer_lists() -> None:
    space = get_space("nb201")
    rng = np.random.default_rng(2)
    archs = [space.sample(rng) for _ in range(3)]
    text = encode_architectures(space, archs, scores=[91.5, 90.25, 89.0], metric="val acc")
    ns = load(text)
    for i, arch in enumerate(archs, start=1):
        assert ns[f"arch_{i}"] == arch.as_layer_list()
        assert ns["Cell"](ns[f"arch_{i}"], 2) is not None
    assert "# val acc: 90.250" in text
    for op, comment in space.op_comments.items():
        assert f"# {comment}" in text and repr(op) in text
    assert layer_list(archs[0]) in text


def test_encode_with_subspace() -> None:
    space: SearchSpace = get_space("trans101")
    report = validate_subspace(space, {"layers": [{"layer": i, "ops": ["nor_conv_3x3", 1]}
                                                  for i in range(6)]})
    sub = report.subspace
    assert sub is not None
    inside = space.arch(["nor_conv_3x3"] * 6)
    text = encode_architectures(space, [inside], sub)
    assert "'nor_conv_1x1'" not in text.split("class Cell")[0]  # OPS shows the subspace's
    assert "operator in ['skip_connect', 'nor_conv_3x3'], from node 0 to node 1" in text
    with pytest.raises(SpaceError, match=r"architectures \[1\] lie outside the subspace"):
        encode_architectures(space, [space.arch(["none"] * 6)], sub)
    with pytest.raises(SpaceError, match="does not fit space"):
        encode_space(get_space("nb201"), sub)


def test_encode_rejects_bad_input() -> None:
    space = get_space("nb201")
    with pytest.raises(SpaceError, match="needs 6 layers"):
        encode_architectures(space, [Arch(("none",), (0,))])
    with pytest.raises(ValueError, match="2 scores for 1 architectures"):
        encode_architectures(space, [space.from_index(5)], scores=[1.0, 2.0])
