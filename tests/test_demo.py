"""`lapt demo`: the packaged capable-model session replays offline to its recorded result."""

from __future__ import annotations

import tarfile
from importlib import resources

from typer.testing import CliRunner

from lapt.agents import RunDir, RunResult


def test_demo_replays_the_recorded_session(tmp_path):
    from lapt.cli import app

    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "a replay of a recorded session" in text and "Claude helper agent" in text
    assert "No model is asked" in text
    runs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(runs) == 1
    replayed = RunDir(runs[0]).results()
    assert replayed is not None
    archive = resources.files("lapt.demo").joinpath("nb201-capable.tar.xz")
    with resources.as_file(archive) as path, tarfile.open(path, "r:xz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("results.json"))
        recorded = RunResult.model_validate_json(tar.extractfile(member).read())
    for task, rec in recorded.tasks.items():
        got = replayed.tasks[task]
        assert (got.arch, got.rank, got.n_evals) == (rec.arch, rec.rank, rec.n_evals)
        assert got.iterations == rec.iterations
        assert f"│ {task}" in r.output
    # what the agents concluded is shown: the first subspace came from the Analyst
    assert "analysis" in text and "translation" in text
