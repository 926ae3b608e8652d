"""principle_stats and the subspace it implies."""

from __future__ import annotations

import numpy as np
import pytest

from lapt.spaces import SpaceError, get_space, nb201, trans101, validate_subspace
from lapt.tools.stats import principle_stats, stats_subspace


def test_uniform_reference_enrichment() -> None:
    bench = nb201.benchmark()
    archive = bench.top("cifar10", 50)
    st = principle_stats(bench.space, archive)
    assert st.archive_size == 50 and st.reference == "uniform"
    for ls in st.layers:
        assert sum(r.count for r in ls.ops) == 50
        assert ls.sources == ()  # one candidate source per layer
        for r in ls.ops:
            assert r.reference == pytest.approx(1 / 5)
            assert r.enrichment == pytest.approx(r.count / 50 * 5)
    # the well-known NB201 pattern: no top cell cuts the edge 0->1... via 'none' everywhere
    conv3 = next(r for r in st.layers[0].ops if r.choice == "nor_conv_3x3")
    assert conv3.enrichment > 1


def test_reference_set() -> None:
    space = get_space("trans101")
    rng = np.random.default_rng(0)
    ref = [space.sample(rng) for _ in range(400)]
    st = principle_stats(space, ref[:40], reference=ref)
    assert st.reference == "400-cell"
    for ls in st.layers:
        assert sum(r.reference for r in ls.ops) == pytest.approx(1.0)
    with pytest.raises(SpaceError, match="at least one archive cell"):
        principle_stats(space, [])
    with pytest.raises(SpaceError, match="reference set is empty"):
        principle_stats(space, ref, reference=[])


def test_sources_are_counted_where_a_layer_has_several() -> None:
    space = get_space("darts")
    rng = np.random.default_rng(1)
    st = principle_stats(space, [space.sample(rng) for _ in range(30)])
    node5 = st.layers[space.layer_index("normal", 5, 1)]
    assert [r.choice for r in node5.sources] == [0, 1, 2, 3, 4]
    assert sum(r.count for r in node5.sources) == 30


def test_to_text_is_short_and_readable() -> None:
    bench = trans101.benchmark()
    text = principle_stats(bench.space, bench.top("class_scene", 50)).to_text()
    assert text.count("layer ") == 6
    assert "enrichment" in text and "nor_conv_3x3" in text
    assert len(text.splitlines()) < 60


@pytest.mark.parametrize("name", ["nb201", "trans101", "darts"])
def test_stats_subspace_is_valid(name: str) -> None:
    space = get_space(name)
    rng = np.random.default_rng(2)
    if name == "darts":
        archive = [space.sample(rng) for _ in range(20)]
    else:
        bench = (nb201 if name == "nb201" else trans101).benchmark()
        archive = bench.top(next(iter(bench.tasks)), 50)
    st = principle_stats(space, archive)
    for keep in (1, 2, None):
        sub = stats_subspace(st, keep=keep)
        report = validate_subspace(space, {"layers": [
            {"layer": i, "ops": list(c.ops), "sources": list(c.sources)}
            for i, c in enumerate(sub.layers)]})
        assert report.valid, report.message()
        assert sub.cardinality() <= space.cardinality()
        for ls, c in zip(st.layers, sub.layers):
            assert len(c.ops) >= 1
            best = max(ls.ops, key=lambda r: r.enrichment)
            assert best.choice in c.ops
    assert stats_subspace(st, threshold=0.0).cardinality() == space.cardinality()


def test_stats_subspace_relaxes_a_degenerate_choice() -> None:
    space = get_space("nb201")
    # an archive of cells whose every edge is 'none': the implied subspace would be dead
    cut = space.from_index(0)
    sub = stats_subspace(principle_stats(space, [cut] * 10), keep=1)
    assert space.has_live_cell(sub)
    with pytest.raises(ValueError, match="keep must be >= 1"):
        stats_subspace(principle_stats(space, [cut]), keep=0)
