"""Write tiny201/cells.csv: the NAS-Bench-201 cells whose edges use none, skip_connect or
nor_conv_3x3 (3**6 = 729), with their numbers from lapt's vendored table, in the form
of a user's own archive (one column per edge, then the metrics). Run once; the CSV ships."""

import csv
import itertools
from pathlib import Path

from lapt.spaces import nb201

OPS = ("none", "skip_connect", "nor_conv_3x3")
EDGES = ("e01", "e02", "e12", "e03", "e13", "e23")
TASKS = {"cifar10": "c10", "cifar100": "c100", "ImageNet16-120": "in16"}

bench = nb201.benchmark()
space = bench.space
with open(Path(__file__).parent / "tiny201" / "cells.csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow([*EDGES, *(f"{c}_{k}" for c in TASKS.values() for k in ("val", "test"))])
    for ops in itertools.product(OPS, repeat=6):
        i = space.index(space.arch(list(ops)))
        w.writerow([*ops, *(f"{float(getattr(bench, k)(t)[i]):.4f}"
                           for t in TASKS for k in ("val", "test"))])
