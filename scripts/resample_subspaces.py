"""How good are the subspaces a bench's LAPT runs chose, once search noise is averaged out?

A LAPT seed is one search trajectory: its rank at the budget mixes the quality of the
subspaces the agents chose with the luck of one REA run. This script takes the subspace
sequence each recorded run searched per task (from its ``results.json``) and reruns the
session's search in it with other search seeds: one REA per task, restricted to the next
recorded subspace after each block, the same schedule and widening rule as the session.
No model is asked. It compares that with REA in the whole space and in the first
subspace only, on the same search seeds, and reports paired differences with standard
errors over the bench seeds.

Caveat, printed with the table: the sequence is open loop. The later subspaces were
chosen after the recorded run's own evaluations, so another search seed profits from
evidence it did not gather; the figure is an upper bound on what those subspaces give a
fresh search, and the recorded run's own figure is the one a bench reports.

    python scripts/resample_subspaces.py runs/out/bench-trans101-capable --search-seeds 20

Search seed 0 is the recorded run's: the script checks that it reproduces every recorded
rank exactly (exit 1 if not) before it reports anything.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics as st
import sys
from pathlib import Path
from typing import Any

from lapt.agents import RunDir, load_config
from lapt.agents.searcher import search_sequence
from lapt.spaces import Subspace, get_space
from lapt.tools.evaluate import TabularEvaluator
from lapt.tools.search import derive_seed
from lapt.tools.tasks import benchmark

VARIANTS = ("recorded", "first", "full")


def search_rank(cfg: Any, task: str, t: int, subspaces: list[Subspace], seed: int) -> int:
    """One continuing REA over ``subspaces`` (one per block), as the session runs it; the
    rank of the cell it picks."""
    ev = search_sequence(get_space(cfg.space), cfg.search, subspaces,
                         TabularEvaluator(benchmark(cfg.space), task), derive_seed(seed, t))
    return benchmark(cfg.space).lookup(ev.best().arch, task).rank


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", type=Path, help="a bench folder with LAPT runs (runs/lapt-s*)")
    p.add_argument("--search-seeds", type=int, default=20)
    p.add_argument("--method", default="lapt", help="the LAPT method's run prefix")
    p.add_argument("--csv", type=Path, help="write every (seed, search seed, task) rank")
    a = p.parse_args()
    runs = sorted((a.bench / "runs").glob(f"{a.method}-s*"),
                  key=lambda r: int(r.name.rsplit("-s", 1)[1]))
    runs = [r for r in runs if (r / "results.json").is_file()]
    if not runs:
        raise SystemExit(f"no finished {a.method}-s* runs in {a.bench / 'runs'}")
    rows: list[dict[str, Any]] = []
    for run in runs:
        cfg = load_config(RunDir(run).recorded_config())  # no model is asked
        seed = cfg.seed
        res = json.loads((run / "results.json").read_text())
        full = get_space(cfg.space).full_subspace()
        for t, task in enumerate(cfg.targets):
            rec = res["tasks"][task]
            subs = [Subspace.model_validate(i["subspace"]) for i in rec["iterations"]]
            for k in range(a.search_seeds):
                s = seed + 1000 * k
                ranks = {"recorded": search_rank(cfg, task, t, subs, s),
                         "first": search_rank(cfg, task, t, [subs[0]] * len(subs), s),
                         "full": search_rank(cfg, task, t, [full] * len(subs), s)}
                if k == 0 and ranks["recorded"] != rec["rank"]:
                    raise SystemExit(f"{run.name} {task}: search seed 0 gives rank "
                                     f"{ranks['recorded']}, the run recorded {rec['rank']}: "
                                     "this script no longer mirrors the session's search")
                rows.append({"seed": seed, "search_seed": k, "task": task, **ranks})
        print(f"{run.name}: done", file=sys.stderr)
    if a.csv:
        with open(a.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    seeds = sorted({r["seed"] for r in rows})
    # per bench seed: the mean over its search seeds and tasks
    per = {v: {s: st.mean(r[v] for r in rows if r["seed"] == s) for s in seeds}
           for v in VARIANTS}
    print(f"{len(seeds)} bench seeds x {a.search_seeds} search seeds x "
          f"{len(rows) // len(seeds) // a.search_seeds} tasks; mean rank at the budget:")
    for v in VARIANTS:
        print(f"  {v:9s} {st.mean(per[v].values()):7.2f}")
    print("paired differences (per bench seed; mean, standard error over bench seeds, "
          "bench seeds where the first is lower):")
    for x, y in (("recorded", "full"), ("first", "full"), ("recorded", "first")):
        d = [per[x][s] - per[y][s] for s in seeds]
        se = st.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(f"  {x} - {y}: {st.mean(d):+6.2f} ± {se:.2f}, {sum(v < 0 for v in d)}/{len(d)}")
    print("open loop: later subspaces were chosen after the recorded run's evaluations, so "
          "other search seeds profit from evidence they did not gather (an upper bound).")


if __name__ == "__main__":
    main()
