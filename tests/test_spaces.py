"""NB201 and Trans101 spaces: encodings, subspaces and their validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lapt.spaces import (
    SpaceError,
    Subspace,
    get_space,
    validate_subspace,
)


@pytest.fixture(params=["nb201", "trans101"])
def space(request):
    return get_space(request.param)


def test_cardinalities():
    assert get_space("nb201").cardinality() == 15_625
    assert get_space("trans101").cardinality() == 4_096


def test_round_trip_every_cell(space):
    seen = set()
    for i, arch in enumerate(space.enumerate()):
        text = space.encode(arch)
        assert space.decode(text) == arch
        assert space.index(arch) == i and space.from_index(i) == arch
        seen.add(text)
    assert len(seen) == space.cardinality()


def test_official_strings():
    nb = get_space("nb201")
    s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    a = nb.decode(s)
    assert a.ops[2] == "avg_pool_3x3" and a.sources == (0, 0, 1, 0, 1, 2)
    tr = get_space("trans101")
    a = tr.decode("64-41414-3_32_132")
    assert a.ops == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1", "skip_connect",
                     "nor_conv_3x3", "nor_conv_1x1")
    assert tr.encode(a) == "64-41414-3_32_132"
    assert tr.decode("3-3-2-1-3-2") == a


def test_nb201_parser_reads_strings_as_the_official_one():
    """Our parser (no torch import) against nas-bench-201's str2lists, every cell and
    malformed strings: the same layer lists, and an error exactly where it has one."""
    from nas_201_api import NASBench201API

    nb = get_space("nb201")
    for arch in nb.enumerate():
        text = nb.encode(arch)
        official = [pair for node in NASBench201API.str2lists(text) for pair in node]
        assert [(op, src) for op, src in zip(arch.ops, arch.sources)] == official
    for bad in ("|none~0|+|none~0|none~x|+|none~0|none~1|none~2|",
                "|none~0~1|+|none~0|none~1|+|none~0|none~1|none~2|",
                "|none|+|none~0|none~1|+|none~0|none~1|none~2|"):
        with pytest.raises((AssertionError, ValueError)):
            NASBench201API.str2lists(bad)
        with pytest.raises(SpaceError, match="op~node"):
            nb.decode(bad)
    spaced = "|none~ 0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert NASBench201API.str2lists(spaced)[0] == (("none", 0),)
    assert nb.decode(spaced) == nb.arch(["none"] * 6)


@pytest.mark.parametrize("bad, needle", [
    ("", "malformed"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "malformed"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operator 'conv'"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 must list inputs [0]"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "op~node"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must list inputs [0, 1]"),
])
def test_nb201_malformed(bad, needle):
    with pytest.raises(SpaceError, match=None) as err:
        get_space("nb201").decode(bad)
    assert needle in str(err.value)


@pytest.mark.parametrize("bad", ["64-41414-4_33_333", "64-41414-3_3_333", "3_33_333", "1-2-3"])
def test_trans101_malformed(bad):
    with pytest.raises(SpaceError, match="expected 64-41414-a_bc_def"):
        get_space("trans101").decode(bad)


def test_layer_list_errors(space):
    with pytest.raises(SpaceError, match="needs 6 operators"):
        space.arch(["none"] * 5)
    with pytest.raises(SpaceError, match="unknown operator 'conv9x9' at layer 2"):
        space.arch(["none", "none", "conv9x9", "none", "none", "none"])
    with pytest.raises(SpaceError, match="unknown operator id 7"):
        space.arch([0, 0, 7, 0, 0, 0])
    assert space.arch([3, 3, 3, 3, 3, 3]) == space.arch(["nor_conv_3x3"] * 6)


def test_unknown_space_lists_choices():
    with pytest.raises(SpaceError, match="valid: nb201, trans101, darts"):
        get_space("nb101")


def test_degenerate(space):
    assert space.is_degenerate(space.arch(["none"] * 6))
    # only 0->1->3 is cut: 0->3 alive
    assert not space.is_degenerate(space.arch(["none", "none", "none", "skip_connect", "none",
                                               "none"]))
    # a path 0->2->3 through non-zero ops
    assert not space.is_degenerate(space.arch([0, 3, 0, 0, 0, 1]))
    assert space.is_degenerate(space.arch([3, 0, 0, 0, 0, 1]))  # 0->1 dead end, 2 unreachable
    g = space.to_graph(space.arch([1, 2, 3, 1, 2, 3]))
    assert sorted((u, v) for u, v in g.edges()) == sorted(
        [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)])


def test_subspace_cardinality_is_product(space):
    prop = {"layers": [{"layer": 0, "ops": [3, "skip_connect"]},
                       {"layer": 3, "ops": ["nor_conv_3x3"]},
                       {"layer": 5, "ops": ["none", 2, "nor_conv_3x3"]}]}
    r = validate_subspace(space, prop)
    assert r.valid, r.violations
    sub = r.subspace
    n = len(space.ops)
    assert sub.cardinality() == 2 * 1 * 3 * n ** 3
    assert sub.cardinality() == math.prod(len(c.ops) * len(c.sources) for c in sub.layers)
    assert sum(1 for _ in sub.enumerate()) == sub.cardinality()
    assert sub.layers[0].ops == ("skip_connect", "nor_conv_3x3")  # ids resolved, canonical order
    assert Subspace.model_validate_json(sub.model_dump_json()) == sub
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = sub.sample(rng)
        assert sub.contains(a)
        assert sub.contains(sub.mutate(a, rng))
    assert not sub.contains(space.arch(["none"] * 6))
    assert len(r.notes) == 3  # layers 1, 2, 4 unrestricted


def test_every_violation_is_reported(space):
    r = validate_subspace(space, {"layers": [
        {"layer": 0, "ops": ["conv5x5", 9]},
        {"layer": 1, "ops": []},
        {"layer": 2, "ops": ["none"], "sources": [0, 7]},
        {"layer": 9, "ops": ["none"]},
        {"layer": 2, "ops": ["none"]},
        {"layer": 3, "ops": ["none"], "sources": []},
    ]})
    assert not r.valid and r.subspace is None
    text = r.message()
    assert "unknown operator 'conv5x5' at layer 0" in text and "valid: none" in text
    assert "unknown operator id 9 at layer 0" in text
    assert "layer 1 (edge 0->2) allows no operator" in text
    assert "sources [0, 7] are not among its candidates [1]" in text
    assert "layer 9 is out of range" in text and "0..5" in text
    assert "layer 2 (edge 1->2) is listed twice" in text
    assert "layer 3 (edge 0->3) allows no source" in text
    assert len(r.violations) == 7


def test_all_degenerate_subspace_is_rejected(space):
    r = validate_subspace(space, {"layers": [
        {"layer": 0, "ops": ["none"]}, {"layer": 1, "ops": ["none"]},
        {"layer": 3, "ops": ["none"]}]})
    assert not r.valid
    assert "every cell of this subspace is degenerate" in r.violations[0]


def test_subspace_of_other_space_is_refused():
    sub = get_space("trans101").full_subspace()
    with pytest.raises(SpaceError, match="does not fit space 'nb201'"):
        get_space("nb201").cardinality(Subspace(space="trans101", layers=sub.layers[:5]))
