"""Hostile model answers: generated malformed answers for every agent, in whole sessions
of every tabular space and through the DARTS validators. Nothing may crash, every
session writes results.json, every transcript reads back and renders, and every answer
that could not be used is recorded as such (a repair, a fallback, kept principles)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from lapt.agents import RunDir, load_config, run_session
from lapt.agents.providers import AnswerSize, build_llm, parse_answer
from lapt.agents.schemas import adapter_schema, analyst_schema, translator_schema
from lapt.agents.transcript import read_transcript
from lapt.agents.transcript_view import filter_records, render_text
from lapt.spaces import get_space, validate_subspace

from .scripted import Script, analyst_answer, translator_answer

COUNT = {"answers": 0}

NASTY_TEXT = ["[/bold]", "[red]x[/red]", "\x1b[31mred\x1b[0m", "\u2028", "\u2029", "\x85",
              "\ud800", "²", "④", "9" * 5000, "\x00", "}{", "```json", "\\", '"']
nasty = st.one_of(st.sampled_from(NASTY_TEXT),
                  st.text(alphabet=st.characters(codec=None, categories=None), max_size=40))
nasty_op = st.one_of(nasty, st.integers(-10 ** 30, 10 ** 30), st.sampled_from(
    ["none", "nor_conv_3x3", "sep_conv_3x3", "conv7x7", "", " 3 "]))
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty, inner, max_size=4),
    max_leaves=12)


def _layers(n: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    layer = st.fixed_dictionaries({"layer": st.one_of(st.integers(0, n - 1), nasty_op),
                                   "ops": st.lists(nasty_op, max_size=4)},
                                  optional={"sources": st.lists(nasty_op, max_size=3)})
    return st.lists(layer, max_size=n + 2)


def _principles() -> st.SearchStrategy[list[Any]]:
    p = st.fixed_dictionaries({"statement": nasty, "effect": st.sampled_from(
        ["positive", "negative", "neutral", "great", ""]), "operators": st.lists(nasty_op,
                                                                                 max_size=3),
        "layers": st.lists(nasty_op, max_size=3)})
    return st.lists(p | json_value, max_size=4)


def _as_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except ValueError:  # an integer json cannot write: send it some other way
        return repr(value)


def hostile(agent: str, n_layers: int) -> st.SearchStrategy[str]:
    """One malformed answer for ``agent``: garbage, deep nesting, huge numbers, JSON of the
    wrong shape, or a near-valid answer with hostile fields."""
    near = {
        "analyst": st.fixed_dictionaries({"information_flow": nasty, "common_patterns": nasty,
                                          "principles": _principles(),
                                          "layers": _layers(n_layers)}),
        "translator": st.fixed_dictionaries({"layers": _layers(n_layers),
                                             "rationale": nasty}),
        "adapter": st.fixed_dictionaries({"observations": nasty,
                                          "principles": _principles()}),
    }[agent]
    return st.one_of(
        nasty,
        st.integers(1, 3000).map(lambda k: "[" * k + "]" * k),
        st.integers(1, 3000).map(lambda k: '{"a":' * k + "1" + "}" * k),
        st.integers(1, 60_000).map(lambda k: "{" * k),
        json_value.map(_as_text),
        near.map(_as_text),
        near.map(lambda v: f"Sure! Here it is:\n```json\n{_as_text(v)}\n```"),
    )


def _check_run(res: Any) -> None:
    rd = RunDir(Path(res.run_dir))
    assert rd.finished
    records = read_transcript(rd.path)
    out = io.StringIO()
    render_text(filter_records(records), Console(file=out, width=100, color_system=None))
    assert "\x1b" not in out.getvalue()
    for call in (r for r in records if r["kind"] == "llm_call"):
        assert (call["parsed"] is None) == (call["error"] is not None)
    for task in res.tasks.values():
        for it in task.iterations:
            assert it.subspace_valid or it.fallback_reason or it.subspace_from == "kept"


def _session(tmp: Path, space: str, answers: dict[str, list[str]]) -> None:
    ops = {"nb201": ["nor_conv_3x3", "nor_conv_1x1"],
           "trans101": ["nor_conv_3x3", "skip_connect"]}[space]
    good_analyst = {**analyst_answer(ops), "layers": translator_answer(ops)["layers"]}
    script = Script(ops=ops, analyst=answers["analyst"] + [good_analyst],
                    translator=answers["translator"], adapter=answers["adapter"])
    source, targets = {"nb201": ("ImageNet16-120", ["cifar10"]),
                       "trans101": ("jigsaw", ["class_scene"])}[space]
    cfg = load_config({
        "name": "hostile", "space": space, "source": {"task": source, "top_k": 10},
        "targets": targets, "out_dir": str(tmp),
        "search": {"budget": 12, "iterations": 3, "initial": 5, "adapt_every": 3,
                   "population": 4, "tournament": 2},
        "translator": {"max_ops_per_layer": 3, "keep_known_best": True},
        "providers": {"default": {"provider": "manual"}}})
    llms = {a: build_llm(script.provider()) for a in ("analyst", "translator", "adapter")}
    _check_run(run_session(cfg, llms=llms))
    left = [*script.queues["analyst"][:-1], *script.queues["translator"],
            *script.queues["adapter"]] if script.queues["analyst"] else [
        *script.queues["translator"], *script.queues["adapter"]]
    COUNT["answers"] += sum(len(v) for v in answers.values()) - len(left)  # the ones asked


def _answers(space: str) -> st.SearchStrategy[dict[str, list[str]]]:
    n = len(get_space(space).layers)
    return st.fixed_dictionaries({a: st.lists(hostile(a, n), min_size=1, max_size=5)
                                  for a in ("analyst", "translator", "adapter")})


FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@FAST
@given(answers=_answers("nb201"))
def test_hostile_answers_in_nb201_sessions(tmp_path_factory, answers):
    _session(tmp_path_factory.mktemp("nb201"), "nb201", answers)


@FAST
@given(answers=_answers("trans101"))
def test_hostile_answers_in_trans101_sessions(tmp_path_factory, answers):
    _session(tmp_path_factory.mktemp("trans101"), "trans101", answers)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(agent=st.sampled_from(["analyst", "translator", "adapter"]), data=st.data())
def test_hostile_answers_through_the_darts_schemas_and_validators(agent, data):
    """DARTS sessions train supernets, so its answers go straight through what a session
    does with them: parse against the schema, then validate (caps, sources, constraints)."""
    space = get_space("darts")
    text = data.draw(hostile(agent, len(space.layers)))
    COUNT["answers"] += 1
    schema = {"analyst": analyst_schema("darts", AnswerSize(), 4, 3),
              "translator": translator_schema("darts", 4, 3),
              "adapter": adapter_schema("darts")}[agent]
    parsed, error = parse_answer(text, schema)
    assert (parsed is None) != (error is None)
    if parsed is not None and parsed.get("layers"):
        report = validate_subspace(space, {"layers": parsed["layers"]}, max_ops=4,
                                   max_sources=3)
        assert report.valid or report.violations


def test_the_suite_sent_at_least_1000_hostile_answers():
    """Runs after the generated tests above (pytest keeps file order)."""
    assert COUNT["answers"] >= 1000, COUNT


def test_a_megabyte_of_braces_is_refused_unread() -> None:
    """The answer's length is checked before any parsing (a timing lives in no test: the
    check is one len(); 60,000 braces, within the limit, take about 0.2 s here)."""
    for text in ("{" * 1_000_000, "[" * 1_000_000, '{"a":' * 200_000):
        parsed, error = parse_answer(text, translator_schema("nb201"))
        assert parsed is None and "more than the 256,000 any answer may have" in error
    parsed, error = parse_answer("{" * 60_000, translator_schema("nb201"))
    assert parsed is None and "not valid JSON" in error
