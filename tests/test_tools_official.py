"""The official NAS-Bench-201 backend, on a small benchmark dict in the official format.

The dict is built here with the package's own ``ArchResults`` / ``ResultsCount`` state
dicts (a few cells, two seeds, both schedules); nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import pytest

from lapt.spaces import SpaceError, get_space
from lapt.tools.nb201_official import NB201OfficialEvaluator
from lapt.tools.search import random_search

api_utils = pytest.importorskip("nas_201_api.api_utils")

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
]
SETS = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
        "cifar100": ("x-valid", "x-test", "ori-test"),
        "ImageNet16-120": ("x-valid", "x-test", "ori-test")}


def acc(index: int, dataset: str, setname: str, seed: int, epochs: int) -> float:
    """A distinct, recognisable accuracy per (cell, dataset, set, seed, schedule)."""
    return (50.0 + 10 * index + list(SETS).index(dataset) + 0.1 * len(setname)
            + 0.01 * seed + (1.0 if epochs == 200 else 0.0))


def results(index: int, arch: str, epochs: int) -> dict[str, Any]:
    ar = api_utils.ArchResults(index, arch)
    for dataset, sets in SETS.items():
        for seed in (777, 888):
            rc = api_utils.ResultsCount(
                dataset, None, {e: 10.0 + e for e in range(epochs)}, {e: 1.0 for e in range(epochs)},
                params=0.1 * (index + 1), flop=10.0 * (index + 1),
                arch_config={"arch_str": arch, "channel": 16, "num_cells": 5, "class_num": 10},
                seed=seed, epochs=epochs, latency=[0.002 * (index + 1)])
            rc.reset_pseudo_train_times(1.5)
            keys = [f"{s}@{e}" for s in sets for e in range(epochs)]
            rc.update_eval({k: acc(index, dataset, k.split("@")[0], seed, epochs) for k in keys},
                           {k: 0.5 for k in keys}, {k: 0.1 for k in keys})
            ar.update(dataset, seed, rc)
    return ar.state_dict()


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    return {
        "meta_archs": list(ARCHS),
        "arch2infos": {i: {"less": results(i, a, 12), "full": results(i, a, 200)}
                       for i, a in enumerate(ARCHS)},
        "evaluated_indexes": list(range(len(ARCHS))),
    }


@pytest.mark.parametrize(("dataset", "val_set", "test_set"), [
    ("cifar10", ("cifar10-valid", "x-valid"), ("cifar10", "ori-test")),
    ("cifar100", ("cifar100", "x-valid"), ("cifar100", "x-test")),
    ("ImageNet16-120", ("ImageNet16-120", "x-valid"), ("ImageNet16-120", "x-test")),
])
@pytest.mark.parametrize("hp", ["12", "200"])
def test_val_and_test_follow_the_official_splits(official, dataset, val_set, test_set,
                                                 hp) -> None:  # type: ignore[no-untyped-def]
    ev = NB201OfficialEvaluator(official, dataset, hp=hp)
    space = get_space("nb201")
    epochs = int(hp)

    def mean(i: int, dataset: str, setname: str) -> float:
        return sum(acc(i, dataset, setname, seed, epochs) for seed in (777, 888)) / 2

    for i, text in enumerate(ARCHS):
        e = ev.evaluate(space.decode(text))
        assert e.val == pytest.approx(mean(i, *val_set))
        assert e.test == pytest.approx(mean(i, *test_set))
    assert ev.n_evals == 3 and ev.metric_name == "accuracy (%)"


def test_extra_info(official) -> None:  # type: ignore[no-untyped-def]
    ev = NB201OfficialEvaluator(official, "cifar100", hp=200)
    arch = get_space("nb201").decode(ARCHS[2])
    info = ev.info(arch)
    assert info.params_mb == pytest.approx(0.3) and info.flops_m == pytest.approx(30.0)
    assert info.latency_s == pytest.approx(0.006)
    assert info.train_time_s == pytest.approx(1.5 * 200)
    assert info.seeds == (777, 888)
    assert ev.n_evals == 0  # info is free


def test_search_over_the_official_backend(official) -> None:  # type: ignore[no-untyped-def]
    from lapt.spaces import validate_subspace

    space = get_space("nb201")
    cell = space.decode(ARCHS[0])
    sub = validate_subspace(space, {"layers": [{"layer": i, "ops": [op]}
                                               for i, op in enumerate(cell.ops)]}).subspace
    assert sub is not None
    ev = NB201OfficialEvaluator(official, "cifar10")
    result = random_search(ev, 5, sub, seed=0)
    assert result.stop_reason == "exhausted" and result.best_arch == cell
    assert result.best_test == ev.evaluate(cell).test
    with pytest.raises(SpaceError, match="is not in this NAS-Bench-201 file"):
        ev.evaluate(space.from_index(7))


def test_bad_input(official) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpaceError, match="unknown NAS-Bench-201 dataset 'cifar11'; valid: "
                                         "cifar10, cifar100, ImageNet16-120"):
        NB201OfficialEvaluator(official, "cifar11")
    with pytest.raises(SpaceError, match=r"hp='90'; valid: 12, 200"):
        NB201OfficialEvaluator(official, "cifar10", hp="90")
    with pytest.raises(SpaceError, match="missing keys"):
        NB201OfficialEvaluator({"meta_archs": []}, "cifar10")
    with pytest.raises(SpaceError, match="no NAS-Bench-201 file at"):
        NB201OfficialEvaluator("/nonexistent/NAS-Bench-201.pth", "cifar10")
