"""PNG plots of a bench (matplotlib, Agg backend): best-so-far curves and eEDFs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lapt.tools.metrics import eedf, error_name
from lapt.tools.tasks import benchmark

from .protocols import Protocol
from .tables import eedf_sets


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def best_so_far_matrix(records: list[dict[str, Any]], task: str, budget: int) -> np.ndarray:
    """Seeds x budget: test metric of the validation-picked cell after k evaluations.

    A seed that stopped early (its subspace was exhausted) keeps its last value.
    """
    rows = []
    for rec in records:
        h = rec["tasks"].get(task)
        if not h or not h["val"]:
            continue
        out = np.empty(budget)
        best = 0
        n = min(len(h["val"]), budget)
        for k in range(budget):
            if k < n and h["val"][k] > h["val"][best]:
                best = k
            out[k] = h["test"][best]
        rows.append(out)
    return np.array(rows)


# ablations dashed, so that a line identical to LAPT's (as with a model that keeps the
# full space) still shows both
_LINESTYLE = {"lapt-noadapt": "--", "lapt-notransfer": ":"}


def plot_best_so_far(proto: Protocol, records: list[dict[str, Any]], task: str,
                     budget: int, path: Path) -> Path:
    """Mean (line) and spread (±1 std, band) over seeds, one line per method."""
    plt = _pyplot()
    bench = benchmark(proto.space)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.arange(1, budget + 1)
    lows = []
    for method in dict.fromkeys(r["method"] for r in records):
        m = best_so_far_matrix([r for r in records if r["method"] == method], task, budget)
        if len(m) == 0:
            continue
        mean, std = m.mean(axis=0), m.std(axis=0)
        ax.plot(x, mean, ls=_LINESTYLE.get(method, "-"), label=f"{method} ({len(m)} seeds)")
        ax.fill_between(x, mean - std, mean + std, alpha=0.15)
        lows.append(mean[min(len(mean) - 1, max(1, budget // 10))])
    best = float(bench.test(task).max())
    ax.axhline(best, color="k", lw=0.8, ls="--", label=f"best in space ({best:.2f})")
    if lows:
        lo = min(lows)
        ax.set_ylim(lo - 0.1 * max(best - lo, 1e-6), best + 0.05 * max(best - lo, 1e-6))
    ax.set_xlabel("evaluations on the target task")
    ax.set_ylabel(f"test {bench.task(task).metric} of the picked cell")
    ax.set_title(f"{proto.name} {task}: best-so-far (mean ± std over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_eedf(proto: Protocol, records: list[dict[str, Any]], task: str, path: Path) -> Path:
    """The eEDF (Appendix III) of the full space and the subspaces found for ``task``."""
    plt = _pyplot()
    bench = benchmark(proto.space)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    right = []
    for label, cells in eedf_sets(proto, records, task):
        f = eedf(bench, task, cells)
        ys = np.arange(0, len(f) + 1) / len(f)
        ax.step(np.r_[f.errors[0], f.errors], ys, where="post",
                label=f"{label} ({len(f):,} cells)")
        right.append(np.quantile(f.errors, 0.5 if cells is None else 0.95))
    full = eedf(bench, task)
    ax.set_xlim(full.errors[0], max(right))
    ax.set_xlabel(f"error ({error_name(bench, task)})")
    ax.set_ylabel("F(e): share of cells with error <= e")
    ax.set_title(f"{proto.name} {task}: eEDF")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(proto: Protocol, records: list[dict[str, Any]], budget: int,
                out: Path) -> list[Path]:
    """Every plot of a bench into ``out`` (created); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for task in proto.targets:
        if not any(task in r["tasks"] for r in records):
            continue
        files.append(plot_best_so_far(proto, records, task, budget,
                                      out / f"best_so_far-{task}.png"))
        files.append(plot_eedf(proto, records, task, out / f"eedf-{task}.png"))
    return files
