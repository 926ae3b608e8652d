"""Which NB201 first subspace does each top-50 archive point to, and how fast is it?

The paper's prompt asks for at most 2 operators per edge. Counting is what a careful
reader of an archive does: this script keeps, per edge, the 2 operators most common in
the archive's top 50, for three archives: the source task (ImageNet16-120, what LAPT
reads) and each target's own table (what the paper's published NB201 script shows its
model: it loads the ImageNet16-120 table, then overwrites it with the target's before
taking the top 50). No model is asked. For each subspace and target: its size, how many
of the target's top-0.1 % cells (by validation) it holds, the exact expected number of
uniform draws without replacement until one of them, and REA's mean evaluations to the
top 0.1 % in it (population 5, tournament 2, as the preset).

    python scripts/nb201_archives.py --seeds 200

With ``--runs FOLDER``, it scores finished LAPT runs instead (every run folder under it,
whatever archive its config named): per run and target, the evaluations until the
validation-picked cell is in the top 0.1 % (capped at the run's budget), and the first
subspace's size and top cells.

    python scripts/nb201_archives.py --runs runs/out/control-nb201-own-archive
"""

from __future__ import annotations

import argparse
import collections
import math
import statistics as st
from pathlib import Path

from lapt.agents import RunDir
from lapt.bench.protocols import get_protocol
from lapt.spaces import Subspace
from lapt.tools.evaluate import TabularEvaluator
from lapt.tools.metrics import evals_to_top_q, top_q_cut
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


def top_cells(sub: Subspace, task: str, q: float) -> tuple[int, int]:
    """The cells of ``sub`` and how many of them are in ``task``'s top ``q`` by validation."""
    bench = benchmark("nb201")
    space = bench.space
    inside = [i for i in range(space.cardinality()) if space.contains(space.from_index(i), sub)]
    _, threshold = top_q_cut(bench, task, q)
    return len(inside), sum(bench.val(task)[i] >= threshold for i in inside)


def score_runs(folder: Path, q: float) -> None:
    """Per finished run under ``folder`` and target: evaluations to the top ``q``."""
    bench = benchmark("nb201")
    runs = sorted(r.parent for r in folder.glob("*/results.json"))
    if not runs:
        raise SystemExit(f"no finished runs (*/results.json) under {folder}")
    print("| run | source | seed | target | evals to top 0.1 % | first subspace: cells, "
          "top cells |")
    print("|---|---|---|---|---|---|")
    found: dict[str, list[int]] = {}
    for path in runs:
        run = RunDir(path)
        cfg, res = run.recorded_config(), run.results()
        assert res is not None
        for task, tr in res.tasks.items():
            evals = evals_to_top_q(run.evaluations(task), bench, task, q,
                                   budget=cfg["search"]["budget"], by="val")
            n, hits = top_cells(tr.iterations[0].subspace, task, q)
            found.setdefault(task, []).append(evals.evals)
            print(f"| {path.name} | {cfg['source']['task']} | {cfg['seed']} | {task} | "
                  f"{evals.evals}{'' if evals.reached else ' (not reached)'} | {n}, {hits} |")
    print()
    for task, v in found.items():
        se = st.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
        print(f"{task}: mean {st.mean(v):.2f} ± {se:.2f} (standard error) over {len(v)} runs")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=200, help="REA seeds per subspace and task")
    p.add_argument("--runs", type=Path, help="score the finished LAPT runs under this folder")
    a = p.parse_args()
    proto = get_protocol("nb201")
    if a.runs:
        score_runs(a.runs, proto.top_q)
        return
    bench = benchmark("nb201")
    print(f"top-{proto.top_k} archive -> the 2 most common operators per edge; REA: "
          f"population {proto.population}, tournament {proto.tournament}, budget "
          f"{proto.budget}, {a.seeds} seeds; top 0.1 % judged by validation\n")
    print("| archive | subspace | cells | " + " | ".join(
        f"{t}: top cells, uniform, REA" for t in proto.targets) + " |")
    print("|---|---|---|" + "---|" * len(proto.targets))
    for source in (proto.source, *proto.targets):
        sub = counted_subspace(bench.top(source, proto.top_k, by="val"), keep=2)
        cols = []
        for task in proto.targets:
            n, hits = top_cells(sub, task, proto.top_q)
            uniform = (n + 1) / (hits + 1)
            runs = []
            for s in range(a.seeds):
                ev = TabularEvaluator(bench, task)
                rea(ev, proto.budget, sub, seed=s, population=proto.population,
                    tournament=proto.tournament)
                runs.append(evals_to_top_q(ev.history, bench, task, proto.top_q,
                                           budget=proto.budget, by="val").evals)
            cols.append(f"{hits}, {uniform:.1f}, {st.mean(runs):.1f}")
        ops = "; ".join("/".join(layer.ops) for layer in sub.layers)
        print(f"| {source} | {ops} | {n} | " + " | ".join(cols) + " |", flush=True)


if __name__ == "__main__":
    main()
