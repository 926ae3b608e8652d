"""Which Trans101 subspaces of three operators per layer make REA fast, and which one does
the source task point to?

The paper caps Trans101 subspaces at 3 of the 4 operators per layer, so a first subspace
drops one operator on each of the six layers: 4^6 = 4,096 choices. This script scores
every one of them on the six target tasks, with no model: first the expected rank of the
best of 50 uniform draws (exact, from the table), then REA with the paper's settings
(population 10, tournament 5, 50 evaluations) over many seeds for the best ones and for
named ones: the whole space, no `none` anywhere, the subspace the source task's own
table points to, and (with ``--bench``) the first subspaces a bench's LAPT runs chose.

    python scripts/trans101_subspaces.py --bench runs/out/bench-trans101-capable

It answers: how good can a transferred first subspace be, and how good is the one that
a faithful reading of the source task's top cells gives? Its last column bounds what the
adaptations can add: the session's search (one REA over the preset's blocks) in the row's
subspace until the first adaptation, then in the best subspace of all 4,096 for the rest,
as if an Adapter had found that one at once.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import statistics as st
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from lapt.agents import load_config
from lapt.agents.searcher import search_sequence
from lapt.bench.protocols import get_protocol
from lapt.spaces import Subspace
from lapt.tools.evaluate import TabularEvaluator
from lapt.tools.search import derive_seed, rea
from lapt.tools.tasks import benchmark

Drop = tuple[int, ...]  # per layer, the index of the operator left out
Allowed = tuple[frozenset[int], ...]  # per layer, the indices of the operators kept


def _log_comb(n: np.ndarray | int, k: int) -> np.ndarray:
    return gammaln(np.asarray(n) + 1) - gammaln(k + 1) - gammaln(np.asarray(n) - k + 1)


def expected_random_rank(ranks: np.ndarray, budget: int) -> float:
    """E[best rank] of ``budget`` uniform draws without replacement from cells of ``ranks``."""
    r = np.sort(ranks)
    n, k = len(r), min(budget, len(r))
    j = np.arange(n)
    # P(best >= r[j]) = P(all draws avoid the j better cells) = C(n - j, k) / C(n, k)
    p = np.where(n - j >= k, np.exp(_log_comb(n - j, k) - _log_comb(n, k)), 0.0)
    return float((p * np.diff(np.concatenate([[0], r]))).sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", type=Path, help="a Trans101 bench folder: add its LAPT runs' "
                   "first subspaces (the most common ones)")
    p.add_argument("--seeds", type=int, default=100, help="REA seeds per subspace and task")
    p.add_argument("--best", type=int, default=5, help="REA for this many best subspaces")
    a = p.parse_args()
    proto = get_protocol("trans101")
    bench = benchmark("trans101")
    space = bench.space
    ops = space.layers[0].ops
    cells = np.array([[ops.index(o) for o in space.from_index(i).ops]
                      for i in range(space.cardinality())])
    ranks = {t: bench.ranks(t) for t in (*proto.targets, proto.source)}

    everything: Allowed = tuple(frozenset(range(len(ops))) for _ in space.layers)

    def kept(drop: Drop) -> Allowed:
        return tuple(frozenset(range(len(ops))) - {k} for k in drop)

    def proxy(allowed: Allowed, tasks: tuple[str, ...]) -> float:
        m = np.all([np.isin(cells[:, i], list(s)) for i, s in enumerate(allowed)], axis=0)
        return st.mean(expected_random_rank(ranks[t][m], proto.budget) for t in tasks)

    def subspace(allowed: Allowed) -> Subspace:
        d = space.full_subspace().model_dump()
        for layer, s in zip(d["layers"], allowed):
            layer["ops"] = [o for j, o in enumerate(layer["ops"]) if j in s]
        return Subspace.model_validate(d)

    def rea_rank(allowed: Allowed) -> tuple[float, list[float]]:
        sub = None if allowed == everything else subspace(allowed)
        per = []
        for t in proto.targets:
            out = []
            for s in range(a.seeds):
                ev = TabularEvaluator(bench, t)
                rea(ev, proto.budget, sub, seed=s, population=proto.population,
                    tournament=proto.tournament)
                out.append(bench.lookup(ev.best().arch, t).rank)
            per.append(st.mean(out))
        return st.mean(per), per

    cfg = load_config(proto.preset)
    blocks = cfg.search.blocks()

    def switched_rank(allowed: Allowed, then: Allowed) -> float:
        """The session's search in ``allowed`` for the first block, then in ``then``."""
        seq = [subspace(allowed)] + [subspace(then)] * (len(blocks) - 1)
        out = []
        for t, task in enumerate(proto.targets):
            for s in range(a.seeds):
                ev = search_sequence(space, cfg.search, seq, TabularEvaluator(bench, task),
                                     derive_seed(s, t))
                out.append(bench.lookup(ev.best().arch, task).rank)
        return st.mean(out)

    drops = list(itertools.product(range(len(ops)), repeat=len(space.layers)))
    targets = tuple(proto.targets)
    scored = sorted((kept(d) for d in drops), key=lambda s: proxy(s, targets))
    source_best = min((kept(d) for d in drops), key=lambda s: proxy(s, (proto.source,)))
    rows: list[tuple[str, Allowed]] = [("whole space", everything),
                                       ("no `none` on any layer", kept((0,) * 6))]
    rows += [(f"best for the targets #{i + 1}", s) for i, s in enumerate(scored[:a.best])]
    rows.append((f"best for the source ({proto.source})", source_best))
    if a.bench:
        firsts: collections.Counter[Allowed] = collections.Counter()
        for f in sorted((a.bench / "runs").glob("*/results.json")):
            res = json.loads(f.read_text())
            first = next(iter(res["tasks"].values()))["iterations"][0]["subspace"]
            firsts[tuple(frozenset(ops.index(o) for o in layer["ops"])
                         for layer in first["layers"])] += 1
        total = sum(firsts.values())
        for s, n in firsts.most_common(3):
            rows.append((f"LAPT's first subspace ({n} of {total} runs)", s))
    merged: dict[Allowed, str] = {}
    for label, s in rows:  # one row per subspace, with all its names
        merged[s] = f"{merged[s]} = {label}" if s in merged else label
    rows = [(label, s) for s, label in merged.items()]
    print(f"{len(drops):,} subspaces of 3 operators per layer; ranks among "
          f"{space.cardinality():,} cells, mean over the six targets; REA: population "
          f"{proto.population}, tournament {proto.tournament}, {proto.budget} evaluations, "
          f"{a.seeds} seeds per task\n")
    print("| subspace | operators left out, layers 0-5 | random search, expected rank | "
          "REA, mean rank | " + " | ".join(targets) + f" | then #1 from evaluation "
          f"{blocks[0] + 1} |")
    print("|---|---|---|---|" + "---|" * len(targets) + "---|")
    place_of = {s: i + 1 for i, s in enumerate(scored)}
    for label, s in rows:
        mean, per = rea_rank(s)
        rand = proxy(s, targets)
        left = "; ".join("+".join(ops[k] for k in sorted(everything[0] - x)) or "–" for x in s)
        place = f" (#{place_of[s]:,} of {len(drops):,})" if s in place_of else ""
        then = switched_rank(s, scored[0])
        print(f"| {label}{place} | {left} | {rand:.1f} | {mean:.1f} | "
              + " | ".join(f"{v:.1f}" for v in per) + f" | {then:.1f} |", flush=True)


if __name__ == "__main__":
    main()
