"""Retries over real HTTP: the real openai client against a local server that
answers 429 (then 503) before a valid chat completion."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import pytest
from pydantic import BaseModel

from lapt.agents.providers import LLMError, build_llm
from lapt.agents.transcript import Transcript

SECRET = "sk-http-test-SECRET-9876543210abcdef"


class Verdict(BaseModel):
    op: str
    keep: bool


def _completion(content: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


class FlakyServer:
    """Answers the scripted statuses in order, then 200 with ``content``."""

    def __init__(self, statuses: list[int], content: str) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append({"headers": headers, "body": body})
                status = outer.statuses.pop(0) if outer.statuses else 200
                payload = _completion(content) if status == 200 else {"error": {"message": "busy"}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0.01")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _config(url: str, **kw: object) -> dict:
    return {
        "provider": "openai",
        "model": "fake-local",
        "base_url": url,
        "api_key_env": "HTTP_TEST_KEY",
        "retry_initial_s": 0.01,
        "timeout_s": 10,
        **kw,
    }


def test_429_then_success_is_retried_by_us(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HTTP_TEST_KEY", SECRET)
    caplog.set_level("DEBUG")
    with FlakyServer([429, 503], '{"op": "conv3x3", "keep": true}') as server:
        transcript = Transcript(tmp_path)
        llm = build_llm(_config(server.base_url), sink=transcript.llm_call)
        msgs = [{"role": "user", "content": "Answer as JSON."}]
        call = asyncio.run(llm.complete("analyst", msgs, Verdict))
        transcript.close()
    assert call.parsed == {"op": "conv3x3", "keep": True}
    assert [r.attempt for r in call.retries] == [1, 2]
    assert "RateLimitError" in call.retries[0].error
    assert "InternalServerError" in call.retries[1].error
    assert (call.prompt_tokens, call.completion_tokens) == (11, 7)
    assert len(server.requests) == 3  # openai's own retries are off: all three are ours
    first = server.requests[0]
    assert first["headers"]["authorization"] == f"Bearer {SECRET}"
    assert first["body"]["response_format"]["type"] == "json_object"
    assert "schema" in first["body"]["response_format"]
    assert SECRET not in (tmp_path / "transcript.jsonl").read_text()
    assert SECRET not in caplog.text and SECRET not in call.model_dump_json()


def test_http_400_fails_fast(monkeypatch):
    monkeypatch.setenv("HTTP_TEST_KEY", SECRET)
    with FlakyServer([400], "{}") as server:
        llm = build_llm(_config(server.base_url))
        with pytest.raises(LLMError, match="BadRequestError") as err:
            asyncio.run(llm.complete("translator", [{"role": "user", "content": "x"}], Verdict))
    assert len(server.requests) == 1 and SECRET not in str(err.value)


def test_json_schema_mode_sends_the_schema(monkeypatch):
    monkeypatch.setenv("HTTP_TEST_KEY", SECRET)
    with FlakyServer([], '```json\n{"op": "skip", "keep": false}\n```') as server:
        llm = build_llm(_config(server.base_url, json_mode="json_schema"))
        call = asyncio.run(llm.complete("adapter", [{"role": "user", "content": "x"}], Verdict))
    fmt = server.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Verdict"
    assert fmt["json_schema"]["schema"]["required"] == ["op", "keep"]
    assert call.parsed == {"op": "skip", "keep": False}


def test_a_connection_error_names_the_endpoint() -> None:
    """Nothing listens on the port: the error, after the bounded retries, says where."""
    import socket

    with socket.socket() as s:  # a free loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    llm = build_llm({"provider": "openai", "model": "fake", "base_url": url,
                     "max_retries": 1, "retry_initial_s": 0.01, "timeout_s": 5})
    with pytest.raises(LLMError) as err:
        asyncio.run(llm.complete("analyst", [{"role": "user", "content": "?"}], Verdict))
    assert f"(endpoint {url})" in str(err.value) and "gave up after 2 attempt(s)" in str(err.value)
