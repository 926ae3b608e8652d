"""Build the package's compressed benchmark tables from ../shared/data (run once by a maintainer).

    python scripts/vendor_tables.py [SHARED_DATA_DIR]

NB201: ``spaces/data/nb201.npz`` with ``val``, ``test`` (float64) and ``rank`` (int32),
shape (3 datasets, 15,625 cells), cells in the canonical index order of
``lapt.spaces.nb201`` (layer ops in base 5). Trans101: ``spaces/data/trans101.npz`` with
``val`` of shape (7 tasks, 4,096 cells) in canonical order (base 4). Numbers are copied
bit for bit; ``tests/test_tables.py`` checks the copy against the source when present.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from lapt.spaces import get_space
from lapt.spaces.nb201 import DATASETS
from lapt.spaces.trans101 import TASKS

ROOT = Path(__file__).resolve().parents[1]


def main(shared: Path) -> None:
    nb = get_space("nb201")
    n = nb.cardinality()
    val = np.full((len(DATASETS), n), np.nan)
    test = np.full((len(DATASETS), n), np.nan)
    rank = np.zeros((len(DATASETS), n), dtype=np.int32)
    for d, name in enumerate(DATASETS):
        table = json.loads((shared / "nas-bench-201" / f"{name.lower()}.json").read_text())
        assert len(table) == n, (name, len(table))
        for arch_str, rec in table.items():
            i = nb.index(nb.decode(arch_str))
            val[d, i], test[d, i], rank[d, i] = rec["val_acc_200"], rec["test_acc_200"], rec["rank"]
    assert not np.isnan(val).any() and not np.isnan(test).any()
    np.savez_compressed(ROOT / "spaces/data/nb201.npz", val=val, test=test, rank=rank,
                        datasets=np.array(DATASETS))

    tr = get_space("trans101")
    m = tr.cardinality()
    tval = np.full((len(TASKS), m), np.nan)
    with open(shared / "transnas-bench-101-micro" / "micro.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == m
    for row in rows:
        i = tr.index(tr.arch([int(x) for x in row["arch"].split("-")]))
        for t, task in enumerate(TASKS):
            tval[t, i] = float(row[task])
    assert not np.isnan(tval).any()
    np.savez_compressed(ROOT / "spaces/data/trans101.npz", val=tval, tasks=np.array(TASKS))
    print("wrote", ROOT / "spaces/data")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
