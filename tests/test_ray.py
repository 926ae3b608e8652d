"""Benches on a real local Ray instance: the same seeds.csv as the local executor, a
worker killed mid-seed retried to the identical record, and clear errors."""

from __future__ import annotations

import csv

import pytest

ray = pytest.importorskip("ray")
from ray import cloudpickle  # Ray pickles with its own copy (the standalone one: no effect)

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


def test_the_cli_runs_a_bench_on_a_local_ray_instance_of_its_own(tmp_path):
    """`lapt bench nb201 --executor ray --workers 2` in a fresh process: it starts (and
    stops) a local instance of 2 CPUs, and writes what the local executor writes."""
    import os
    import subprocess
    import sys

    args = ["bench", "nb201", "--methods", "rea", "--seeds", "2", "--budget", "30",
            "--out", str(tmp_path), "--id", "cli-ray", "--executor", "ray", "--workers", "2"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # not this module's
    done = subprocess.run([sys.executable, "-c", "from lapt.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, env={**env,
                                                                            "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "a local Ray instance of 2 CPU(s)" in done.stdout
    assert "ran 2, skipped 0 finished, failed 0" in done.stdout
    bd = BenchDir.open("cli-ray", tmp_path)
    assert (bd.path / "report.md").is_file()
    local = run_bench("nb201", methods="rea", seeds=2, budget=30, out_dir=tmp_path / "local")
    assert {(r["method"], r["seed"]) for r in rows(bd)} == {("rea", "0"), ("rea", "1")}
    assert rows(bd) == rows(local.bench)


def test_the_cli_names_an_unreachable_address_at_once(tmp_path):
    """An address where nothing listens is refused within the 5 s probe, before a bench
    folder is made (Ray on its own would wait minutes)."""
    import time

    from typer.testing import CliRunner

    from lapt.cli import app

    t0 = time.perf_counter()
    r = CliRunner().invoke(app, ["bench", "nb201", "--methods", "rea", "--seeds", "1",
                                 "--out", str(tmp_path), "--executor", "ray",
                                 "--address", "127.0.0.1:9"], env={"COLUMNS": "200"})
    assert time.perf_counter() - t0 < 10
    assert r.exit_code == 2, r.output
    assert "cannot reach the Ray cluster at '127.0.0.1:9'" in r.output
    assert "ray start --head" in r.output
    assert not list(tmp_path.iterdir())  # no bench folder left behind


def test_darts_supernet_and_final_network_train_on_ray_as_locally(tmp_path, monkeypatch):
    """`supernet.executor: ray`: the supernet and the final network train as Ray tasks
    (the driver only reloads the supernet's checkpoint) and give what the local path
    gives: the same losses, the same scores of a cell, the same final accuracies."""
    import numpy as np

    from lapt.spaces import get_space
    from lapt.tools.supernet import (
        SupernetSettings,
        latest_checkpoint,
        make_supernet_evaluator,
        pipeline,
        train_final,
    )

    tiny = {"width": 4, "cells": 3, "epochs": 2, "final_epochs": 1, "final_width": 4,
            "final_cells": 3, "device": "cpu", "cpu_threads": 1}
    space = get_space("darts")
    arch = space.sample(np.random.default_rng(0))
    sub = space.full_subspace()

    def outcome(settings: SupernetSettings, folder) -> tuple:
        ev = make_supernet_evaluator("digits", settings, subspace=sub,
                                     workdir=folder / "supernet", progress=False)
        e = ev.evaluate(arch)
        final = train_final(arch, "digits", settings, workdir=folder, progress=False)
        return ([round(r["loss"], 6) for r in ev.supernet.train_log], e.val, e.test,
                {k: v for k, v in final.items() if k != "final_train_s"})

    local = outcome(SupernetSettings(**tiny), tmp_path / "local")
    real_train = pipeline.train_supernet

    def reload_only(*args, **kwargs):  # on the driver: the checkpoint is there already
        assert latest_checkpoint(args[4])["epoch"] == tiny["epochs"]
        return real_train(*args, **kwargs)

    def no_final(*args, **kwargs):
        raise AssertionError("the final network trained on the driver")

    monkeypatch.setattr(pipeline, "train_supernet", reload_only)
    monkeypatch.setattr(pipeline, "train_from_scratch", no_final)
    on_ray = outcome(SupernetSettings(**tiny, executor="ray"), tmp_path / "ray")
    assert on_ray == local
    assert len(local[0]) == 2 and local[3]["final_epochs"] == 1
    assert (tmp_path / "ray" / "supernet" / "epoch-0002.pt").is_file()
    assert (tmp_path / "ray" / "final" / "digits" / "epoch-0001.pt").is_file()
    with pytest.raises(ValueError, match="'local' or 'ray'"):
        SupernetSettings(executor="dask")


def test_a_darts_session_on_ray_trains_ahead_and_equals_local(tmp_path, monkeypatch):
    """A whole DARTS session with `supernet.executor: ray`: every target's first supernet
    (in the Analyst's subspace) starts training on the cluster right after the analysis,
    from a background thread; the final network trains as a Ray task while the session
    goes on; the run's results equal the local path's."""
    import threading

    from lapt.agents import load_config, run_session
    from lapt.agents.providers import build_llm
    from lapt.tools import supernet
    from lapt.tools.supernet import pipeline

    ops = ["sep_conv_3x3", "skip_connect"]

    def session(executor: str, out: str) -> dict:
        answer = {**scripted.analyst_answer(ops),
                  "layers": [{"layer": i, "ops": ops} for i in range(16)]}
        script = Script(ops=ops, n_layers=16, analyst=[answer])
        cfg = load_config({
            "name": f"darts-{executor}", "space": "darts", "seed": 3,
            "source": {"task": "digits", "top_k": 4, "sample": 6},
            "targets": ["digits"], "translator": {"keep_known_best": False},
            "search": {"budget": 50, "iterations": 2, "population": 4, "tournament": 2,
                       "generations": 1, "crossover": 0.5, "mutation_prob": 0.5,
                       "top_r": 3},
            "supernet": {"width": 4, "cells": 3, "epochs": 1, "batch_size": 64,
                         "final_width": 4, "final_cells": 3, "final_epochs": 1,
                         "cpu_threads": 1, "device": "cpu", "executor": executor},
            "out_dir": str(tmp_path / out)})
        llms = {a: build_llm(script.provider()) for a in ("analyst", "translator", "adapter")}
        res = run_session(cfg, llms=llms)
        return {t: (r.arch, r.val, r.test, r.n_evals, [i.subspace_from for i in r.iterations],
                    {k: v for k, v in r.extra.items() if k != "final_train_s"})
                for t, r in res.tasks.items()}

    local = session("local", "local")
    threads: list[str] = []
    real = pipeline.prepare_supernet

    def spy(task, settings, subspace, workdir):
        threads.append(threading.current_thread().name)
        return real(task, settings, subspace, workdir)

    monkeypatch.setattr(pipeline, "prepare_supernet", spy)
    monkeypatch.setattr(supernet, "prepare_supernet", spy)
    monkeypatch.setattr(pipeline, "train_from_scratch", lambda *a, **k: pytest.fail(
        "the final network trained on the driver"))
    on_ray = session("ray", "ray")
    assert on_ray == local
    assert local["digits"][4][0] == "analyst"  # the Analyst's subspace came first
    # the target's first supernet was started ahead, from a background thread
    assert any(name.startswith("lapt-ray") for name in threads), threads
    run = next((tmp_path / "ray").iterdir())
    assert list((run / "final" / "digits").glob("epoch-*.pt"))
