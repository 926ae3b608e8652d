"""The command line: `lapt run` (replay, resume, errors), `lapt runs`, `lapt transcript`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lapt.agents import load_config, run_session
from lapt.agents.providers import build_llm
from lapt.cli import app

from .scripted import Script
from .test_session import nb201_config

runner = CliRunner()


def scripted_run(tmp_path: Path):
    cfg = load_config(nb201_config(tmp_path, targets=["cifar10"]))
    script = Script()
    llms = {a: build_llm(script.provider()) for a in ("analyst", "translator", "adapter")}
    return cfg, run_session(cfg, llms=llms)


def test_run_replay_and_listing(tmp_path):
    cfg, res = scripted_run(tmp_path)
    out = str(tmp_path / "runs")
    r = runner.invoke(app, ["run", "--replay", res.run_id, "--out", out])
    assert r.exit_code == 0, r.output
    assert "best cell per task" in r.output and "cifar10" in r.output
    assert res.tasks["cifar10"].arch[:20] in r.output.replace("\n", "")  # table wraps
    runs = runner.invoke(app, ["runs", "--out", out])
    assert runs.exit_code == 0 and res.run_id in runs.output and "finished" in runs.output
    # the replayed run is its own folder with the same best cell
    replayed = [p for p in Path(out).iterdir() if p.name != res.run_id]
    assert len(replayed) == 1
    results = json.loads((replayed[0] / "results.json").read_text())
    assert results["tasks"]["cifar10"]["arch"] == res.tasks["cifar10"].arch


def test_transcript_views(tmp_path):
    _, res = scripted_run(tmp_path)
    out = str(tmp_path / "runs")
    r = runner.invoke(app, ["transcript", res.run_id, "--out", out, "--agent", "adapter",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert rows and all("adapter" in {x.get("agent"), x.get("sender"), x.get("recipient")}
                        for x in rows)
    assert {x["iteration"] for x in rows} == {1, 2}  # no Adapter after the last iteration
    r = runner.invoke(app, ["transcript", res.run_id, "--out", out, "--iteration", "2"])
    assert r.exit_code == 0
    assert "translator" in r.output and "adapter" in r.output and "analyst" not in r.output
    bad = runner.invoke(app, ["transcript", "nope", "--out", out])
    assert bad.exit_code == 2 and "no run 'nope'" in bad.output
    bad = runner.invoke(app, ["transcript", res.run_id, "--out", out, "--format", "xml"])
    assert bad.exit_code == 2 and "valid: text, json" in bad.output


def test_run_errors_are_clear(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("space: nb201\nsource: {task: cifar10}\ntargets: [svhn]\n")
    r = runner.invoke(app, ["run", str(f)])
    assert r.exit_code == 2
    assert "unknown task 'svhn' for space nb201" in r.output
    r = runner.invoke(app, ["run", "missing.yaml"])
    assert r.exit_code == 2 and "no config file or preset named 'missing.yaml'" in r.output
    r = runner.invoke(app, ["run", "--resume", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "no run 'nope'" in r.output
