"""``report.md``, ``seeds.csv`` and the plots of a bench, from its result files alone."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .plots import write_plots
from .protocols import LLM_METHODS, METHODS, Protocol, get_protocol, notransfer_budget
from .store import BenchDir
from .tables import SeedRow, all_rows, average_rank, summary, write_csv


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _methods(records: list[dict[str, Any]]) -> list[str]:
    present = {r["method"] for r in records}
    return [m for m in METHODS if m in present]


def nb201_tables(proto: Protocol, summ: dict, methods: list[str], budget: int) -> list[str]:
    q = f"{100 * (proto.top_q or 0):g}%"
    head = ["method", *proto.targets, "seeds"]
    rows = []
    for m in methods:
        cells = []
        for t in proto.targets:
            s = summ.get((m, t))
            cells.append("–" if s is None else (
                f"{s['test_top'].fmt()} ({s['evals'].mean:.1f} ± {s['evals'].std:.1f}; "
                f"top-{q} in {s['reached']}/{s['seeds']})"))
        seeds = max((summ[(m, t)]["seeds"] for t in proto.targets if (m, t) in summ), default=0)
        rows.append([f"{m} (ours)", *cells, str(seeds)])
    for qr in proto.quoted:
        rows.append([f"{qr.method} (quoted)", *[qr.values.get(t, "–") for t in proto.targets],
                     "–"])
    lines = [f"### Until the top {q} (the paper's Table 2 form)", "",
             (f"Test accuracy (%) of the picked cell when it first is in the top {q} of the "
             f"space (mean ± std over seeds), and in brackets the evaluations it took "
             f"(capped at the budget of {budget}; judged by {proto.top_q_by}) and how many "
             f"seeds got there. Quoted rows: {proto.quoted_from}."), ""]
    lines += _table(head, rows)
    lines += ["", f"### At the fixed budget of {budget} evaluations", ""]
    head = ["method"] + [f"{t} {w}" for t in proto.targets for w in ("test acc", "rank")] \
        + ["evals used"]
    rows = []
    for m in methods:
        row = [f"{m} (ours)"]
        used = []
        for t in proto.targets:
            s = summ.get((m, t))
            row += ["–", "–"] if s is None else [s["test"].fmt(), s["rank"].fmt(1)]
            if s is not None:
                used.append(s["n_evals"].mean)
        rows.append(row + [f"{statistics.fmean(used):.1f}" if used else "–"])
    return lines + _table(head, rows)


def trans101_tables(proto: Protocol, summ: dict, methods: list[str], budget: int) -> list[str]:
    head = ["method", *proto.targets, "avg rank", "seeds"]
    rows = []
    for m in methods:
        cells = []
        for t in proto.targets:
            s = summ.get((m, t))
            cells.append("–" if s is None else f"{s['test'].fmt(3)} (rank {s['rank'].mean:.1f})")
        avg = average_rank(summ, m, proto.targets)
        seeds = max((summ[(m, t)]["seeds"] for t in proto.targets if (m, t) in summ), default=0)
        rows.append([f"{m} (ours)", *cells, "–" if avg is None else f"{avg:.2f}", str(seeds)])
    for qr in proto.quoted:
        rows.append([f"{qr.method} (quoted)", *["–"] * len(proto.targets),
                     f"{qr.avg_rank:.2f}" if qr.avg_rank is not None else "–", "–"])
    if not proto.quoted:  # a plugin space's bench: its own metrics and size
        from lapt.tools.tasks import benchmark

        bench = benchmark(proto.space)
        metrics = ", ".join(dict.fromkeys(bench.task(t).metric for t in proto.targets))
        return [f"### At {budget} evaluations per task", "",
                ("Per task: test metric of the picked cell (mean ± std over seeds; higher is "
                 f"better: {metrics}) and its mean rank among the "
                 f"{bench.space.cardinality():,} cells (1 = best)."), ""] + _table(head, rows)
    return [f"### At {budget} evaluations per task (the paper's Table 3 form)", "",
            ("Per task: test metric of the picked cell (mean ± std over seeds; higher is "
            "better: accuracy %, SSIM, negated L2 loss) and its mean rank among the 4,096 "
            f"cells (1 = best). Quoted rows: {proto.quoted_from}."), ""] + _table(head, rows)


def llm_table(records: list[dict[str, Any]]) -> list[str]:
    """LLM calls, tokens and time per LAPT method and agent, with providers and models."""
    rows = []
    for m in [m for m in LLM_METHODS if any(r["method"] == m for r in records)]:
        recs = [r for r in records if r["method"] == m]
        agents: dict[str, dict[str, float]] = {}
        provs: dict[str, set[str]] = {}
        for r in recs:
            for a, row in r.get("llm", {}).items():
                acc = agents.setdefault(a, {})
                for k, v in row.items():
                    acc[k] = acc.get(k, 0) + v
            for a, p in r.get("providers", {}).items():
                provs.setdefault(a, set()).add(p)
        for a in ("analyst", "translator", "adapter"):
            row = agents.get(a, {})
            rows.append([m, a, ", ".join(sorted(provs.get(a, {"–"}))),
                         str(int(row.get("calls", 0))), str(int(row.get("prompt_tokens", 0))),
                         str(int(row.get("completion_tokens", 0))),
                         f"{row.get('latency_s', 0.0):.0f}", str(int(row.get("invalid", 0))),
                         str(int(row.get("retries", 0)))])
    if not rows:
        return []
    return ["## LLM use", "", ("Totals over all seeds of each method."
            " `invalid`: answers that did not parse against the schema (repaired or "
            "recorded)."), ""] + _table(
        ["method", "agent", "provider:model", "calls", "prompt tokens", "completion tokens",
         "LLM time s", "invalid", "retries"], rows)


def subspace_table(records: list[dict[str, Any]]) -> list[str]:
    rows = []
    for m in [m for m in LLM_METHODS if any(r["method"] == m for r in records)]:
        its = [i for r in records if r["method"] == m for h in r["tasks"].values()
               for i in h.get("iterations", [])]
        if not its:
            continue
        firsts = [h["iterations"][0]["subspace_size"] for r in records if r["method"] == m
                  for h in r["tasks"].values() if h.get("iterations")]
        branches = {b: sum(i["branch"] == b for i in its) for b in ("update", "explore")}
        rows.append([m, f"{statistics.fmean(firsts):,.0f}",
                     f"{statistics.fmean(i['subspace_size'] for i in its):,.0f}",
                     f"{sum(bool(i['subspace_valid']) for i in its)}/{len(its)}",
                     f"{branches['update']} / {branches['explore']}"])
    if not rows:
        return []
    return ["## LAPT subspaces", "", ("Over all seeds and tasks. `valid`: iterations whose "
            "subspace (the Analyst's per-layer operators, or a Translator answer) passed "
            "validation (else the last valid subspace, at first the full space, was kept)."),
            ""] + _table(
        ["method", "mean first subspace size", "mean subspace size", "valid", "update / explore"],
        rows)


def _loop(proto: Any) -> str:
    """The LAPT loop of the protocol's preset, in words."""
    from lapt.agents import load_config

    search = load_config(proto.preset).search
    return (f"LAPT runs one REA search per task in {proto.iterations} iterations: the "
            f"Analyst's per-layer operators first, an adaptation after {search.blocks()[0]} "
            f"evaluations" + (f" and then every {search.adapt_every}"
                              if search.adapt_every is not None else "")
            + f", r = {proto.top_r}")


