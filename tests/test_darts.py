"""The DARTS space: genotypes, cardinality, subspaces, sampling, the class prompt."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lapt.spaces import Arch, LayerChoice, SpaceError, Subspace, get_space, validate_subspace
from lapt.spaces.darts import OPS, DartsSpace

# DARTS_V2 from the DARTS repository's genotypes.py (node 4 lists its inputs as 1, 0)
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


@pytest.fixture(scope="module")
def darts() -> DartsSpace:
    space = get_space("darts")
    assert isinstance(space, DartsSpace)
    return space


def small_subspace(darts: DartsSpace) -> Subspace:
    """A few choices per layer, some nodes with overlapping sources, some without."""
    rng = np.random.default_rng(3)
    layers = []
    for i, layer in enumerate(darts.layers):
        if i >= 8:  # the reduction cell fixed (distinct inputs), so brute force stays small
            layers.append(LayerChoice(ops=(OPS[1],), sources=(layer.sources[i % 2],)))
            continue
        ops = tuple(sorted(rng.choice(len(OPS), size=rng.integers(1, 3), replace=False)))
        srcs = tuple(sorted(rng.choice(layer.sources, size=min(len(layer.sources), 2),
                                       replace=False).tolist()))
        layers.append(LayerChoice(ops=tuple(OPS[i] for i in ops), sources=srcs))
    return Subspace(space="darts", layers=tuple(layers))


# ----------------------------------------------------------------------- genotypes
def test_darts_v2_round_trip(darts: DartsSpace) -> None:
    arch = darts.decode(DARTS_V2)
    assert darts.encode(arch) == DARTS_V2
    g = darts.to_genotype(arch)
    assert g.normal[7] == ("dil_conv_3x3", 2) and g.reduce_concat == [2, 3, 4, 5]
    assert arch.as_layer_list()[4:6] == [("sep_conv_3x3", 1), ("skip_connect", 0)]
    assert darts.canonical(arch).as_layer_list()[4:6] == [("skip_connect", 0),
                                                           ("sep_conv_3x3", 1)]
    assert not darts.is_degenerate(arch)


def test_decode_accepts_range_and_double_quotes(darts: DartsSpace) -> None:
    text = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)").replace("'", '"')
    assert darts.decode(text) == darts.decode(DARTS_V2)


def test_random_round_trips(darts: DartsSpace) -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        arch = darts.sample(rng)
        assert darts.decode(darts.encode(arch)) == arch
        assert darts.from_genotype(darts.to_genotype(arch)) == arch


@pytest.mark.parametrize(("text", "message"), [
    ("", "expected 'Genotype', got the end of the text"),
    ("__import__('os').system('true')", "unexpected text \".system('true')\" at character 16"),
    ("DARTS_V2", "expected 'Genotype', got 'DARTS_V2' at character 0"),
    (DARTS_V2[:60], "expected a quoted operator name, got the end of the text"),
    (DARTS_V2[:-1], "expected ',' or ')', got the end of the text"),
    (DARTS_V2.replace("('sep_conv_3x3', 0), ", "('sep_conv_3x3' 0), ", 1), "expected ','"),
    (DARTS_V2.replace("sep_conv_3x3", "conv_9x9", 1), "unknown operator 'conv_9x9'"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "source 5 is not an earlier"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"),
     "normal node 5: both inputs come from node 0"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"),
     "normal_concat must be [2, 3, 4, 5]"),
    (DARTS_V2.replace(", ('max_pool_3x3', 1)], reduce_concat", "], reduce_concat"),
     "reduce needs 8 (op, source) pairs"),
    (DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "normal=[]"), "'normal' is repeated"),
    (DARTS_V2.replace(", reduce_concat=[2, 3, 4, 5]", ""), "missing field(s) reduce_concat"),
    (DARTS_V2 + "; print(1)", "unexpected text '; print(1)' at character"),
    (DARTS_V2.replace("'sep_conv_3x3'", "sep_conv_3x3", 1),
     "expected a quoted operator name, got 'sep_conv_3x3'"),
])
def test_malformed_genotypes(darts: DartsSpace, text: str, message: str) -> None:
    with pytest.raises(SpaceError) as err:
        darts.decode(text)
    assert message in str(err.value)


def test_layer_lists_and_constraint(darts: DartsSpace) -> None:
    arch = darts.decode(DARTS_V2)
    assert darts.arch(arch.ops, arch.sources) == arch
    bad = Arch(arch.ops, (1,) + arch.sources[1:])  # node 2 takes node 1 twice
    with pytest.raises(SpaceError, match="normal node 2: both inputs come from node 1"):
        darts.check(bad)
    assert not darts.contains(bad)
    with pytest.raises(SpaceError, match=r"source 3 not among \[0, 1\]"):
        darts.check(Arch(arch.ops, (3,) + arch.sources[1:]))


# --------------------------------------------------------------------- cardinality
def test_full_cardinality(darts: DartsSpace) -> None:
    per_cell_ordered = 8**8 * (2 * 1) * (3 * 2) * (4 * 3) * (5 * 4)
    assert per_cell_ordered == 48_318_382_080
    assert darts.cardinality() == per_cell_ordered**2
    assert darts.network_count() == (180 * 8**8) ** 2 == 3_019_898_880**2
    assert darts.network_count(darts.without_none()) == 1_037_664_180**2
    assert darts.cardinality(darts.without_none()) == (7**8 * 2880) ** 2


def test_cardinality_matches_brute_force(darts: DartsSpace) -> None:
    sub = small_subspace(darts)
    brute = [Arch(tuple(o for o, _ in c), tuple(s for _, s in c))
             for c in itertools.product(*[list(itertools.product(l.ops, l.sources))
                                          for l in sub.layers])]
    brute = [a for a in brute if not darts.constraint_problems(a)]
    listed = list(darts.enumerate(sub))
    assert 0 < len(brute) == darts.cardinality(sub) == sub.cardinality() == len(listed)
    assert set(listed) == set(brute)
    assert darts.network_count(sub) == len({darts.canonical(a) for a in brute})


def test_enumerating_the_full_space_is_refused(darts: DartsSpace) -> None:
    with pytest.raises(SpaceError, match="refusing to enumerate"):
        next(darts.enumerate())


# ------------------------------------------------------------------ subspace tools
def test_sample_mutate_neighbours_stay_in_subspace(darts: DartsSpace) -> None:
    sub = small_subspace(darts)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(200):
        arch = darts.sample(rng, sub)
        assert sub.contains(arch) and not darts.arch_problems(arch)
        seen.add(arch)
        child = darts.mutate(arch, rng, sub)
        assert sub.contains(child)
        assert sum(p != q for p, q in zip(arch.as_layer_list(), child.as_layer_list())) == 1
    assert len(seen) > 150
    nbrs = darts.neighbours(arch, sub)
    assert nbrs and all(sub.contains(n) for n in nbrs)


def test_sample_is_uniform_over_a_node(darts: DartsSpace) -> None:
    rng = np.random.default_rng(0)
    counts: dict[tuple[int, int], int] = {}
    for _ in range(6000):
        a = darts.sample(rng)
        key = (a.sources[6], a.sources[7])  # normal node 5: 5 * 4 ordered source pairs
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 20 and min(counts.values()) > 200 and max(counts.values()) < 400


def test_rea_with_crossover_stays_in_subspace(darts: DartsSpace) -> None:
    from lapt.tools.evaluate import Evaluator
    from lapt.tools.search import rea

    class SepConvCount(Evaluator):
        def _measure(self, arch: Arch) -> tuple[float, float]:
            n = sum(op.startswith("sep") for op in arch.ops)
            return float(n), float(n)

    sub = validate_subspace(darts, {"layers": [
        {"layer": i, "ops": ["sep_conv_3x3", "skip_connect", "max_pool_3x3"]}
        for i in range(16)]}).subspace
    assert sub is not None
    ev = SepConvCount(darts, "count")
    result = rea(ev, None, sub, seed=0, population=20, tournament=2, crossover=0.5,
                 mutation=0.5, generations=10)
    assert all(sub.contains(t.arch) for t in result.trials)
    assert result.n_evals > 100 and result.best.val >= 10


def test_validation_messages(darts: DartsSpace) -> None:
    report = validate_subspace(darts, {"layers": [
        {"layer": 2, "ops": ["sep_conv_3x3"], "sources": [1]},
        {"layer": 3, "ops": ["skip_connect"], "sources": [1]},
    ]})
    assert not report.valid
    assert ("normal node 3: input 0 (layer 2) and input 1 (layer 3) both allow only source 1"
            in report.message())
    report = validate_subspace(darts, {"layers": [
        {"layer": 0, "ops": ["conv_7x7", 99]},
        {"layer": 1, "ops": ["none"], "sources": [4]},
        {"layer": 16, "ops": ["none"]},
    ]})
    text = report.message()
    assert "unknown operator 'conv_7x7' at layer 0 (normal node 2, input 0)" in text
    assert "unknown operator id 99" in text
    assert "layer 1 (normal node 2, input 1): sources [4] are not among its candidates [0, 1]" \
        in text
    assert "layer 16 is out of range: darts has layers 0..15" in text
    # the reduction cell's edges from its inputs all cut: every cell is degenerate
    dead = validate_subspace(darts, {"layers": [
        {"layer": i, "ops": ["none"], "sources": [0, 1]} for i in range(8, 16, 2)]
        + [{"layer": i, "ops": ["none"]} for i in range(9, 16, 2)]})
    assert not dead.valid and "degenerate" in dead.message()
    ok = validate_subspace(darts, {"layers": [{"layer": 0, "ops": ["none"]}]})
    assert ok.valid and ok.subspace is not None


def test_graph_and_degenerate_cells(darts: DartsSpace) -> None:
    arch = darts.decode(DARTS_V2)
    g = darts.to_graph(arch)
    assert g.number_of_nodes() == 14 and g.number_of_edges() == 16 + 8
    assert g.nodes[9]["cell"] == "reduce" and g.nodes[9]["node"] == 2
    ops = list(arch.ops)
    for i in range(8, 16):  # reduction cell: everything cut
        ops[i] = "none"
    assert darts.is_degenerate(Arch(tuple(ops), arch.sources))
    ops = ["none"] * 16
    ops[7] = "sep_conv_3x3"  # normal node 5 from node 2, which is dead
    ops[8] = "skip_connect"
    assert darts.is_degenerate(Arch(tuple(ops), arch.sources))


def test_python_class_prompt_runs(darts: DartsSpace) -> None:
    torch = pytest.importorskip("torch")
    source = darts.python_class_source()
    for op, comment in darts.op_comments.items():
        assert f"# {comment}" in source and repr(op) in source
    namespace: dict[str, object] = {}
    exec(compile(source, "<darts prompt>", "exec"), namespace)  # noqa: S102 (our own code)
    rng = np.random.default_rng(0)
    for arch in [darts.decode(DARTS_V2), darts.sample(rng), darts.sample(rng)]:
        network = namespace["Network"]
        net = network(arch.as_layer_list(), C=4, in_channels=1)  # type: ignore[operator]
        out = net(torch.zeros(2, 1, 8, 8))
        assert tuple(out.shape) == (2, 16, 4, 4)
