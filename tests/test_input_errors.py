"""Bad input at the front door: exit code 2, one message naming the problem and the fix,
nothing created outside out_dir, no credential written (issue: hostile input)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lapt.agents import ConfigError, RunDir, load_config

BASE = {"space": "nb201", "source": {"task": "ImageNet16-120"}, "targets": ["cifar10"]}


def lapt(*args: str):  # type: ignore[no-untyped-def]
    from lapt.cli import app

    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("over, says", [
    ({"name": "../../x"}, "name: String should match pattern"),
    ({"providers": {"default": {"provider": "openai", "model": "m",
                                "base_url": "http://user:pw@127.0.0.1:8000/v1"}}},
     "the URL carries a credential"),
    ({"providers": {"default": {"provider": "openai", "model": "m",
                                "base_url": "http://127.0.0.1:8000/v1?api-key=s3cret"}}},
     "put the key in the environment variable that api_key_env names"),
    ({"providers": {"default": {"provider": "anthropic", "model": "m", "api_key": "sk-1"}}},
     "name that variable in api_key_env"),
    ({"source": {"task": "ImageNet16-120", "top_k": 100_000}},
     "source.top_k: Input should be less than or equal to 1000"),
])
def test_bad_configs_are_refused_with_the_fix(tmp_path: Path, over: dict, says: str) -> None:
    f = tmp_path / "c.yaml"
    import yaml

    f.write_text(yaml.safe_dump({**BASE, **over, "out_dir": str(tmp_path / "out")}))
    r = lapt("run", str(f))
    assert r.exit_code == 2 and says in flat(r.output), r.output
    assert not (tmp_path / "out").exists()
    assert "s3cret" not in r.output and "pw@" not in r.output


def test_out_dir_that_is_a_file_non_utf8_yaml_and_missing_keys(tmp_path: Path,
                                                                monkeypatch) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    r = lapt("run", "nb201", "--out", str(a_file))
    assert r.exit_code == 2 and "is a file; give a folder" in flat(r.output)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"space: nb201\nname: \xff\xfe\n")
    r = lapt("run", str(bad))
    assert r.exit_code == 2 and "not UTF-8 text" in flat(r.output)
    monkeypatch.delenv("LAPT_TEST_NO_KEY", raising=False)
    import yaml

    cfg = tmp_path / "k.yaml"
    cfg.write_text(yaml.safe_dump({**BASE, "out_dir": str(tmp_path / "runs"), "providers": {
        "default": {"provider": "openai", "model": "gpt-4o-mini",
                    "api_key_env": "LAPT_TEST_NO_KEY"}}}))
    r = lapt("run", str(cfg))
    text = flat(r.output)
    assert r.exit_code == 2 and "LAPT_TEST_NO_KEY is not set" in text
    assert "analyst (openai, gpt-4o-mini)" in text
    assert not (tmp_path / "runs").exists()  # no empty run folder left behind


def test_a_run_id_cannot_leave_out_dir(tmp_path: Path) -> None:
    cfg = load_config({**BASE, "out_dir": str(tmp_path / "out")})
    with pytest.raises(ValueError, match="outside"):
        RunDir.create(cfg, "../escape")
    assert not (tmp_path / "escape").exists()
    with pytest.raises(ConfigError, match="name"):
        load_config({**BASE, "name": "a/b"})


def test_resuming_a_finished_run_loads_no_model(tmp_path: Path, monkeypatch) -> None:
    """Every answer is recorded: the results are shown, no provider is built."""
    from lapt.agents import run_session
    from lapt.agents.providers import build_llm

    from .scripted import Script

    cfg = load_config({**BASE, "out_dir": str(tmp_path), "search": {
        "budget": 12, "iterations": 2, "population": 4, "tournament": 2}})
    script = Script()
    res = run_session(cfg, llms={a: build_llm(script.provider())
                                 for a in ("analyst", "translator", "adapter")})
    from lapt.agents import session as session_module

    def no_model(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("a model was built")

    monkeypatch.setattr(session_module, "build_llm", no_model)
    r = lapt("run", "--resume", res.run_id, "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "had finished" in r.output and res.tasks["cifar10"].arch[:20] in flat(r.output)


def test_a_resumed_replay_goes_on_replaying(tmp_path: Path) -> None:
    """The lineage file records that a run is a replay; resuming it replays again."""
    from lapt.agents import run_session
    from lapt.agents.providers import build_llm

    from .scripted import Script

    cfg = load_config({**BASE, "out_dir": str(tmp_path), "search": {
        "budget": 12, "iterations": 2, "population": 4, "tournament": 2}})
    script = Script()
    original = run_session(cfg, llms={a: build_llm(script.provider())
                                      for a in ("analyst", "translator", "adapter")})
    replay = RunDir.create(cfg, "the-replay")
    run_session(cfg, run=replay, replay_from=RunDir(Path(original.run_dir)))
    (replay.path / "results.json").unlink()  # as if killed before its end
    assert replay.replayed_from() == Path(original.run_dir)
    r = lapt("run", "--resume", "the-replay", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "replaying" in flat(r.output)
    starts = replay.lineage()
    assert [s["start"] for s in starts] == ["new", "resume"]
    assert all(s["replay_from"] == original.run_dir for s in starts)
    assert replay.results().tasks["cifar10"].arch == original.tasks["cifar10"].arch
