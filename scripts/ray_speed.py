"""Measure the ray executor on this machine: Ray's overhead per task, and the speed-up of
model-bound LAPT seeds on several workers against one.

Everything is real except the LLM's answers: a LAPT bench on nb201 whose every LLM call
sleeps ``--sleep`` seconds and then answers as ``tests/scripted.py`` scripts it. Sleeping
seeds need no cores, so a local Ray instance gets ``--workers`` *logical* CPUs whatever
the machine has. Each configuration runs on a fresh local instance, as
``lapt bench --executor ray --workers N`` does; its start-up is timed apart:

- 1 worker: an instance of 1 CPU runs the bench;
- N workers: an instance of N CPUs times an empty task (``ray.get(f.remote())``, one
  after the other), then runs the bench twice: on fresh worker processes ("cold": each
  pays its first seed's one-off imports, torch among them) and again on the same, now
  warm, processes (a cluster whose workers stay up);
- overhead per bench seed: the 1-worker bench's wall time minus the seeds' own wall times,
  per seed (packing, scheduling, the scratch folder, the driver's writes).

    python scripts/ray_speed.py                 # 8 seeds, 4 workers, 0.25 s a call: ~80 s

Prints a table and one JSON line; exits 1 if a target is missed (overhead < 0.5 s per
task; N workers, cold and warm, <= 0.3x the wall time of 1) or the benches' results differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/scripted.py: the scripted answers

import ray  # noqa: E402
from ray import cloudpickle  # noqa: E402

from lapt.bench import Executor, run_bench  # noqa: E402
from tests import scripted  # noqa: E402

OVERHEAD_TARGET_S = 0.5
RATIO_TARGET = 0.3
T = TypeVar("T")


class Sleepy(scripted.Script):
    """The scripted answers, each after ``sleep_s`` seconds (a model-bound seed)."""

    def __init__(self, sleep_s: float) -> None:
        super().__init__()
        self.sleep_s = sleep_s

    def __call__(self, agent: str, messages: list, schema: Any) -> Any:
        time.sleep(self.sleep_s)
        return super().__call__(agent, messages, schema)


def noop() -> None:
    """An empty task."""


def noop_overhead(n: int) -> float:
    """Mean seconds of one empty task's round trip (after one warm-up)."""
    task = ray.remote(noop)
    ray.get(task.remote())
    t0 = time.perf_counter()
    for _ in range(n):
        ray.get(task.remote())
    return (time.perf_counter() - t0) / n


def on_ray(cpus: int, fn: Callable[[], T]) -> tuple[float, T]:
    """``fn()`` on a fresh local Ray instance of ``cpus`` logical CPUs; the instance's
    start-up seconds and the result."""
    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    start_s = time.perf_counter() - t0
    try:
        return start_s, fn()
    finally:
        ray.shutdown()


def bench(out: Path, seeds: int, budget: int, sleep_s: float
          ) -> tuple[float, float, list[dict[str, Any]]]:
    """A LAPT bench on the Ray instance, one CPU a seed: its wall time, the sum of the
    seeds' own wall times, and the records."""
    t0 = time.perf_counter()
    res = run_bench("nb201", methods="lapt", seeds=seeds, budget=budget, out_dir=out,
                    render=False, providers={"default": Sleepy(sleep_s).provider()},
                    executor=Executor("ray"))
    wall = time.perf_counter() - t0
    if res.failed:
        raise SystemExit(f"seeds failed: {res.failed}")
    records = res.bench.results()
    return wall, sum(r["wall_s"] for r in records), records


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--sleep", type=float, default=0.25, help="seconds per LLM call")
    p.add_argument("--budget", type=int, default=20, help="evaluations per seed")
    p.add_argument("--noops", type=int, default=200, help="empty tasks timed")
    a = p.parse_args()
    cloudpickle.register_pickle_by_value(scripted)  # workers need not import tests/
    run = {"seeds": a.seeds, "budget": a.budget, "sleep_s": a.sleep}
    with tempfile.TemporaryDirectory() as tmp:
        start_s, (one, one_own, recs) = on_ray(1, lambda: bench(Path(tmp) / "one", **run))

        def many_workers() -> tuple[float, tuple[float, float, list], tuple[float, float, list]]:
            return (noop_overhead(a.noops), bench(Path(tmp) / "cold", **run),
                    bench(Path(tmp) / "warm", **run))

        _, (noop_s, (cold, _, recs_cold), (warm, _, recs_warm)) = on_ray(a.workers, many_workers)
    calls = sum(u["calls"] for r in recs for u in r["llm"].values())
    same = ([r["tasks"] for r in recs] == [r["tasks"] for r in recs_cold]
            == [r["tasks"] for r in recs_warm])
    n = a.workers
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                      f"{platform.python_version()}, Ray {ray.__version__}",
           "ray_start_s": round(start_s, 2), "noop_overhead_s": round(noop_s, 4),
           "bench_overhead_s": round((one - one_own) / a.seeds, 3),
           "seeds": a.seeds, "workers": n, "sleep_s": a.sleep, "llm_calls": calls,
           "wall_1_worker_s": round(one, 2), f"wall_{n}_cold_workers_s": round(cold, 2),
           f"wall_{n}_warm_workers_s": round(warm, 2), "ratio_cold": round(cold / one, 3),
           "ratio_warm": round(warm / one, 3), "same_results": same}
    print(f"Ray start-up (1 CPU)         {start_s:7.2f} s")
    print(f"overhead per empty task      {noop_s * 1000:7.1f} ms")
    print(f"overhead per bench seed      {out['bench_overhead_s']:7.3f} s")
    print(f"{a.seeds} seeds, {calls} LLM calls x {a.sleep} s:")
    print(f"  1 worker                   {one:7.2f} s")
    print(f"  {n} workers, cold           {cold:7.2f} s  ({cold / one:.3f}x)")
    print(f"  {n} workers, warm           {warm:7.2f} s  ({warm / one:.3f}x)")
    print(json.dumps(out))
    ok = (max(noop_s, out["bench_overhead_s"]) < OVERHEAD_TARGET_S
          and max(cold, warm) / one <= RATIO_TARGET and same)
    if not ok:
        print("a target is missed (or the results differ)", file=sys.stderr)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
