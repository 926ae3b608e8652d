"""`lapt bench` runs: ablations switch off what they name; resume, replay, workers, CLI."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from lapt.agents import load_config
from lapt.agents.transcript import read_transcript
from lapt.bench import BenchDir, run_bench
from lapt.tools import tasks as task_tools

from .scripted import Script, layers_answer, source_best_layers

FAST = {"budget": 20, "seeds": 1}


def flat(output: str) -> str:
    """CLI output without rich's line wrapping and box borders."""
    return " ".join(re.sub("[\u2500-\u257f]", " ", output).split())


def llm_calls(bd: BenchDir, run_id: str) -> list[dict]:
    return read_transcript(bd.path / "runs" / run_id, kind="llm_call")


def test_without_adaptation_makes_no_adapter_call(tmp_path):
    script = Script()
    script.defaults["translator"] = layers_answer(source_best_layers())
    res = run_bench("nb201", methods="lapt-noadapt", out_dir=tmp_path,
                    providers={"default": script.provider()}, **FAST)
    # the principles never change, so each task's subspace is translated once and kept
    assert "adapter" not in script.calls and script.calls["translator"] == 2
    assert {c["agent"] for c in llm_calls(res.bench, "lapt-noadapt-s0")} == {"analyst",
                                                                              "translator"}
    rec = res.bench.results()[0]
    assert all(i["branch"] is None for h in rec["tasks"].values() for i in h["iterations"])
    assert "adapter" not in rec["llm"]


def test_without_evidence_the_analyst_reads_the_layer_lists_only(tmp_path):
    script = Script()
    res = run_bench("nb201", methods="lapt,lapt-noevidence", out_dir=tmp_path,
                    providers={"default": script.provider()}, **FAST)
    assert not res.failed, res.failed

    def analyst_prompt(run_id: str) -> str:
        call = next(c for c in llm_calls(res.bench, run_id) if c["agent"] == "analyst")
        return call["messages"][-1]["content"]

    with_stats, lists = analyst_prompt("lapt-s0"), analyst_prompt("lapt-noevidence-s0")
    assert "enrichment" in with_stats and "enrichment" not in lists
    # the same 50 architectures, in the same order, are all the second prompt holds
    arch_lines = [line for line in with_stats.splitlines() if line.startswith("arch_")]
    assert len(arch_lines) == 50
    assert [line for line in lists.splitlines() if line.startswith("arch_")] == arch_lines


def test_without_transfer_never_reads_the_source_task(tmp_path, monkeypatch):
    def no_source(*args, **kwargs):
        raise AssertionError("the source archive was used")

    monkeypatch.setattr(task_tools, "source_archive", no_source)
    script = Script()
    res = run_bench("nb201", methods="lapt-notransfer", out_dir=tmp_path,
                    providers={"default": script.provider()}, **FAST)
    assert not res.failed, res.failed
    assert script.calls["analyst"] == 2  # principles learned once per target, from itself
    rec = res.bench.results()[0]
    for task, h in rec["tasks"].items():
        run = res.bench.path / "runs" / f"lapt-notransfer-s0-{task}"
        msgs = read_transcript(run, kind="message")
        ask = next(m["payload"] for m in msgs if m["type"] == "analyze_request")
        assert ask["task"] == task
        # the archive: the top 5 of the first 5 evaluations (20 // 4) on the target itself
        first = {a for a in [json.loads(line)["arch"] for line in
                             (run / "evaluations.jsonl").read_text().splitlines()][:5]}
        assert set(ask["archive"]) == first
        prompt = llm_calls(res.bench, f"lapt-notransfer-s0-{task}")[0]["messages"]
        assert "ImageNet16-120" not in json.dumps(prompt)
        assert len(h["cells"]) == 20  # the archive search counts against the budget


