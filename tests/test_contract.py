"""Contract tests shared by every implementation (optuna's shared sampler suite, in spirit).

Every registered search space passes the same space suite, and every search strategy
passes the same strategy suite on every space. A new space or strategy is covered by
adding its name to ``SPACES`` / ``STRATEGIES``; every registered space is, and the
example table space ``tiny201`` too.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lapt.spaces import (
    Arch,
    SearchSpace,
    Subspace,
    get_space,
    register_space,
    space_names,
    unregister_space,
    validate_subspace,
)
from lapt.spaces.table import TableSpace
from lapt.tools.evaluate import Evaluator
from lapt.tools.search import STRATEGIES, SearchError, run_search, search

SPACES = [*space_names(), "tiny201"]  # and a table space from a CSV (examples/tiny201)
TINY201 = Path(__file__).resolve().parents[1] / "examples" / "tiny201" / "tiny201" / "space.yaml"
KNOBS = {"rea": {"population": 5, "tournament": 2}, "random": {}, "local": {}}


class HashEvaluator(Evaluator):
    """A deterministic synthetic metric for any space (no table needed)."""

    def _measure(self, arch: Arch) -> tuple[float, float]:
        h = zlib.crc32(repr(arch).encode())
        return float(h % 10_007), float(h % 9_973)


def random_subspace(space: SearchSpace, rng: np.random.Generator, max_ops: int = 3) -> Subspace:
    """A random valid subspace: per layer a random subset of ops (and of sources)."""
    for _ in range(1_000):
        layers = []
        for i, layer in enumerate(space.layers):
            k = int(rng.integers(1, min(max_ops, len(layer.ops)) + 1))
            ops = [str(o) for o in rng.choice(layer.ops, size=k, replace=False)]
            n_src = int(rng.integers(1, len(layer.sources) + 1))
            src = [int(s) for s in rng.choice(layer.sources, size=n_src, replace=False)]
            layers.append({"layer": i, "ops": ops, "sources": src})
        report = validate_subspace(space, {"layers": layers})
        if report.valid:
            assert report.subspace is not None
            return report.subspace
    raise AssertionError(f"no valid random subspace of {space.name}")


def tiny_subspace(space: SearchSpace, size: int) -> Subspace:
    """A valid subspace of exactly ``size`` (1 or 2) cells: one choice per layer, one
    layer with ``size`` operators."""
    layers = []
    for i, layer in enumerate(space.layers):
        # the lowest and highest source keep DARTS' two inputs distinct and ordered
        src = layer.sources[0] if i % 2 == 0 or len(layer.sources) == 1 else layer.sources[-1]
        ops = [o for o in layer.ops if o != space.zero_op][: size if i == 0 else 1]
        layers.append({"layer": i, "ops": ops, "sources": [src]})
    report = validate_subspace(space, {"layers": layers})
    assert report.valid, report.message()
    assert report.subspace is not None and report.subspace.cardinality() == size
    return report.subspace


@pytest.fixture(params=SPACES)
def space(request: pytest.FixtureRequest) -> Iterator[SearchSpace]:
    if request.param != "tiny201" or "tiny201" in space_names():
        yield get_space(request.param)
        return
    register_space(TableSpace.from_yaml(TINY201))
    try:
        yield get_space("tiny201")
    finally:
        unregister_space("tiny201")


# ----------------------------------------------------------------- space suite
def test_round_trip_on_samples(space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = space.sample(rng)
        assert space.decode(space.encode(arch)) == arch


def test_sample_mutate_neighbours_stay_in_subspace(space: SearchSpace) -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        sub = random_subspace(space, rng)
        for _ in range(20):
            arch = space.sample(rng, sub)
            assert space.contains(arch, sub) and sub.contains(arch)
            child = space.mutate(arch, rng, sub)
            assert space.contains(child, sub)
            assert sum(a != b for a, b in zip(arch.as_layer_list(), child.as_layer_list())) <= 1
        for n in space.neighbours(arch, sub)[:50]:
            assert space.contains(n, sub)
            assert sum(a != b for a, b in zip(arch.as_layer_list(), n.as_layer_list())) == 1


def test_cardinality(space: SearchSpace) -> None:
    rng = np.random.default_rng(2)
    for _ in range(5):
        sub = random_subspace(space, rng, max_ops=2)
        product = math.prod(len(c.ops) * len(c.sources) for c in sub.layers)
        if space.fixed_sources:
            assert sub.cardinality() == product
        else:  # cross-layer constraints: never more than the product
            assert sub.cardinality() <= product
    small = tiny_subspace(space, 2)
    assert small.cardinality() == len(list(small.enumerate())) == 2
    if space.fixed_sources:
        assert space.cardinality() == math.prod(len(layer.ops) for layer in space.layers)


def test_contains(space: SearchSpace) -> None:
    sub = tiny_subspace(space, 1)
    (only,) = list(sub.enumerate())
    assert space.contains(only) and space.contains(only, sub)
    other = space.mutate(only, np.random.default_rng(3))
    assert other != only and space.contains(other) and not space.contains(other, sub)
    assert not space.contains(Arch(only.ops[:-1], only.sources[:-1]))


def test_to_graph_has_one_edge_per_layer(space: SearchSpace) -> None:
    arch = space.sample(np.random.default_rng(4))
    g = space.to_graph(arch)
    layer_edges = [(u, v, d) for u, v, d in g.edges(data=True) if d.get("layer") is not None]
    assert sorted(d["layer"] for _, _, d in layer_edges) == list(range(len(space.layers)))
    for u, v, d in layer_edges:
        i = d["layer"]
        assert d["op"] == arch.ops[i]
        assert g.nodes[u].get("node", u) == arch.sources[i]
        assert g.nodes[v].get("node", v) == space.layers[i].target


def test_degenerate_check(space: SearchSpace) -> None:
    arch = space.sample(np.random.default_rng(5))
    cut = Arch(tuple(space.zero_op for _ in arch.ops), arch.sources)
    assert space.is_degenerate(cut)
    live_op = next(o for o in space.ops if o != space.zero_op)
    assert not space.is_degenerate(Arch(tuple(live_op for _ in arch.ops), arch.sources))


def test_constraints_are_declared(space: SearchSpace) -> None:
    """A space that can reject cells across layers says so, or searches would skip the check."""
    overridden = type(space).constraint_problems is not SearchSpace.constraint_problems
    assert space.has_constraints == overridden
    rng = np.random.default_rng(6)
    for _ in range(50):
        assert space.constraint_problems(space.sample(rng)) == []  # samples obey them


def test_subspace_of_another_space_is_refused(space: SearchSpace) -> None:
    other = get_space(next(n for n in SPACES if n != space.name))
    ev = HashEvaluator(space, "synthetic")
    with pytest.raises(ValueError, match="does not fit space"):
        search("random", ev, 5, other.full_subspace(), seed=0)


# -------------------------------------------------------------- strategy suite
@pytest.fixture(params=list(STRATEGIES))
def strategy(request: pytest.FixtureRequest) -> str:
    return request.param


def test_strategy_stays_in_subspace(space: SearchSpace, strategy: str) -> None:
    rng = np.random.default_rng(6)
    for _ in range(3):
        sub = random_subspace(space, rng)
        ev = HashEvaluator(space, "synthetic")
        result = search(strategy, ev, 60, sub, seed=int(rng.integers(1000)), **KNOBS[strategy])
        assert result.trials and all(sub.contains(t.arch) for t in result.trials)
        assert sub.contains(result.best_arch)
        assert result.best_val == max(t.val for t in result.trials)


def test_strategy_reproducible_by_seed(space: SearchSpace, strategy: str) -> None:
    sub = random_subspace(space, np.random.default_rng(7))

    def archs(seed: int) -> list[Arch]:
        ev = HashEvaluator(space, "synthetic")
        return [t.arch for t in search(strategy, ev, 40, sub, seed=seed,
                                       **KNOBS[strategy]).trials]

    assert archs(11) == archs(11)
    assert archs(11) != archs(12)


def test_strategy_respects_budget(space: SearchSpace, strategy: str) -> None:
    ev = HashEvaluator(space, "synthetic")
    ev.evaluate(space.sample(np.random.default_rng(8)))  # spent before: not this search's
    result = search(strategy, ev, 25, None, seed=0, **KNOBS[strategy])
    assert result.n_evals == 25 == sum(t.new for t in result.trials)
    assert ev.n_evals == 26
    assert result.stop_reason == "budget"
    assert [t.n_evals for t in result.evaluations] == list(range(1, 26))


@pytest.mark.parametrize("size", [1, 2])
def test_strategy_stops_on_exhausted_subspace(space: SearchSpace, strategy: str,
                                              size: int) -> None:
    sub = tiny_subspace(space, size)
    ev = HashEvaluator(space, "synthetic")
    knobs = {"population": 1, "tournament": 1} if strategy == "rea" else {}
    result = search(strategy, ev, 100, sub, seed=0, **knobs)
    assert result.stop_reason == "exhausted"
    assert result.n_evals == size == ev.n_evals
    again = search(strategy, ev, 100, sub, seed=1, **knobs)  # nothing new to spend on
    assert again.n_evals == 0 and again.stop_reason == "exhausted"
    assert again.best_arch == result.best_arch


def test_strategy_rejects_bad_budget(space: SearchSpace, strategy: str) -> None:
    ev = HashEvaluator(space, "synthetic")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(SearchError, match="budget"):
            search(strategy, ev, bad, seed=0)  # type: ignore[arg-type]
    with pytest.raises(SearchError, match="unknown search strategy 'nope'; valid: rea"):
        search("nope", ev, 5)


def test_strategy_ask_tell(space: SearchSpace, strategy: str) -> None:
    ev = HashEvaluator(space, "synthetic")
    strat = STRATEGIES[strategy](space, None, 0, **KNOBS[strategy])
    arch = strat.ask()
    assert arch is not None
    with pytest.raises(SearchError, match="twice"):
        strat.ask()
    strat.tell(ev.evaluate(arch))
    with pytest.raises(SearchError, match="without a pending"):
        strat.tell(ev.evaluate(arch))
    result = run_search(STRATEGIES[strategy](space, None, 0, **KNOBS[strategy]), ev, 10)
    assert result.trials[0].arch == arch  # same seed, same first proposal
