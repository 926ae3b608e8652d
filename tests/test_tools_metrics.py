"""Metrics: evals-to-top-q, rank, regret, best-so-far curves, eEDF."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lapt.spaces import nb201, trans101, validate_subspace
from lapt.tools.evaluate import TabularEvaluator
from lapt.tools.metrics import (
    best_so_far,
    eedf,
    error_name,
    error_of,
    evals_to_top_q,
    rank,
    regret,
    top_q_cut,
)
from lapt.tools.search import rea


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return nb201.benchmark()


def test_rank_and_regret(bench) -> None:  # type: ignore[no-untyped-def]
    best = bench.top("cifar10", 1, by="test")[0]
    assert rank(bench, "cifar10", best) == 1
    assert regret(bench, "cifar10", best) == 0.0
    worst = bench.space.from_index(int(np.argmin(bench.test("cifar10"))))
    assert rank(bench, "cifar10", worst) > 15_000
    assert regret(bench, "cifar10", worst) == pytest.approx(
        bench.test("cifar10").max() - bench.test("cifar10").min())


def test_best_so_far_follows_validation_not_test(bench) -> None:  # type: ignore[no-untyped-def]
    ev = TabularEvaluator(bench, "cifar10")
    order = np.argsort(-bench.val("cifar10"), kind="stable")
    cells = [bench.space.from_index(int(i)) for i in (order[5000], order[0], order[10])]
    for a in cells:
        ev.evaluate(a)
    curve = best_so_far(ev.history)
    tests = [ev.history[i].test for i in range(3)]
    assert curve.tolist() == [tests[0], tests[1], tests[1]]  # order[10] has lower val


def test_best_so_far_of_a_search_result_counts_evaluations(bench) -> None:  # type: ignore[no-untyped-def]
    ev = TabularEvaluator(bench, "cifar10")
    result = rea(ev, 200, seed=0, population=5, tournament=2)
    curve = best_so_far(result)
    assert len(curve) == 200
    assert curve[-1] == result.best_test
    assert np.array_equal(curve, best_so_far(ev.history))  # fresh evaluator: same thing


def test_evals_to_top_q(bench) -> None:  # type: ignore[no-untyped-def]
    space, task = bench.space, "cifar10"
    assert math.ceil(0.001 * 15_625) == 16
    ranks = bench.ranks(task)
    bad = [space.from_index(int(i)) for i in np.flatnonzero(ranks > 1000)[:5]]
    good = bench.top(task, 1, by="test")[0]
    ev = TabularEvaluator(bench, task)
    for a in bad + [good]:
        ev.evaluate(a)
    # the test-best cell has a lower val than the val-best: by test it counts once picked
    hit = evals_to_top_q(ev.history, bench, task)
    assert hit.threshold_rank == 16
    assert (hit.evals, hit.reached) == (6, True)
    miss = evals_to_top_q(ev.history[:5], bench, task, budget=50)
    assert (miss.evals, miss.reached) == (50, False)
    capped = evals_to_top_q(ev.history, bench, task, budget=3)
    assert (capped.evals, capped.reached) == (3, False)
    by_val = evals_to_top_q([*ev.history[:5], ev.evaluate(bench.top(task, 1)[0])], bench, task,
                            by="val")
    assert (by_val.evals, by_val.reached) == (6, True)
    with pytest.raises(ValueError, match="q is a share"):
        evals_to_top_q(ev.history, bench, task, q=0)
    with pytest.raises(ValueError, match="by='rank': valid: test, val"):
        evals_to_top_q(ev.history, bench, task, by="rank")  # type: ignore[arg-type]


def test_top_q_cut(bench) -> None:  # type: ignore[no-untyped-def]
    k_top, threshold = top_q_cut(bench, "cifar10")
    val = np.sort(bench.val("cifar10"))[::-1]
    assert k_top == 16 and threshold == val[15] and val[16] < threshold
    assert top_q_cut(bench, "cifar10", q=1.0) == (15_625, float(val[-1]))
    with pytest.raises(ValueError, match="q is a share"):
        top_q_cut(bench, "cifar10", q=1.5)


def test_error_transforms_are_explicit() -> None:
    nb, tr = nb201.benchmark(), trans101.benchmark()
    assert error_name(nb, "cifar10") == "100 - metric"
    assert error_of(nb, "cifar10", np.array([94.0])).tolist() == [6.0]
    assert error_name(tr, "autoencoder") == "1 - SSIM"
    assert error_of(tr, "room_layout", np.array([-0.5])).tolist() == [0.5]
    for task in tr.tasks:
        assert error_name(tr, task)


def test_eedf(bench) -> None:  # type: ignore[no-untyped-def]
    full = eedf(bench, "cifar10")
    assert len(full) == 15_625 and full(100.0) == 1.0
    median_err = float(np.median(full.errors))
    assert full(median_err) >= 0.5
    sub = validate_subspace(bench.space, {"layers": [{"layer": i, "ops": ["nor_conv_3x3"]}
                                                     for i in range(5)]}).subspace
    assert sub is not None
    part = eedf(bench, "cifar10", sub)
    assert len(part) == 5
    # a good subspace stochastically dominates: more of its cells have a low error
    assert part(full.errors[len(full) // 10]) > full(full.errors[len(full) // 10])
    grid = np.array([5.0, 10.0, 50.0])
    assert full(grid).shape == (3,)
    few = eedf(bench, "cifar10", bench.top("cifar10", 3, by="test"))
    assert few.errors[0] == pytest.approx(100 - bench.test("cifar10").max())