def test_resume_skips_finished_seeds(tmp_path):
    script = Script()
    first = run_bench("nb201", methods="rea,lapt", seeds=1, budget=20, out_dir=tmp_path,
                      providers={"default": script.provider()}, bench_id="bench-r")
    assert sorted(first.ran) == ["lapt-s0", "rea-s0"]
    calls = dict(script.calls)
    bd = first.bench
    before = {p: p.stat().st_mtime_ns for p in (bd.path / "results").rglob("*.json")}
    more = run_bench("nb201", methods="rea,lapt", seeds=2, out_dir=tmp_path,
                     providers={"default": script.provider()}, resume="bench-r")
    assert sorted(more.skipped) == ["lapt-s0", "rea-s0"]
    assert sorted(more.ran) == ["lapt-s1", "rea-s1"]
    assert {p: p.stat().st_mtime_ns for p in before} == before  # untouched
    assert script.calls["analyst"] == calls["analyst"] + 1       # only seed 1 asked the LLM
    assert BenchDir.open("bench-r", tmp_path).settings()["seeds"] == 2
    # a seed whose session finished but whose result file is lost: read back, no LLM call
    (bd.path / "results" / "lapt" / "seed-1.json").unlink()
    n = sum(script.calls.values())
    again = run_bench("nb201", methods="lapt", seeds=2, out_dir=tmp_path,
                      providers={"default": script.provider()}, resume="bench-r")
    assert again.ran == ["lapt-s1"] and sum(script.calls.values()) == n
    with pytest.raises(ValueError, match="keeps it"):
        run_bench("nb201", methods="rea", budget=30, out_dir=tmp_path, resume="bench-r")


def test_replay_gives_the_same_histories_without_any_llm(tmp_path):
    script = Script()
    first = run_bench("trans101", methods="lapt", seeds=1, budget=20, out_dir=tmp_path,
                      providers={"default": Script(ops=["nor_conv_3x3", "skip_connect"])
                                 .provider()}, bench_id="bench-a")
    replayed = run_bench("trans101", methods="lapt", seeds=1, budget=20, out_dir=tmp_path,
                         replay="bench-a", bench_id="bench-b")
    assert not replayed.failed, replayed.failed
    assert not script.calls
    a, b = first.bench.results()[0], replayed.bench.results()[0]
    assert a["tasks"] == b["tasks"]


def test_a_replay_runs_the_recorded_config_not_todays_preset(tmp_path, monkeypatch):
    """A preset that changed after a bench was recorded (here: the Analyst no longer shows
    the statistics, so its prompt differs) does not break the bench's replay."""
    import dataclasses

    import yaml

    from lapt.bench import protocols

    first = run_bench("trans101", methods="lapt", seeds=1, budget=20, out_dir=tmp_path,
                      providers={"default": Script(ops=["nor_conv_3x3", "skip_connect"])
                                 .provider()}, bench_id="bench-a")
    changed = load_config("trans101").model_dump(mode="json", exclude={"providers"})
    changed["analyst"]["evidence"] = not changed["analyst"]["evidence"]
    preset = tmp_path / "changed.yaml"
    preset.write_text(yaml.safe_dump(changed))
    monkeypatch.setitem(protocols.PROTOCOLS, "trans101",
                        dataclasses.replace(protocols.TRANS101, preset=str(preset)))
    replayed = run_bench("trans101", methods="lapt", seeds=1, budget=20, out_dir=tmp_path,
                         replay="bench-a", bench_id="bench-b")
    assert not replayed.failed, replayed.failed
    assert first.bench.results()[0]["tasks"] == replayed.bench.results()[0]["tasks"]
    run = replayed.bench.path / "runs" / "lapt-s0"
    assert load_config(run / "config.yaml").analyst.evidence == \
        load_config("trans101").analyst.evidence  # the recorded one, not the changed preset


def test_workers_give_the_same_results(tmp_path):
    one = run_bench("trans101", methods="rea,local,stats", seeds=2, out_dir=tmp_path / "1")
    two = run_bench("trans101", methods="rea,local,stats", seeds=2, workers=2,
                    out_dir=tmp_path / "2")
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in one.bench.results()]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"}
                     for r in two.bench.results()]