def render(bd: BenchDir) -> Path:
    """Write ``report.md``, ``seeds.csv`` and ``plots/`` of a bench; returns the report."""
    settings = bd.settings()
    proto = get_protocol(settings["protocol"])
    budget = settings["budget"]
    records = bd.results()
    loop = _loop(proto)
    rows: list[SeedRow] = all_rows(proto, records)
    write_csv(rows, bd.path / "seeds.csv")
    plots = write_plots(proto, records, budget, bd.path / "plots") if records else []
    summ = summary(rows)
    methods = _methods(records)
    lines = [f"# lapt bench {proto.name}: {bd.id}", "",
             (f"Space {proto.space}; source {proto.source} (top-{proto.top_k} archive, free); "
             f"targets {', '.join(proto.targets)}; budget {budget} unique evaluations per "
             f"target task and seed, the same for every method; REA population "
             f"{proto.population}, tournament {proto.tournament}; {loop}. "
             f"Seeds per method: {settings['seeds']} asked."), ""]
    tables = nb201_tables if proto.top_q is not None else trans101_tables
    lines += ["## Results", ""] + tables(proto, summ, methods, budget) + [""]
    lines += subspace_table(records) + [""]
    lines += llm_table(records) + [""]
    wall = [[m, str(sum(r["method"] == m for r in records)),
             f"{sum(r['wall_s'] for r in records if r['method'] == m):.1f}",
             f"{statistics.fmean(r['wall_s'] for r in records if r['method'] == m):.2f}"]
            for m in methods]
    lines += ["## Wall time", ""] + _table(["method", "seeds", "total s", "per seed s"], wall)
    s = notransfer_budget(proto, budget)
    lines += ["", "## Methods", ""] + [f"- `{m}`: {METHODS[m]}" for m in methods] + [
        "", ((f"The without-transfer ablation spends {s} of the {budget} evaluations per task "
         f"on its own REA search of the target (the archive: its top {min(proto.top_r, s)}); "
         f"its {proto.iterations} iterations share the other {budget - s}. "
         if "lapt-notransfer" in methods else "") + "Every method's figures "
        "are read off its ordered history of unique evaluations on the target task; a search "
        "whose subspace holds fewer cells than the budget stops when it is exhausted."), "",
        ("Decisions: every method gets the same budget per task and seed; LAPT's iterations "
         f"share it (about {budget // proto.iterations} each). "
         + (("Evals-to-top-q is read off each seed's history, so no method stops early on "
             "an oracle; top-q membership is judged by "
             f"{'validation' if proto.top_q_by == 'val' else 'test'} metric (the LAPT code's "
             "count). ") if proto.top_q is not None else "")
         + "The test metric reported is that of the cell validation picked. "
         "Seed s searches task t with SeedSequence([s, t]), the baselines and a LAPT "
         "session alike: with the whole space as its subspace, LAPT's search is the REA "
         "row's, cell for cell."), "",
        "Files: `seeds.csv` (every seed), `results/<method>/seed-<k>.json` (every "
        "evaluation), `runs/` (LAPT run folders with transcripts), "
        + ", ".join(f"`plots/{p.name}`" for p in plots) + "."]
    path = bd.path / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
