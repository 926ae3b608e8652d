"""The vendored benchmark tables: known values, and bit-for-bit equal to the source data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lapt.spaces import SpaceError, nb201, trans101

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def test_nb201_known_values():
    b = nb201.benchmark()
    for task, best_val, its_test in [("cifar10", 91.607, 94.373), ("cifar100", 73.493, 73.513)]:
        i = int(np.argmax(b.val(task)))
        assert b.val(task)[i] == pytest.approx(best_val, abs=1e-3)
        assert b.test(task)[i] == pytest.approx(its_test, abs=1e-3)
    assert b.val("ImageNet16-120").max() == pytest.approx(46.733, abs=1e-3)
    assert b.test("imagenet16-120").max() == pytest.approx(47.311, abs=1e-3)  # case-insensitive
    best = b.top("cifar10", 1, by="test")[0]
    assert b.lookup(best, "cifar10").rank == 1


def test_trans101_known_values():
    b = trans101.benchmark()
    best = b.top("class_scene", 1)[0]
    assert b.space.encode(best) == "64-41414-3_32_132"  # cell 3-3-2-1-3-2
    assert b.lookup(best, "class_scene").val == pytest.approx(54.936, abs=1e-3)
    assert b.val("class_object").max() == pytest.approx(45.586, abs=1e-3)
    assert b.val("autoencoder").max() == pytest.approx(0.5772, abs=1e-4)
    assert b.lookup(best, "class_scene").rank == 1
    assert set(b.tasks) == {"class_object", "class_scene", "room_layout", "autoencoder",
                            "normal", "segmentsemantic", "jigsaw"}


def test_unknown_task_lists_choices():
    with pytest.raises(SpaceError, match="valid: cifar10, cifar100, ImageNet16-120"):
        nb201.benchmark().val("svhn")
    with pytest.raises(SpaceError, match="valid: class_object"):
        trans101.benchmark().lookup(trans101.benchmark().top("jigsaw", 1)[0], "depth")


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared source data is not beside the repo")
def test_vendored_nb201_equals_source():
    b = nb201.benchmark()
    for task in b.tasks:
        table = json.loads((SHARED / "nas-bench-201" / f"{task.lower()}.json").read_text())
        assert len(table) == 15_625
        for arch_str, rec in table.items():
            i = b.space.index(b.space.decode(arch_str))
            assert b.val(task)[i] == rec["val_acc_200"]
            assert b.test(task)[i] == rec["test_acc_200"]
            assert b.ranks(task)[i] == rec["rank"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared source data is not beside the repo")
def test_vendored_trans101_equals_source():
    b = trans101.benchmark()
    with open(SHARED / "transnas-bench-101-micro" / "micro.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4_096
    for row in rows:
        i = b.space.index(b.space.decode(row["arch"]))
        for task in b.tasks:
            assert b.val(task)[i] == float(row[task])