def test_cli_runs_renders_and_rejects_bad_input(tmp_path):
    from lapt.cli import app

    runner = CliRunner()
    out = str(tmp_path)
    r = runner.invoke(app, ["bench", "nb201", "--methods", "rea,random", "--seeds", "2",
                            "--budget", "30", "--out", out, "--id", "bench-cli"])
    assert r.exit_code == 0, r.output
    assert "ran 4, skipped 0" in flat(r.output)
    assert "random-s1 done in 0 s (random: 2 of 2)" in flat(r.output)  # no terminal: a line
    report = tmp_path / "bench-cli" / "report.md"
    report.unlink()
    r = runner.invoke(app, ["bench", "render", "bench-cli", "--out", out])
    assert r.exit_code == 0 and report.is_file()
    r = runner.invoke(app, ["bench", "nb201", "--methods", "rea", "--resume", "bench-cli",
                            "--out", out])
    assert r.exit_code == 0 and "(0 of 2 seeds to run" in flat(r.output)
    for args, msg in (
        (["--methods", "hebo"], "valid: rea, random, local, stats, lapt"),
        (["--seeds", "0"], "seeds must be an integer >= 1"),
        (["--resume", "nope"], "no bench 'nope'"),
        (["--provider-config", str(tmp_path / "x.yaml")], "no such file"),
    ):
        r = runner.invoke(app, ["bench", "trans101", "--out", out, *args])
        assert r.exit_code == 2 and msg in flat(r.output), r.output
    r = runner.invoke(app, ["bench", "trans101", "--methods", "rea", "--resume", "bench-cli",
                            "--out", out])
    assert r.exit_code == 2 and "is a nb201 bench" in flat(r.output)


def test_an_interrupted_lapt_seed_goes_on_from_its_last_step(tmp_path):
    first = run_bench("nb201", methods="lapt", seeds=1, budget=20, out_dir=tmp_path,
                      providers={"default": Script().provider()}, bench_id="bench-i")
    bd = first.bench
    whole = bd.results()[0]
    # cut the run back to its first five LLM calls, as if the process had been killed
    run = bd.path / "runs" / "lapt-s0"
    (run / "results.json").unlink()
    bd.result_path("lapt", 0).unlink()
    lines = (run / "transcript.jsonl").read_text().splitlines(keepends=True)
    calls = [i for i, line in enumerate(lines) if '"kind": "llm_call"' in line
             or '"kind":"llm_call"' in line]
    (run / "transcript.jsonl").write_text("".join(lines[: calls[4] + 1]))
    script = Script()
    again = run_bench("nb201", methods="lapt", seeds=1, out_dir=tmp_path,
                      providers={"default": script.provider()}, resume="bench-i")
    assert again.ran == ["lapt-s0"]
    assert sum(script.calls.values()) == sum(a["calls"] for a in whole["llm"].values()) - 5
    assert bd.results()[0]["tasks"] == whole["tasks"]


