"""The figures of a bench, from the seeds' evaluation histories (pure functions).

Per (method, seed, target task), from the ordered unique evaluations:

- *picked cell at k*: the best by validation among the first k evaluations (first wins
  ties); its test metric is what is reported, its rank is by test metric in the whole
  space (1 = best).
- *evals-to-top-q* (NB201): the first k at which the picked cell is in the top q of the
  whole space (:func:`lapt.tools.metrics.evals_to_top_q`, judged by the protocol's
  ``top_q_by``), capped at the budget; the test metric of the picked cell at that k.
- *at the budget*: the picked cell after every evaluation of the seed.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from lapt.spaces import Arch, Subspace
from lapt.tools.metrics import evals_to_top_q
from lapt.tools.tasks import benchmark

from .protocols import LLM_METHODS, Protocol


class _Rec(NamedTuple):
    arch: Arch
    val: float
    test: float


@dataclass(frozen=True)
class SeedRow:
    """One (method, seed, task): a row of ``seeds.csv``."""

    method: str
    seed: int
    task: str
    n_evals: int
    evals_to_top_q: int | None
    reached: bool | None
    test_at_top_q: float | None
    test_at_budget: float
    val_at_budget: float
    rank_at_budget: int
    arch_at_budget: str
    wall_s: float


def picked_index(val: list[float], k: int | None = None) -> int:
    """Position of the validation-best record among the first ``k`` (first wins ties)."""
    vals = val if k is None else val[:k]
    best = 0
    for i, v in enumerate(vals):
        if v > vals[best]:
            best = i
    return best


def seed_rows(proto: Protocol, record: dict[str, Any]) -> list[SeedRow]:
    """The rows of one seed's record (one per target task it holds)."""
    bench = benchmark(proto.space)
    space = bench.space
    rows = []
    for task in proto.targets:
        h = record["tasks"].get(task)
        if not h or not h["cells"]:
            continue
        archs = [space.from_index(i) for i in h["cells"]]
        recs = [_Rec(a, v, t) for a, v, t in zip(archs, h["val"], h["test"])]
        top_k = reached = top_test = None
        if proto.top_q is not None:
            tq = evals_to_top_q(recs, bench, task, proto.top_q, budget=record["budget"],
                                by=proto.top_q_by)  # type: ignore[arg-type]
            top_k, reached = tq.evals, tq.reached
            top_test = recs[picked_index(h["val"], tq.evals)].test
        p = picked_index(h["val"])
        rows.append(SeedRow(
            record["method"], record["seed"], task, len(recs), top_k, reached, top_test,
            recs[p].test, recs[p].val, int(bench.ranks(task)[h["cells"][p]]),
            space.encode(archs[p]), float(record.get("wall_s", 0.0))))
    return rows


def all_rows(proto: Protocol, records: Iterable[dict[str, Any]]) -> list[SeedRow]:
    return [row for rec in records for row in seed_rows(proto, rec)]


def write_csv(rows: list[SeedRow], path: Path) -> None:
    """Every seed's figures, one row per (method, seed, task)."""
    with open(path, "w", newline="") as fh:
        fields = list(SeedRow.__dataclass_fields__)
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(asdict(r))


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    n: int

    def fmt(self, digits: int = 2) -> str:
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def stat(values: Iterable[float]) -> Stat:
    vals = [float(v) for v in values]
    if not vals:
        return Stat(float("nan"), float("nan"), 0)
    return Stat(statistics.fmean(vals), statistics.pstdev(vals) if len(vals) > 1 else 0.0,
                len(vals))


def summary(rows: list[SeedRow]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (method, task): mean and std over seeds of every figure, and how many reached."""
    groups: dict[tuple[str, str], list[SeedRow]] = {}
    for r in rows:
        groups.setdefault((r.method, r.task), []).append(r)
    out = {}
    for key, rs in groups.items():
        s: dict[str, Any] = {
            "seeds": len(rs), "n_evals": stat(r.n_evals for r in rs),
            "test": stat(r.test_at_budget for r in rs),
            "rank": stat(r.rank_at_budget for r in rs),
        }
        if rs[0].evals_to_top_q is not None:
            s["evals"] = stat(r.evals_to_top_q for r in rs)  # type: ignore[misc]
            s["test_top"] = stat(r.test_at_top_q for r in rs)  # type: ignore[misc]
            s["reached"] = sum(bool(r.reached) for r in rs)
        out[key] = s
    return out


def average_rank(summ: dict[tuple[str, str], dict[str, Any]], method: str,
                 tasks: Iterable[str]) -> float | None:
    """Mean over ``tasks`` of the method's mean rank (None unless every task has seeds)."""
    ranks = [summ[(method, t)]["rank"].mean for t in tasks if (method, t) in summ]
    tasks = list(tasks)
    return statistics.fmean(ranks) if ranks and len(ranks) == len(tasks) else None


def eedf_sets(proto: Protocol, records: list[dict[str, Any]],
              task: str) -> list[tuple[str, Subspace | None]]:
    """The cell sets whose eEDF is plotted for ``task``: the full space, the statistics
    subspace, and the first refined and last adapted subspace of the lowest LAPT seed."""
    out: list[tuple[str, Subspace | None]] = [("full space", None)]
    by_method = {m: sorted((r for r in records if r["method"] == m and task in r["tasks"]),
                           key=lambda r: r["seed"]) for m in {r["method"] for r in records}}
    if by_method.get("stats"):
        sub = by_method["stats"][0]["tasks"][task]["subspaces"][0]
        out.append(("statistics subspace", Subspace.model_validate(sub)))
    for m in LLM_METHODS:
        if by_method.get(m):
            rec = by_method[m][0]
            subs = rec["tasks"][task].get("subspaces") or []
            if subs:
                out.append((f"{m} first refined (seed {rec['seed']})",
                            Subspace.model_validate(subs[0])))
                last = "last subspace" if m == "lapt-noadapt" else "last adapted"
                out.append((f"{m} {last} (seed {rec['seed']})",
                            Subspace.model_validate(subs[-1])))
            break
    return out
