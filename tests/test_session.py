"""Whole LAPT sessions with scripted model answers: results, transcripts, resume, replay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lapt.agents import RunDir, load_config, run_session
from lapt.agents.providers import build_llm
from lapt.agents.transcript import read_transcript
from lapt.spaces import get_space
from lapt.tools.tasks import benchmark

from .scripted import Script, adapter_answer, analyst_answer, translator_answer

ROOT = Path(__file__).resolve().parents[1]


def nb201_config(tmp_path: Path, **over) -> dict:
    cfg = {"name": "t", "space": "nb201", "source": {"task": "ImageNet16-120", "top_k": 20},
           "targets": ["cifar10", "cifar100"],
           "search": {"budget": 30, "iterations": 3, "population": 5, "tournament": 2},
           "out_dir": str(tmp_path / "runs")}
    cfg.update(over)
    return cfg


def llms_for(script: Script) -> dict:
    return {a: build_llm(script.provider()) for a in ("analyst", "translator", "adapter")}


def run(tmp_path: Path, script: Script, **over):
    cfg = load_config(nb201_config(tmp_path, **over))
    return cfg, run_session(cfg, llms=llms_for(script))


def test_nb201_session_end_to_end(tmp_path):
    script = Script()
    cfg, res = run(tmp_path, script)
    b = benchmark("nb201")
    space = get_space("nb201")
    allowed = set(Script().defaults["translator"]["layers"][0]["ops"])
    for task in cfg.targets:
        t = res.tasks[task]
        arch = space.decode(t.arch)
        rec = b.lookup(arch, task)
        assert (t.val, t.test, t.rank) == (rec.val, rec.test, rec.rank)
        assert set(arch.ops) <= allowed  # searched inside the translated subspace
        assert t.n_evals <= cfg.search.budget
        assert len(t.iterations) == 3 and all(i.subspace_valid for i in t.iterations)
        assert t.iterations[0].subspace_size == 2 ** 6
    rd = RunDir(Path(res.run_dir))
    # the Adapter after every iteration but the last (its P_n would go unused); the
    # Translator again only when the principles changed
    kept = [e for e in rd.records("event") if e["name"] == "subspace_kept"]
    assert script.calls == {"analyst": 1, "translator": 6 - len(kept), "adapter": 4}
    for e in kept:  # a kept subspace is the one searched before, and the Adapter updated
        its = res.tasks[e["data"]["task"]].iterations
        g = e["data"]["iteration"]
        assert its[g - 1].subspace == its[g - 2].subspace
        assert its[g - 2].branch == "update"
    assert rd.finished and rd.results().tasks["cifar10"].arch == res.tasks["cifar10"].arch
    # every LLM call and every message is in the transcript
    recs = read_transcript(rd.path)
    calls = [r for r in recs if r["kind"] == "llm_call"]
    assert len(calls) == sum(script.calls.values())
    for c in calls:
        assert {"agent", "provider", "model", "messages", "raw", "parsed", "prompt_tokens",
                "completion_tokens", "latency_s", "retries"} <= set(c)
    types = [r["type"] for r in recs if r["kind"] == "message"]
    assert types.count("analyze_request") == 1 and types.count("analysis") == 1
    n_tr = script.calls["translator"]
    assert types.count("translate_request") == n_tr and types.count("translation") == n_tr
    assert types.count("search_request") == 6 and types.count("search_result") == 6
    assert types.count("adapt_request") == 4 and types.count("adaptation") == 4
    evals = rd.evaluations()
    assert len(evals) == sum(t.n_evals for t in res.tasks.values())
    assert res.llm["translator"].calls == n_tr


def test_trans101_session_end_to_end(tmp_path):
    ops = ["nor_conv_3x3", "nor_conv_1x1"]
    script = Script(ops=ops)
    cfg = load_config({"name": "tr", "space": "trans101",
                       "source": {"task": "jigsaw", "top_k": 50},
                       "targets": ["class_scene", "room_layout"],
                       "search": {"budget": 20, "iterations": 2, "population": 5,
                                  "tournament": 3, "top_r": 15},
                       "out_dir": str(tmp_path / "runs")})
    res = run_session(cfg, llms=llms_for(script))
    space = get_space("trans101")
    for task in cfg.targets:
        t = res.tasks[task]
        assert set(space.decode(t.arch).ops) <= set(ops)
        assert t.rank == benchmark("trans101").lookup(space.decode(t.arch), task).rank
        # the subspace has 2**6 = 64 cells; REA evaluates at most the budget
        assert 0 < t.n_evals <= 20


def test_adapter_branches(tmp_path):
    """Base <= Best: update; Base > Best: explore the operators the principles left out."""
    first = translator_answer(["nor_conv_3x3", "nor_conv_1x1"])  # a good region
    bad = translator_answer(["avg_pool_3x3", "none"])             # a poor region
    script = Script(translator=[first, bad, bad])
    cfg, res = run(tmp_path, script, targets=["cifar10"])
    its = res.tasks["cifar10"].iterations
    assert its[0].branch == "update"
    assert its[1].branch == "explore"
    recs = read_transcript(Path(res.run_dir), kind="llm_call")
    adapter_prompts = [r["messages"][-1]["content"] for r in recs if r["agent"] == "adapter"]
    assert "Update these design principles" in adapter_prompts[0]
    assert "(best before: none)" in adapter_prompts[0]
    assert "It is hard to find better architectures" in adapter_prompts[1]
    # the explore prompt names what the principles left out of the last subspace
    assert "operators ['skip_connect', 'nor_conv_1x1', 'nor_conv_3x3']" in adapter_prompts[1]
    adaptations = [r["payload"] for r in read_transcript(Path(res.run_dir), kind="message")
                   if r["type"] == "adaptation"]
    assert adaptations[1]["base"] == adaptations[0]["base"]  # Base kept on explore
    # explore adds principles to P_n instead of replacing them
    assert len(adaptations[1]["principles"]["principles"]) == 2


def test_without_adaptation_never_calls_adapter(tmp_path):
    script = Script()
    cfg, res = run(tmp_path, script, adapter={"enabled": False})
    assert "adapter" not in script.calls
    assert all(i.branch is None for t in res.tasks.values() for i in t.iterations)


def test_bad_answers_are_repaired_or_recorded(tmp_path):
    from .scripted import timeout

    script = Script(
        analyst=["this is not JSON at all", {"information_flow": "x"},
                 analyst_answer(["nor_conv_3x3"])],
        translator=[
            {"layers": [{"layer": 0, "ops": ["conv7x7"]}]},          # unknown operator
            {"layers": [{"layer": 1, "ops": []}]},                   # empty layer
            translator_answer(["nor_conv_3x3", "skip_connect"]),     # repaired
            {"layers": [{"layer": 9, "ops": ["none"]}]},             # then three bad ones:
            "[1, 2",                                                 # the fallback is kept
            {"layers": [{"layer": 0, "ops": ["none"]}, {"layer": 1, "ops": ["none"]},
                        {"layer": 3, "ops": ["none"]}]},             # all degenerate
        ],
        adapter=[timeout(), timeout(), adapter_answer(["nor_conv_3x3"])],
    )
    cfg = nb201_config(tmp_path, targets=["cifar10"])
    cfg["providers"] = {"default": {"provider": "function", "answers": ["unused"],
                                    "retry_initial_s": 0.01}}
    res = run_session(load_config(cfg), llms={
        a: build_llm(script.provider().model_copy(update={"retry_initial_s": 0.01}))
        for a in ("analyst", "translator", "adapter")})
    its = res.tasks["cifar10"].iterations
    assert its[0].subspace_valid and its[0].repairs == 2
    assert not its[1].subspace_valid
    assert its[1].fallback_reason.startswith("no valid subspace after 2 repairs")
    assert its[1].subspace == its[0].subspace  # the last valid subspace was kept
    recs = read_transcript(Path(res.run_dir), kind="llm_call")
    analyst = [r for r in recs if r["agent"] == "analyst"]
    assert [r["parsed"] is None for r in analyst] == [True, True, False]
    assert "not JSON" in analyst[0]["error"] or "JSON" in analyst[0]["error"]
    tr = [r for r in recs if r["agent"] == "translator"]
    assert "unknown operator 'conv7x7'" in tr[1]["messages"][-1]["content"]
    assert "allows no operator" in tr[2]["messages"][-1]["content"]
    adapter_first = [r for r in recs if r["agent"] == "adapter"][0]
    assert len(adapter_first["retries"]) == 2 and "Timeout" in adapter_first["retries"][0]["error"]
    assert res.tasks["cifar10"].n_evals == 30


def test_replay_gives_identical_result(tmp_path):
    cfg, res = run(tmp_path, Script())
    replayed = run_session(cfg, replay_from=RunDir(Path(res.run_dir)))
    assert replayed.run_id != res.run_id
    for task in cfg.targets:
        a, b = res.tasks[task], replayed.tasks[task]
        assert (a.arch, a.val, a.test, a.rank, a.n_evals) == (b.arch, b.val, b.test, b.rank,
                                                              b.n_evals)
        assert a.iterations == b.iterations
    assert res.principles == replayed.principles


def test_secrets_never_reach_disk(tmp_path, monkeypatch):
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("LAPT_TEST_KEY", secret)
    leaky = Script(analyst=[{**analyst_answer(["nor_conv_3x3"]),
                             "information_flow": f"my key is {secret}"}])
    cfg = nb201_config(tmp_path, targets=["cifar10"])
    cfg["providers"] = {"default": {"provider": "openai", "model": "gpt-4o-mini",
                                    "api_key_env": "LAPT_TEST_KEY"}}
    res = run_session(load_config(cfg), llms=llms_for(leaky))
    files = list(Path(res.run_dir).iterdir())
    assert {f.name for f in files} >= {"config.yaml", "transcript.jsonl", "evaluations.jsonl",
                                       "results.json"}
    for f in files:
        assert secret not in f.read_text(), f.name
    assert "LAPT_TEST_KEY" in (Path(res.run_dir) / "config.yaml").read_text()


RUNNER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from lapt.agents import load_config, run_session, RunDir
    from lapt.agents.providers import build_llm
    from tests.scripted import Script
    from tests.test_session import nb201_config
    from pathlib import Path
    script = Script()
    hang_at = int(sys.argv[2])
    def fn(agent, messages, schema):
        if sum(script.calls.values()) + 1 >= hang_at:
            print("READY", flush=True)
            time.sleep(600)
        return script(agent, messages, schema)
    cfg = load_config(nb201_config(Path(sys.argv[1])))
    from lapt.agents.providers import FunctionConfig
    llms = {{a: build_llm(FunctionConfig(fn=fn)) for a in ("analyst", "translator", "adapter")}}
    run_session(cfg, run=RunDir.create(cfg, "killed"), llms=llms)
""")


