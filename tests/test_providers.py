"""Provider layer: configs, parsing, retries, replay, manual, transcript, secrets.

Fast and offline: scripted (function) providers and local files only.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys

import httpx
import openai
import pytest
from pydantic import BaseModel, ValidationError

from lapt.agents.providers import (
    LlamaCppConfig,
    LLMError,
    OpenAIConfig,
    ReplayError,
    build_llm,
    extract_json,
    is_transient,
    parse_answer,
    parse_provider_config,
)
from lapt.agents.transcript import Transcript, read_transcript

USER = [{"role": "user", "content": "Give x as JSON."}]


class Out(BaseModel):
    x: int
    note: str = ""


def run(coro):
    return asyncio.run(coro)


def fn_llm(answers, **kw):
    return build_llm({"provider": "function", "answers": answers, "retry_initial_s": 0, **kw})


def status_error(cls, status: int, headers: dict | None = None):
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, headers=headers or {})
    return cls(f"status {status}", response=response, body=None)


# ---- configs -------------------------------------------------------------------------


def test_config_defaults():
    cfg = parse_provider_config({"provider": "llama_cpp"})
    assert isinstance(cfg, LlamaCppConfig)
    assert cfg.model_path is None and cfg.n_ctx == 16384
    assert cfg.temperature == 0.2 and cfg.max_retries == 4
    official = parse_provider_config({"provider": "openai", "model": "gpt-4o-mini"})
    local = parse_provider_config(
        {"provider": "openai", "model": "qwen", "base_url": "http://127.0.0.1:8000/v1"}
    )
    assert isinstance(official, OpenAIConfig) and official.json_mode == "json_schema"
    assert local.json_mode == "json_object" and local.is_local
    assert official.api_key_env == "OPENAI_API_KEY"


def test_unknown_provider_lists_valid_ones():
    with pytest.raises(ValidationError) as err:
        parse_provider_config({"provider": "gpt", "model": "x"})
    text = str(err.value)
    for name in ("llama_cpp", "openai", "anthropic", "ollama", "replay", "manual"):
        assert name in text


def test_bad_fields_are_named():
    with pytest.raises(ValidationError, match="json_mode"):
        parse_provider_config({"provider": "openai", "model": "m", "json_mode": "xml"})
    with pytest.raises(ValidationError, match="temprature"):
        parse_provider_config({"provider": "ollama", "model": "m", "temprature": 0.1})
    with pytest.raises(ValidationError, match="model"):
        parse_provider_config({"provider": "anthropic"})
    with pytest.raises(ValidationError, match="answers"):
        parse_provider_config({"provider": "function"})


# ---- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"x": 3}',
        '```json\n{"x": 3}\n```',
        'Sure! Here it is: {"x": 3, "note": "a } brace"} hope it helps {',
        'prose {not json} then {"x": 3}',
    ],
)
def test_extract_json_tolerates_fences_and_prose(text):
    assert extract_json(text)["x"] == 3


def test_extract_json_keeps_a_raw_newline_inside_a_string():
    # not strict JSON, but unambiguous; before, the first *inner* object was taken instead
    text = '{"observations": "line one\nline two", "principles": [{"statement": "s"}]}'
    assert "\n" in text and "\\n" not in text
    out = extract_json(text)
    assert out["observations"] == "line one\nline two" and len(out["principles"]) == 1


def test_parse_answer_reports_precise_violations():
    parsed, error = parse_answer('{"x": "three", "note": 5}', Out)
    assert parsed is None
    assert "x:" in error and "note:" in error and "2 schema violation" in error
    parsed, error = parse_answer("no json here", Out)
    assert parsed is None and "not valid JSON" in error
    parsed, error = parse_answer("[1, 2]", Out)
    assert parsed is None and "expected a JSON object" in error


def test_never_evaluates_python():
    parsed, error = parse_answer("{'x': __import__('os').getpid()}", Out)
    assert parsed is None and error


# ---- retries -------------------------------------------------------------------------


def test_transient_errors_are_retried_and_recorded():
    calls = []
    llm = fn_llm(
        [TimeoutError(), status_error(openai.RateLimitError, 429), '{"x": 1}'],
        max_retries=3,
    )
    llm.sink = calls.append
    call = run(llm.complete("analyst", USER, Out))
    assert call.ok and call.parsed == {"x": 1, "note": ""}
    assert [r.attempt for r in call.retries] == [1, 2]
    assert "TimeoutError" in call.retries[0].error
    assert "RateLimitError" in call.retries[1].error
    assert calls == [call]


def test_retry_gives_up_after_max_retries():
    sink = []
    llm = fn_llm([httpx.ConnectError("refused")] * 5, max_retries=2)
    llm.sink = sink.append
    with pytest.raises(LLMError, match="gave up after 3 attempt"):
        run(llm.complete("translator", USER, Out))
    assert len(sink) == 1 and sink[0].raw is None and len(sink[0].retries) == 2


def test_attempt_timeout_is_retried():
    state = {"n": 0}

    async def slow_then_fast(agent, messages, schema):
        state["n"] += 1
        if state["n"] == 1:
            await asyncio.sleep(5)
        return '{"x": 2}'

    llm = build_llm(
        {"provider": "function", "fn": slow_then_fast, "timeout_s": 0.05, "retry_initial_s": 0}
    )
    call = run(llm.complete("adapter", USER, Out))
    assert call.parsed["x"] == 2 and len(call.retries) == 1
    assert call.retries[0].error.startswith("TimeoutError")


def test_non_transient_error_fails_fast_with_context():
    llm = fn_llm([status_error(openai.AuthenticationError, 401), '{"x": 1}'], max_retries=4)
    with pytest.raises(LLMError) as err:
        run(llm.complete("analyst", USER, Out))
    text = str(err.value)
    assert "'analyst'" in text and "'function'" in text and "AuthenticationError" in text
    assert err.value.call is not None and err.value.call.retries == []


@pytest.mark.parametrize("message", [
    "Requested tokens (17190) exceed context window of 16384",
    "This model's maximum context length is 8192 tokens",
    "prompt is too long: 250000 tokens > 200000 maximum",
])
def test_a_prompt_too_long_for_the_context_says_what_to_change(message):
    llm = fn_llm([ValueError(message)], max_retries=2)
    with pytest.raises(LLMError) as err:
        run(llm.complete("translator", USER, Out))
    text = str(err.value)
    assert message in text and "does not fit the model's context" in text
    assert "`n_ctx`" in text and "`translator.memory: false`" in text
    assert err.value.call is not None and err.value.call.retries == []  # not retried


def test_other_errors_get_no_context_hint():
    llm = fn_llm([ValueError("bad grammar")], max_retries=0)
    with pytest.raises(LLMError) as err:
        run(llm.complete("translator", USER, Out))
    assert "context" not in str(err.value)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (status_error(openai.InternalServerError, 503), True),
        (status_error(openai.BadRequestError, 400), False),
        (openai.APIConnectionError(request=httpx.Request("GET", "http://x")), True),
        (httpx.ReadTimeout("slow"), True),
        (ValueError("bad"), False),
    ],
)
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


def test_retry_after_header_is_honoured():
    llm = fn_llm(
        [status_error(openai.RateLimitError, 429, {"retry-after": "0.05"}), '{"x": 1}'],
        retry_max_s=1,
    )
    call = run(llm.complete("analyst", USER, Out))
    assert call.retries[0].wait_s == pytest.approx(0.05)


def test_schema_invalid_answer_is_returned_not_retried():
    llm = fn_llm(['{"x": "no"}', '{"x": 5}'])
    call = run(llm.complete("analyst", USER, Out))
    assert call.parsed is None and call.retries == [] and "x:" in call.error
    assert run(llm.complete("analyst", USER, Out)).parsed["x"] == 5


# ---- replay --------------------------------------------------------------------------


def _record_run(folder):
    with Transcript(folder) as t:
        llm = fn_llm(
            ['{"x": 1}', '{"x": 2}', '{"x": 3}'],
        )
        llm.sink = t.llm_call
        run(llm.complete("analyst", USER, Out))
        run(llm.complete("translator", USER, Out))
        run(llm.complete("analyst", [{"role": "user", "content": "again"}], Out))


def test_replay_answers_each_agent_in_order(tmp_path):
    _record_run(tmp_path)
    llm = build_llm({"provider": "replay", "transcript": str(tmp_path)})
    assert run(llm.complete("translator", USER, Out)).parsed["x"] == 2
    assert run(llm.complete("analyst", USER, Out)).parsed["x"] == 1
    again = [{"role": "user", "content": "again"}]
    assert run(llm.complete("analyst", again, Out)).parsed["x"] == 3
    with pytest.raises(LLMError, match=r"agent 'analyst', call 3: the recording has only 2"):
        run(llm.complete("analyst", again, Out))


def test_replay_detects_a_different_prompt(tmp_path):
    _record_run(tmp_path)
    llm = build_llm({"provider": "replay", "transcript": str(tmp_path / "transcript.jsonl")})
    with pytest.raises(LLMError, match=r"'translator', call 1: the prompt differs") as err:
        run(llm.complete("translator", [{"role": "user", "content": "Give y as JSON."}], Out))
    assert isinstance(err.value.__context__, ReplayError) or "differs at character" in str(
        err.value
    )


# ---- manual --------------------------------------------------------------------------


def test_manual_reads_answer_files(tmp_path):
    (tmp_path / "analyst-1.json").write_text('{"x": 7}')
    llm = build_llm({"provider": "manual", "answers_dir": str(tmp_path)})
    assert run(llm.complete("analyst", USER, Out)).parsed["x"] == 7
    assert (tmp_path / "analyst-1.prompt.md").read_text().startswith("## user")
    with pytest.raises(LLMError, match="analyst-2.json"):
        run(llm.complete("analyst", USER, Out))


def test_manual_reads_the_terminal_until_end(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"x":\n 8}\nEND\nignored\n'))
    llm = build_llm({"provider": "manual"})
    assert run(llm.complete("adapter", USER, Out)).parsed["x"] == 8


# ---- transcript and secrets ------------------------------------------------------------


def test_transcript_tolerates_a_truncated_last_line(tmp_path):
    with Transcript(tmp_path) as t:
        t.message("session", "analyst", "AnalyzeRequest", {"k": 50})
        t.event("iteration", g=1)
    path = tmp_path / "transcript.jsonl"
    with path.open("a") as f:
        f.write('{"seq": 2, "kind": "llm_ca')
    records = read_transcript(tmp_path)
    assert [r["kind"] for r in records] == ["message", "event"]
    with Transcript(tmp_path) as t:
        assert t.seq == 2
        t.event("resumed")
    assert [r["seq"] for r in read_transcript(path)] == [0, 1, 2]


def test_secrets_never_reach_records(tmp_path, monkeypatch, caplog):
    secret = "sk-live-THIS-IS-A-SECRET-0123456789"
    monkeypatch.setenv("MY_LLM_KEY", secret)
    caplog.set_level("DEBUG")
    cfg = {
        "provider": "openai",
        "model": "local-model",
        "api_key_env": "MY_LLM_KEY",
        "base_url": "http://127.0.0.1:9/v1",
    }
    llm = build_llm(cfg)
    assert secret not in repr(llm) and secret not in repr(llm.config)
    leaky = fn_llm([ValueError(f"server said key={secret}")])
    with Transcript(tmp_path) as t:
        leaky.sink = t.llm_call
        with pytest.raises(LLMError) as err:
            run(leaky.complete("analyst", [{"role": "user", "content": f"key {secret}"}], Out))
        t.event("config", api_key="whatever-value", provider=cfg)
        t.message("a", "b", "T", {"nested": {"authorization": "Bearer abcdefghijk"}})
    assert secret not in str(err.value)
    text = (tmp_path / "transcript.jsonl").read_text()
    assert secret not in text and "whatever-value" not in text and "abcdefghijk" not in text
    assert "[REDACTED]" in text
    assert secret not in caplog.text


def test_remote_endpoints_are_refused_in_tests():
    with pytest.raises(LLMError, match="remote model requests are disabled"):
        build_llm({"provider": "openai", "model": "gpt-4o-mini"})
    with pytest.raises(LLMError, match="remote model requests are disabled"):
        build_llm({"provider": "anthropic", "model": "claude-3-5-haiku-20241022"})
    with pytest.raises(LLMError, match="remote model requests are disabled"):
        build_llm({"provider": "ollama", "model": "llama3", "host": "http://10.0.0.5:11434"})


def test_remote_opt_in_builds_and_missing_key_is_clear(allow_remote_models, monkeypatch):
    assert build_llm({"provider": "anthropic", "model": "claude-3-5-haiku-20241022"})
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        build_llm({"provider": "openai", "model": "gpt-4o-mini"})


def test_local_server_needs_no_key_and_unknown_names_get_model_info(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    llm = build_llm(
        {"provider": "openai", "model": "gemma-3-270m", "base_url": "http://localhost:8080/v1"}
    )
    assert llm.client.model_info["json_output"] is True
    ollama = build_llm({"provider": "ollama", "model": "my-custom-model"})
    assert ollama.client.model_info["family"] == "unknown"


def test_openai_request_args_per_json_mode():
    base = {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}
    for mode, expected in [("json_schema", "json_schema"), ("json_object", "json_object")]:
        llm = build_llm({**base, "json_mode": mode})
        _, args = llm._request_args(Out)
        assert args["response_format"]["type"] == expected
    _, args = build_llm({**base, "json_mode": "json_object"})._request_args(Out)
    assert args["response_format"]["schema"]["title"] == "Out"
    _, args = build_llm({**base, "json_mode": "none"})._request_args(Out)
    assert "response_format" not in args
    assert json.dumps(args)  # plain data
