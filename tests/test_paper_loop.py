"""The loop as the paper's code runs it (scripted model answers): one continuing REA per
task, adaptations at fixed evaluation counts, per-layer caps enforced through repairs,
the Analyst's per-layer operators as the first subspace, and a per-task conversation
that the Adapter and the Translator continue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lapt.agents import ConfigError, RunDir, load_config, run_session
from lapt.agents.transcript import read_transcript
from lapt.tools.tasks import source_archive

from .scripted import Script, analyst_answer, translator_answer
from .test_session import llms_for, nb201_config

CONV = ["nor_conv_3x3", "nor_conv_1x1"]


def with_layers(ops: list[str], n: int = 6) -> dict:
    """An Analyst answer that also proposes ``ops`` on every layer (the paper's step 4)."""
    return {**analyst_answer(ops), "layers": [{"layer": i, "ops": ops} for i in range(n)]}


def paper_config(tmp_path: Path, **over) -> dict:
    """NB201 as the preset runs it, one target; the provider named is a person's (roomy
    answers), the answers come from a script."""
    return nb201_config(tmp_path, **{
        "targets": ["cifar10"], "translator": {"max_ops_per_layer": 2},
        "search": {"budget": 30, "iterations": 3, "initial": 10, "adapt_every": 5,
                   "population": 5, "tournament": 2},
        "providers": {"default": {"provider": "manual"}}, **over})


def llm_calls(res) -> list[dict]:
    return read_transcript(Path(res.run_dir), kind="llm_call")


def test_the_schedule_adapts_at_the_configured_counts(tmp_path):
    script = Script(analyst=[with_layers(CONV)])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    its = res.tasks["cifar10"].iterations
    assert [i.n_evals for i in its] == [10, 15, 30]
    msgs = [r for r in read_transcript(Path(res.run_dir), kind="message")]
    requests = [m["payload"] for m in msgs if m["type"] == "adapt_request"]
    # Algorithm 2 sees every cell found so far, best first
    assert [len(r["found"]) for r in requests] == [10, 15]
    vals = [e["val"] for e in requests[1]["found"]]
    assert vals == sorted(vals, reverse=True)
    budgets = [m["payload"]["budget"] for m in msgs if m["type"] == "search_request"]
    assert budgets == [10, 5, 15]
    # every evaluation is unique across the three blocks
    cells = [e.arch for e in RunDir(Path(res.run_dir)).evaluations("cifar10")]
    assert len(cells) == len(set(cells)) == 30


def test_the_population_persists_across_an_adaptation(tmp_path):
    """After an adaptation the task's search goes on: its first new cell lies in the new
    subspace and is a child of the population (the layers the new subspace still allows
    are inherited, but for one mutated layer)."""
    narrow = translator_answer(CONV)
    narrow["layers"][5]["ops"] = ["nor_conv_1x1", "skip_connect"]
    script = Script(analyst=[with_layers(CONV)], translator=[narrow, narrow])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    results = [m["payload"] for m in read_transcript(Path(res.run_dir), kind="message")
               if m["type"] == "search_result"]
    assert [r["continued"] for r in results] == [False, True, True]
    evals = [e.arch for e in RunDir(Path(res.run_dir)).evaluations("cifar10")]
    first_new, before = evals[10], evals[:10]
    assert first_new.ops[5] in ("nor_conv_1x1", "skip_connect")
    assert any(sum(x != y for x, y in zip(a.ops[:5], first_new.ops[:5])) <= 1 for a in before)
    its = res.tasks["cifar10"].iterations
    assert its[0].subspace_from == "analyst" and its[1].subspace_from == "translator"


def test_the_analysts_layers_are_the_first_subspace(tmp_path):
    script = Script(analyst=[with_layers(CONV)])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    it = res.tasks["cifar10"].iterations[0]
    assert it.subspace_from == "analyst" and it.subspace_size == 2 ** 6
    assert all(sorted(layer.ops) == sorted(CONV) for layer in it.subspace.layers)
    # the first subspace cost no Translator call; the first adaptation's principles did,
    # and the second adaptation gave the same principles, so their subspace was kept
    assert script.calls["translator"] == 1
    # with first_subspace false, the Translator makes it, shown the Analyst's list
    script = Script(analyst=[with_layers(CONV)])
    cfg = paper_config(tmp_path, analyst={"first_subspace": False})
    res = run_session(load_config(cfg), llms=llms_for(script))
    assert res.tasks["cifar10"].iterations[0].subspace_from == "translator"
    first = [c for c in llm_calls(res) if c["agent"] == "translator"][0]
    assert "The analysis proposed these operators per layer" in first["messages"][-1]["content"]


def test_the_cap_is_enforced_through_a_repair(tmp_path):
    wide = translator_answer(["nor_conv_3x3", "nor_conv_1x1", "skip_connect"])
    script = Script(analyst=[analyst_answer(CONV)], translator=[wide, translator_answer(CONV)])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    calls = [c for c in llm_calls(res) if c["agent"] == "translator"]
    repair = calls[1]["messages"][-1]["content"]
    assert "at most 2 operators per layer: layer 0 (3), layer 1 (3)" in repair
    assert "layer 5 (3)" in repair
    it = res.tasks["cifar10"].iterations[0]
    assert it.subspace_valid and it.repairs == 1 and it.subspace_size == 2 ** 6
    # the schema shown (and used for constrained decoding) says so too
    schema = json.loads(calls[0]["messages"][-1]["content"].split("this schema: ")[1]
                        .split("\nNotes:")[0])
    assert schema["$defs"]["Nb201LayerAnswer"]["properties"]["ops"]["maxItems"] == 2


def test_the_analysts_layers_that_break_the_cap_are_repaired(tmp_path):
    wide = with_layers(["nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"])
    script = Script(analyst=[wide, with_layers(CONV)])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    calls = [c for c in llm_calls(res) if c["agent"] == "analyst"]
    assert len(calls) == 2
    assert "layers: - at most 2 operators per layer" in calls[1]["messages"][-1]["content"]
    assert res.tasks["cifar10"].iterations[0].subspace_from == "analyst"


def test_the_adapter_continues_the_conversation_of_the_analysis(tmp_path):
    script = Script(analyst=[with_layers(CONV)])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    calls = llm_calls(res)
    analyst = next(c for c in calls if c["agent"] == "analyst")
    adapters = [c for c in calls if c["agent"] == "adapter"]
    translators = [c for c in calls if c["agent"] == "translator"]
    first = adapters[0]["messages"]
    # system, the Analyst's prompt and answer, then the Adapter's own turn
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user"]
    assert first[1]["content"] == analyst["messages"][-1]["content"]
    assert "arch_1 = " in first[1]["content"]
    assert first[2]["content"] == analyst["raw"]
    # the next round holds the first adaptation and the translation that followed it
    second = adapters[1]["messages"]
    assert second[3]["content"] == first[3]["content"]
    assert second[4]["content"] == adapters[0]["raw"]
    assert second[5]["content"] == translators[0]["messages"][-1]["content"]
    assert second[6]["content"] == translators[0]["raw"]
    # without memory, each agent sees its own prompt only
    cfg = paper_config(tmp_path, adapter={"memory": False}, translator={
        "max_ops_per_layer": 2, "memory": False})
    res = run_session(load_config(cfg), llms=llms_for(Script(analyst=[with_layers(CONV)])))
    first = next(c for c in llm_calls(res) if c["agent"] == "adapter")["messages"]
    assert [m["role"] for m in first] == ["system", "user"]


def test_memory_is_per_task(tmp_path):
    script = Script(analyst=[with_layers(CONV)])
    res = run_session(load_config(paper_config(tmp_path, targets=["cifar10", "cifar100"])),
                      llms=llms_for(script))
    adapters = [c for c in llm_calls(res) if c["agent"] == "adapter"]
    assert len(adapters) == 4
    # the first adaptation on cifar100 starts again from the analysis alone
    assert len(adapters[2]["messages"]) == len(adapters[0]["messages"]) == 4
    assert "cifar100" in adapters[2]["messages"][-1]["content"]


def test_answer_sizes_follow_the_provider_and_the_agent(tmp_path):
    cfg = load_config(paper_config(tmp_path))
    assert cfg.answer_size("analyst").principles == 8   # a roomy default for any model
    emb = load_config("nb201")
    assert emb.answer_size("adapter").principles == 3   # the embedded model: tight
    assert emb.answer_size("adapter").statement_chars == 120
    own = load_config(paper_config(tmp_path, adapter={"answer_size": {"principles": 5}}))
    assert own.answer_size("adapter").principles == 5
    script = Script(analyst=[with_layers(CONV)])
    res = run_session(own, llms=llms_for(script))
    adapter = next(c for c in llm_calls(res) if c["agent"] == "adapter")
    assert '"maxItems":5' in adapter["messages"][-1]["content"]
    analyst = next(c for c in llm_calls(res) if c["agent"] == "analyst")
    assert '"maxLength":600' in analyst["messages"][-1]["content"]
    saved = (Path(res.run_dir) / "config.yaml").read_text()
    assert "principles: 5" in saved and "principles: 8" in saved


def test_a_schedule_the_budget_cannot_hold_is_refused(tmp_path):
    bad = nb201_config(tmp_path, search={"budget": 12, "iterations": 3, "initial": 10,
                                         "adapt_every": 5})
    with pytest.raises(ConfigError, match=r"initial \(10\) \+ 1 x adapt_every \(5\) needs a "
                                          r"budget of at least 16"):
        load_config(bad)
    with pytest.raises(ConfigError, match="max_ops_per_layer: Input should be greater than 0"):
        load_config(nb201_config(tmp_path, translator={"max_ops_per_layer": 0}))


def test_manual_answers_live_per_run_and_resume_reads_the_next_file(tmp_path):
    """A manual run reads <answers_dir>/<run-id>/<agent>-<n>.json; a run stopped for a
    missing answer, resumed, asks for the next file of that agent (not its first again)."""
    from lapt.agents.providers import LLMError

    answers = tmp_path / "answers"
    cfg = load_config(paper_config(tmp_path, providers={"default": {
        "provider": "manual", "answers_dir": str(answers), "wait_s": 0.2}}))
    run = RunDir.create(cfg, "manual-run")
    folder = answers / "manual-run"
    folder.mkdir(parents=True)
    (folder / "analyst-1.json").write_text(json.dumps(with_layers(CONV)))
    (folder / "adapter-1.json").write_text(json.dumps(
        {"observations": "first", "principles": [{"statement": "a", "effect": "positive",
                                                  "operators": ["nor_conv_3x3"]}]}))
    (folder / "translator-1.json").write_text(json.dumps(translator_answer(CONV)))
    with pytest.raises(LLMError, match="adapter-2.json"):
        run_session(cfg, run=run)
    assert (folder / "adapter-2.prompt.md").is_file()
    second = {"observations": "second", "principles": [
        {"statement": "b", "effect": "positive", "operators": ["nor_conv_1x1"]}]}
    (folder / "adapter-2.json").write_text(json.dumps(second))
    (folder / "translator-2.json").write_text(json.dumps(translator_answer(
        ["nor_conv_1x1", "skip_connect"])))
    res = run_session(cfg, run=run, resume=True)
    adapters = [c for c in llm_calls(res) if c["agent"] == "adapter" and c["raw"]]
    assert [json.loads(c["raw"])["observations"] for c in adapters] == ["first", "second"]
    last = res.tasks["cifar10"].iterations[2].subspace.layers[0].ops
    assert sorted(last) == ["nor_conv_1x1", "skip_connect"]


def test_a_subspace_without_any_known_best_cell_is_repaired(tmp_path):
    """With keep_known_best, the Analyst's per-layer operators and the Translator's
    subspace must hold one of the best cells known; the violation names the best one."""
    poor = with_layers(["none", "skip_connect"])
    good = translator_answer(CONV)
    good["layers"][3]["ops"] = ["skip_connect", "nor_conv_1x1"]  # the top cells' layer 3
    script = Script(analyst=[poor, poor, poor],
                    translator=[translator_answer(["none", "avg_pool_3x3"]), good])
    cfg = paper_config(tmp_path, translator={"max_ops_per_layer": 2, "keep_known_best": True})
    res = run_session(load_config(cfg), llms=llms_for(script))
    calls = llm_calls(res)
    analyst = [c for c in calls if c["agent"] == "analyst"]
    assert len(analyst) == 3  # two repairs, then the principles alone
    assert "holds none of the 3 best architectures known" in analyst[1]["messages"][-1]["content"]
    assert "(the best: layer 0 nor_conv_3x3" in analyst[1]["messages"][-1]["content"]
    its = res.tasks["cifar10"].iterations
    # no usable per-layer list: the Translator made the first subspace, after one repair
    assert its[0].subspace_from == "translator" and its[0].repairs == 1
    searched = its[0].subspace
    archive = source_archive("nb201", "ImageNet16-120", 3)  # translator.known_best_top
    assert any(searched.contains(a) for a in archive)


def test_the_first_subspace_must_hold_one_of_the_sources_very_best(tmp_path):
    """A per-layer list that holds one of the source's top 20 but none of its top
    ``known_best_top`` (3) is refused: holding *some* good cell is no evidence when
    the list allows most operators (what a model that cannot read the archive writes)."""
    archive = source_archive("nb201", "ImageNet16-120", 20)
    top3 = archive[:3]
    ops = None
    for cell in archive[3:]:  # one of the top 20, with a second operator on each layer
        mine = [op for op, _ in cell.as_layer_list()]
        for other in ("none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1"):
            cand = [[op] + ([other] if other != op else []) for op in mine]
            if not any(all(op in cand[l] for l, (op, _) in enumerate(b.as_layer_list()))
                       for b in top3):
                ops = cand
                break
        if ops:
            break
    assert ops is not None, "no list found that holds a top-20 cell but no top-3 cell"
    listed = {**with_layers(CONV), "layers": [{"layer": l, "ops": o} for l, o in enumerate(ops)]}
    script = Script(analyst=[listed], translator=[translator_answer(CONV)])
    cfg = paper_config(tmp_path, translator={"max_ops_per_layer": 2, "keep_known_best": True},
                       analyst={"max_repairs": 0})
    res = run_session(load_config(cfg), llms=llms_for(script))
    first = res.tasks["cifar10"].iterations[0]
    assert first.subspace_from == "translator"  # the Analyst's list was refused
    assert "holds none of the 3 best architectures known" in res.principles.origin
    # the same list with the looser rule (any of the top 20) is the first subspace
    cfg2 = paper_config(tmp_path / "loose", translator={
        "max_ops_per_layer": 2, "keep_known_best": True, "known_best_top": 20},
        analyst={"max_repairs": 0})
    res2 = run_session(load_config(cfg2), llms=llms_for(Script(
        analyst=[listed], translator=[translator_answer(CONV)])))
    assert res2.tasks["cifar10"].iterations[0].subspace_from == "analyst"


def test_a_spent_last_subspace_goes_on_in_the_whole_space(tmp_path):
    """A last subspace with fewer cells than the budget left: once every cell of it is
    evaluated, the same search goes on in the whole space until the budget is spent."""
    tiny = translator_answer(CONV)
    for layer in tiny["layers"][:5]:
        layer["ops"] = ["nor_conv_3x3"]  # 2 cells
    script = Script(analyst=[with_layers(CONV)], translator=[tiny, tiny])
    res = run_session(load_config(paper_config(tmp_path)), llms=llms_for(script))
    t = res.tasks["cifar10"]
    assert t.n_evals == 30 and t.iterations[-1].subspace_size == 2
    spent = t.iterations[-1].widened_at
    assert 10 < spent <= 12  # the first block, then at most the 2 cells
    events = [e for e in RunDir(Path(res.run_dir)).records("event")
              if e["name"] == "subspace_exhausted"]
    assert len(events) == 1 and events[0]["data"]["budget"] == 30 - spent


def test_search_sequence_is_the_sessions_search(tmp_path):
    """``search_sequence`` (what the subspace scripts rerun) evaluates exactly the cells,
    in order, that a session evaluated in the same subspaces, the widening included."""
    from lapt.agents.searcher import search_sequence
    from lapt.spaces import get_space
    from lapt.tools.evaluate import TabularEvaluator
    from lapt.tools.search import derive_seed
    from lapt.tools.tasks import benchmark

    tiny = translator_answer(CONV)
    for layer in tiny["layers"][:5]:
        layer["ops"] = ["nor_conv_3x3"]
    script = Script(analyst=[with_layers(CONV)], translator=[tiny, tiny])
    cfg = load_config(paper_config(tmp_path))
    res = run_session(cfg, llms=llms_for(script))
    t = res.tasks["cifar10"]
    assert t.iterations[-1].widened_at is not None  # the widening is part of the check
    subs = [i.subspace for i in t.iterations]
    ev = search_sequence(get_space("nb201"), cfg.search, subs,
                         TabularEvaluator(benchmark("nb201"), "cifar10"), derive_seed(cfg.seed, 0))
    recorded = [e.arch for e in RunDir(Path(res.run_dir)).evaluations("cifar10")]
    assert [e.arch for e in ev.history] == recorded
    with pytest.raises(ValueError, match="2 subspaces for 3 blocks"):
        search_sequence(get_space("nb201"), cfg.search, subs[:2],
                        TabularEvaluator(benchmark("nb201"), "cifar10"), 0)