def test_resume_after_kill_equals_uninterrupted_run(tmp_path):
    # an uninterrupted run
    _, whole = run(tmp_path / "a", Script())
    # the same run, killed (SIGKILL) while the 8th LLM call is in flight
    proc = subprocess.Popen([sys.executable, "-c", RUNNER.format(root=str(ROOT)),
                             str(tmp_path / "b"), "8"], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    assert proc.stdout.readline().strip() == "READY"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rd = RunDir(tmp_path / "b" / "runs" / "killed")
    assert not rd.finished
    before = rd.evaluations()
    assert before, "the killed run had evaluated cells"
    n_calls_before = len(rd.records("llm_call"))
    assert n_calls_before == 7
    script = Script()
    resumed = run_session(load_config(nb201_config(tmp_path / "b")), run=rd, resume=True,
                          llms=llms_for(script))
    for task in whole.tasks:
        a, b = whole.tasks[task], resumed.tasks[task]
        assert (a.arch, a.val, a.test, a.n_evals) == (b.arch, b.val, b.test, b.n_evals)
        assert a.iterations == b.iterations
    # nothing evaluated twice, nothing lost
    after = rd.evaluations()
    assert after[: len(before)] == before
    keys = [(e.task, e.arch) for e in after]
    assert len(keys) == len(set(keys))
    assert len(after) == sum(t.n_evals for t in whole.tasks.values())
    # the resumed run asked the model only for the calls the killed one had not answered
    total = sum(a.calls for a in whole.llm.values())
    assert sum(script.calls.values()) == total - n_calls_before
    recs = rd.records("llm_call")
    assert len(recs) == total
    msgs = [r["type"] for r in rd.records("message")]
    assert msgs.count("analyze_request") == 1 and msgs.count("search_result") == 6


def test_config_errors_name_the_problem(tmp_path):
    from lapt.agents import ConfigError

    bad = nb201_config(tmp_path, targets=["svhn"])
    with pytest.raises(ConfigError, match="unknown task 'svhn' for space nb201; valid: cifar10"):
        load_config(bad)
    with pytest.raises(ConfigError, match="unknown space 'nb101'; valid: nb201, trans101, darts"):
        load_config(nb201_config(tmp_path, space="nb101"))
    with pytest.raises(ConfigError, match="search.population: Input should be greater than 0"):
        load_config(nb201_config(tmp_path, search={"population": 0}))
    with pytest.raises(ConfigError, match="tournament .5. must not exceed population .2."):
        load_config(nb201_config(tmp_path, search={"population": 2, "tournament": 5}))
    with pytest.raises(ConfigError, match="unknown providers key.*valid: default, analyst"):
        load_config(nb201_config(tmp_path, providers={"searcher": {"provider": "llama_cpp"}}))
    with pytest.raises(ConfigError, match="providers.default"):
        load_config(nb201_config(tmp_path, providers={"default": {"provider": "gpt"}}))
    with pytest.raises(ConfigError, match="bogus: Extra inputs are not permitted"):
        load_config(nb201_config(tmp_path, bogus=1))
    f = tmp_path / "broken.yaml"
    f.write_text("space: [nb201\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)
    with pytest.raises(ConfigError, match="no config file or preset named 'nope'; presets: "):
        load_config("nope")


def test_presets_load():
    from lapt.agents import preset_names

    assert {"nb201", "trans101"} <= set(preset_names())
    cfg = load_config("nb201")
    assert (cfg.source.task, cfg.targets, cfg.search.iterations, cfg.search.population,
            cfg.search.tournament, cfg.search.top_r, cfg.source.top_k) == (
        "ImageNet16-120", ["cifar10", "cifar100"], 3, 5, 2, 5, 50)
    tr = load_config("trans101")
    assert (tr.search.iterations, tr.search.population, tr.search.tournament,
            tr.search.top_r, tr.search.budget) == (4, 10, 5, 15, 50)
    assert cfg.provider("analyst").provider == "llama_cpp"
    assert json.loads(json.dumps(cfg.model_dump(mode="json")))["space"] == "nb201"


@pytest.mark.parametrize("space", ["nb201", "trans101", "darts"])
def test_translator_schema_leaves_no_room_for_an_empty_list(space: str) -> None:
    """What constrained decoding may produce: non-empty op lists; sources only where a
    layer can choose them, and then never an empty list."""
    from lapt.agents.schemas import translator_schema

    schema = translator_schema(space).model_json_schema()
    layer = next(v for k, v in schema["$defs"].items() if k.endswith("LayerAnswer"))
    assert layer["properties"]["ops"]["minItems"] == 1
    sources = layer["properties"].get("sources")
    if get_space(space).fixed_sources:
        assert sources is None
    else:
        array = next(a for a in sources["anyOf"] if a["type"] == "array")
        assert array["minItems"] == 1
        assert set(array["items"]["enum"]) == {s for l in get_space(space).layers
                                               for s in l.sources}
    # parsing stays lenient: an empty list reaches the validator and its message
    model = translator_schema(space)
    assert model.model_validate({"layers": [{"layer": 0, "ops": ["none"], "sources": []}]})


def test_records_read_back_typed(tmp_path, caplog):
    """results.json reads back as RunResult; the transcript as one discriminated union;
    a damaged line is skipped with a warning naming the file and line."""
    from lapt.agents import (
        EventRecord,
        LLMCallRecord,
        MessageRecord,
        RunResult,
        read_typed_transcript,
    )
    from lapt.agents.messages import Analysis

    cfg, res = run(tmp_path, Script())
    rd = RunDir(Path(res.run_dir))
    back = rd.results()
    assert isinstance(back, RunResult) and back.tasks == res.tasks
    assert back.principles.model_dump() == res.principles.model_dump()
    path = rd.path / "transcript.jsonl"
    lines = path.read_text().split("\n")
    lines.insert(3, '{"kind": "nonsense", "seq": 1}')
    lines.insert(5, "not json \u2028 at all")
    path.write_text("\n".join(lines))
    records = read_typed_transcript(rd.path)
    kinds = {type(r) for r in records}
    assert kinds == {MessageRecord, LLMCallRecord, EventRecord}
    assert len(records) == len(lines) - 3  # the two bad lines and the final empty one
    analysis = next(r for r in records if isinstance(r, MessageRecord) and r.type == "analysis")
    message = analysis.message()
    assert isinstance(message, Analysis)
    assert message.principles.model_dump() == res.principles.model_dump()
    assert "transcript.jsonl:4: skipping a record of no known shape" in caplog.text
    assert "transcript.jsonl:6: skipping a line that is not JSON" in caplog.text