def test_resample_script_reproduces_the_recorded_ranks(tmp_path):
    """scripts/resample_subspaces.py mirrors the session's search: with the recorded
    search seed it gives every recorded rank (it exits 1 otherwise)."""
    import csv
    import subprocess
    import sys
    from pathlib import Path

    trans = {"translator": [layers_answer([["nor_conv_3x3", "skip_connect", "none"]] * 6)]}
    res = run_bench("trans101", methods="lapt", seeds=2, budget=50, out_dir=tmp_path,
                    bench_id="b", providers={"default": Script(**trans).provider()})
    script = Path(__file__).resolve().parents[1] / "scripts" / "resample_subspaces.py"
    out = subprocess.run([sys.executable, str(script), str(res.bench.path), "--search-seeds",
                          "2", "--csv", str(tmp_path / "r.csv")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 bench seeds x 2 search seeds x 6 tasks" in out.stdout
    with open(tmp_path / "r.csv") as fh:
        rows = list(csv.DictReader(fh))
    recorded = {(int(r["seed"]), r["task"]): r["rank_at_budget"]
                for r in csv.DictReader(open(res.bench.path / "seeds.csv"))}
    assert len(rows) == 24
    assert {(int(r["seed"]), r["task"]): r["recorded"] for r in rows
            if r["search_seed"] == "0"} == recorded


def test_trans101_subspaces_script(tmp_path):
    """scripts/trans101_subspaces.py: its expected random-search rank is exact, and it
    scores the first subspace a bench's LAPT runs chose."""
    import importlib.util
    import itertools
    import statistics
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np

    script = Path(__file__).resolve().parents[1] / "scripts" / "trans101_subspaces.py"
    spec = importlib.util.spec_from_file_location("trans101_subspaces", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ranks = np.array([9, 1, 7, 3, 4, 12])
    for k in (1, 2, 4, 6):
        brute = statistics.mean(min(c) for c in itertools.combinations(ranks.tolist(), k))
        assert mod.expected_random_rank(ranks, k) == pytest.approx(brute)

    trans = {"translator": [layers_answer([["nor_conv_3x3", "skip_connect", "none"]] * 6)]}
    res = run_bench("trans101", methods="lapt", seeds=1, budget=50, out_dir=tmp_path,
                    bench_id="b", providers={"default": Script(**trans).provider()})
    out = subprocess.run([sys.executable, str(script), "--bench", str(res.bench.path),
                          "--seeds", "2", "--best", "1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")
            for line in out.stdout.splitlines() if line.startswith("| ")}
    no_none = rows["no `none` on any layer = best for the targets #1 (#1 of 4,096)"]
    assert no_none[1] == "; ".join(["none"] * 6)
    first = next(v for k, v in rows.items() if k.startswith("LAPT's first subspace (1 of 1"))
    assert first[1] == "; ".join(["nor_conv_1x1"] * 6)
    # the exact column: the best of all 4,096 capped subspaces for the six targets
    assert no_none[2] == "30.1"
    assert float(first[2]) > 30.1
    # the last column: the session's search, switched to #1 at the first adaptation
    assert "| then #1 from evaluation 21 |" in out.stdout
    assert all(float(v.rstrip(" |")) >= 1 for v in (no_none[-1], first[-1]))


def test_nb201_archives_script():
    """scripts/nb201_archives.py: the source's top 50 point to the 64 cells every capable
    Analyst chose (10 top cells, 5.9 uniform draws); CIFAR-10's own top 50 to 32 cells."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "nb201_archives.py"
    out = subprocess.run([sys.executable, str(script), "--seeds", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line.rstrip(" |").split(" | ")
            for line in out.stdout.splitlines() if line.startswith("| ") and "---" not in line}
    source, own = rows["ImageNet16-120"], rows["cifar10"]
    assert source[2] == "64" and source[3].startswith("10, 5.9,") \
        and source[4].startswith("10, 5.9,")
    assert own[2] == "32" and own[1].split("; ")[3] == "skip_connect"
    assert own[3].startswith("9, 3.3,")


def test_nb201_archives_script_scores_run_folders(tmp_path):
    """``--runs``: per run and target the evaluations to the top 0.1 %, the same as the
    bench's seeds.csv, and the first subspace's cells."""
    import csv
    import subprocess
    import sys
    from pathlib import Path

    script = Script()
    res = run_bench("nb201", methods="lapt", seeds=2, budget=20, out_dir=tmp_path,
                    bench_id="b", providers={"default": script.provider()})
    tool = Path(__file__).resolve().parents[1] / "scripts" / "nb201_archives.py"
    out = subprocess.run([sys.executable, str(tool), "--runs", str(res.bench.path / "runs")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    got = {(int(r[2]), r[3]): r[4].split(" ")[0] for r in
           (line.strip("| ").split(" | ") for line in out.stdout.splitlines()
            if line.startswith("| lapt-s"))}
    with open(res.bench.path / "seeds.csv") as fh:
        want = {(int(r["seed"]), r["task"]): r["evals_to_top_q"] or "20"
                for r in csv.DictReader(fh)}
    assert got == want and len(got) == 4
    assert "cifar10: mean" in out.stdout and "over 2 runs" in out.stdout
