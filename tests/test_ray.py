"""Benches on a real local Ray instance: the same seeds.csv as the local executor, a
worker killed mid-seed retried to the identical record, and clear errors."""

from __future__ import annotations

import csv

import pytest

ray = pytest.importorskip("ray")
import cloudpickle

from lapt.bench import BenchDir, Executor, load_providers, run_bench
from lapt.tools.cluster import ClusterError, connect

from . import scripted
from .scripted import KillOnce, LoopbackLLM, Script

pytestmark = pytest.mark.slow
RAY = Executor("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray instance for the module (4 logical CPUs on any machine)."""
    cloudpickle.register_pickle_by_value(scripted)  # workers need not import tests/
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def rows(bd: BenchDir) -> list[dict]:
    """seeds.csv without the wall times (which differ between any two runs)."""
    with open(bd.path / "seeds.csv") as fh:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(fh)]


def strip(records: list[dict]) -> list[dict]:
    """Records without what differs between any two runs (times, latencies, paths)."""
    return [{**{k: v for k, v in r.items() if k not in ("wall_s", "runs", "llm")},
             "calls": {a: u["calls"] for a, u in r.get("llm", {}).items()}} for r in records]


def test_baseline_bench_on_ray_equals_local(tmp_path):
    opts = {"methods": "rea,random,local,stats", "seeds": 2, "budget": 30}
    local = run_bench("nb201", out_dir=tmp_path / "local", **opts)
    on_ray = run_bench("nb201", out_dir=tmp_path / "ray", executor=RAY, **opts)
    assert not on_ray.failed and len(on_ray.ran) == 8
    assert rows(on_ray.bench) == rows(local.bench)
    again = run_bench("nb201", out_dir=tmp_path / "ray", executor=RAY,
                      resume=on_ray.bench.id, **opts)
    assert again.ran == [] and len(again.skipped) == 8  # resume skips finished seeds


def test_lapt_bench_on_ray_equals_local_and_replays(tmp_path):
    opts = {"methods": "lapt", "seeds": 2, "budget": 20}
    local = run_bench("nb201", out_dir=tmp_path / "local",
                      providers={"default": Script().provider()}, **opts)
    on_ray = run_bench("nb201", out_dir=tmp_path / "ray", executor=RAY, bench_id="bench-r",
                       providers={"default": Script().provider()}, **opts)
    assert not on_ray.failed, on_ray.failed
    assert rows(on_ray.bench) == rows(local.bench)
    # the run folders came back to the driver: a replay on Ray needs no LLM
    assert (on_ray.bench.path / "runs" / "lapt-s1" / "transcript.jsonl").is_file()
    replayed = run_bench("nb201", out_dir=tmp_path / "ray", executor=RAY, replay="bench-r",
                         **opts)
    assert not replayed.failed, replayed.failed
    assert [r["tasks"] for r in replayed.bench.results()] == \
        [r["tasks"] for r in local.bench.results()]


def test_a_killed_worker_seed_is_retried_to_the_identical_record(tmp_path):
    opts = {"methods": "lapt", "seeds": 1, "budget": 20}
    whole = run_bench("nb201", out_dir=tmp_path / "whole",
                      providers={"default": Script().provider()}, **opts)
    marker = tmp_path / "killed"
    killed = run_bench("nb201", out_dir=tmp_path / "ray", executor=RAY,
                       providers={"default": KillOnce(str(marker)).provider()}, **opts)
    assert marker.exists()  # the worker did die mid-seed
    assert not killed.failed and killed.ran == ["lapt-s0"]
    assert strip(killed.bench.results()) == strip(whole.bench.results())
    # with no retries left, the lost seed is reported like any failed seed
    gone = run_bench("nb201", out_dir=tmp_path / "gone", executor=Executor("ray", retries=0),
                     providers={"default": KillOnce(str(tmp_path / "again")).provider()},
                     **opts)
    assert list(gone.failed) == ["lapt-s0"] and "died" in gone.failed["lapt-s0"].lower()
    assert not gone.bench.finished("lapt", 0)


def test_bad_executor_input_is_named():
    with pytest.raises(ClusterError, match="valid: local, ray"):
        Executor("dask")
    with pytest.raises(ClusterError, match="need --executor ray"):
        Executor("local", address="head:6379")
    ray.shutdown()  # an unreachable address is checked before Ray waits minutes
    try:
        with pytest.raises(ClusterError, match="127.0.0.1:9"):
            connect("127.0.0.1:9")
    finally:
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)


def test_without_ray_the_error_says_how_to_install(monkeypatch):
    import sys

    from lapt.tools.cluster import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ClusterError, match=r"pip install 'lapt\[ray\]'"):
        require_ray()


KEY = "sk-ray-test-SECRET-0123456789abcdef"


def test_the_key_reaches_the_worker_but_never_disk(tmp_path, monkeypatch):
    """An OpenAI-compatible loopback server answers; the key goes to the workers through
    the runtime environment (set here only after Ray started) and into no file."""
    server = LoopbackLLM(lambda agent, messages: Script().defaults[agent])
    monkeypatch.setenv("LAPT_RAY_TEST_KEY", KEY)
    provider = {"provider": "openai", "model": "fake", "api_key_env": "LAPT_RAY_TEST_KEY",
                "base_url": f"{server.url}/v1"}
    try:
        res = run_bench("nb201", methods="lapt", seeds=1, budget=20, out_dir=tmp_path,
                        executor=Executor("ray", forward_keys=True),
                        providers=load_providers({"default": provider}))
    finally:
        server.close()
    assert not res.failed, res.failed
    assert server.auth and all(h == f"Bearer {KEY}" for h in server.auth)  # the worker had the key
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and not [p for p in files if KEY.encode() in p.read_bytes()]
