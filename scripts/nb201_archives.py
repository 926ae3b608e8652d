"""Which NB201 first subspace does each top-50 archive point to, and how fast is it?

The paper's prompt asks for at most 2 operators per edge. Counting is what a careful
reader of an archive does: this script keeps, per edge, the 2 operators most common in
the archive's top 50, for three archives: the source task (ImageNet16-120, what LAPT
reads) and each target's own table (what the paper's published NB201 script shows its
model: it loads the ImageNet16-120 table, then overwrites it with the target's before
taking the top 50). No model is asked. For each subspace and target: its size, how many
of the target's top-0.1 % cells (by validation) it holds, the exact expected number of
uniform draws without replacement until one of them, and REA's mean evaluations to the
top 0.1 % in it (the session's search: population 5, tournament 2, one block).

    python scripts/nb201_archives.py --seeds 200
"""

from __future__ import annotations

import argparse
import collections
import math
import statistics as st

from lapt.bench.protocols import get_protocol
from lapt.spaces import Subspace
from lapt.tools.evaluate import TabularEvaluator
from lapt.tools.metrics import evals_to_top_q
from lapt.tools.search import rea
from lapt.tools.tasks import benchmark


def counted_subspace(archive: list, keep: int) -> Subspace:
    """Per edge, the ``keep`` operators most common in ``archive`` (ties: first seen)."""
    space = benchmark("nb201").space
    d = space.full_subspace().model_dump()
    for i, layer in enumerate(d["layers"]):
        common = collections.Counter(a.ops[i] for a in archive).most_common(keep)
        layer["ops"] = [o for o, _ in common]
    return Subspace.model_validate(d)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=200, help="REA seeds per subspace and task")
    a = p.parse_args()
    proto = get_protocol("nb201")
    bench = benchmark("nb201")
    space = bench.space
    print(f"top-{proto.top_k} archive -> the 2 most common operators per edge; REA: "
          f"population {proto.population}, tournament {proto.tournament}, budget "
          f"{proto.budget}, {a.seeds} seeds; top 0.1 % judged by validation\n")
    print("| archive | subspace | cells | " + " | ".join(
        f"{t}: top cells, uniform, REA" for t in proto.targets) + " |")
    print("|---|---|---|" + "---|" * len(proto.targets))
    for source in (proto.source, *proto.targets):
        sub = counted_subspace(bench.top(source, proto.top_k, by="val"), keep=2)
        inside = [i for i in range(space.cardinality()) if space.contains(space.from_index(i), sub)]
        cols = []
        for task in proto.targets:
            k_top = math.ceil(proto.top_q * space.cardinality())
            threshold = sorted(bench.val(task), reverse=True)[k_top - 1]
            hits = sum(bench.val(task)[i] >= threshold for i in inside)
            uniform = (len(inside) + 1) / (hits + 1)
            runs = []
            for s in range(a.seeds):
                ev = TabularEvaluator(bench, task)
                rea(ev, proto.budget, sub, seed=s, population=proto.population,
                    tournament=proto.tournament)
                runs.append(evals_to_top_q(ev.history, bench, task, proto.top_q,
                                           budget=proto.budget, by="val").evals)
            cols.append(f"{hits}, {uniform:.1f}, {st.mean(runs):.1f}")
        ops = "; ".join("/".join(layer.ops) for layer in sub.layers)
        print(f"| {source} | {ops} | {len(inside)} | " + " | ".join(cols) + " |", flush=True)


if __name__ == "__main__":
    main()
