"""Scripted model answers for the agent tests (the only mocks: the LLM's answers)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from lapt.agents.providers import FunctionConfig

NB201_OPS = ["nor_conv_3x3", "nor_conv_1x1"]  # within the presets' cap of 2


def principle(ops: list[str], effect: str = "positive", layers: list[int] | None = None) -> dict:
    return {"statement": f"{', '.join(ops)} {'help' if effect == 'positive' else 'hurt'}",
            "layers": layers or [], "operators": ops, "effect": effect}


def analyst_answer(ops: list[str]) -> dict:
    return {"information_flow": "features pass through stacked convolutions",
            "common_patterns": "convolutions on most edges",
            "principles": [principle(ops), principle(["none"], "negative")]}


def translator_answer(ops: list[str], n_layers: int = 6) -> dict:
    return {"layers": [{"layer": i, "ops": ops} for i in range(n_layers)], "rationale": "per P"}


def source_best_layers() -> list[list[str]]:
    """NB201, per layer: the operator of ImageNet16-120's best cell and one convolution, a
    64-cell subspace that passes the presets' first-subspace check (one of the source's
    top 3 inside)."""
    from lapt.tools.tasks import source_archive

    best = source_archive("nb201", "ImageNet16-120", 1)[0]
    return [[op, "nor_conv_1x1" if op == "nor_conv_3x3" else "nor_conv_3x3"]
            for op, _ in best.as_layer_list()]


def layers_answer(layers: list[list[str]]) -> dict:
    """A Translator answer with ``layers[i]`` on layer i."""
    return {"layers": [{"layer": i, "ops": ops} for i, ops in enumerate(layers)],
            "rationale": "per P"}


def adapter_answer(ops: list[str]) -> dict:
    return {"observations": "the best cells use these operators", "principles": [principle(ops)]}


class Script:
    """Per-agent answer queues; once a queue is empty, the agent's default answer repeats.

    Also counts calls, so tests can check how many were made.
    """

    def __init__(self, ops: list[str] | None = None, n_layers: int = 6,
                 **queues: list[Any]) -> None:
        ops = ops or NB201_OPS
        self.defaults = {"analyst": analyst_answer(ops),
                         "translator": translator_answer(ops, n_layers),
                         "adapter": adapter_answer(ops)}
        self.queues = {k: list(v) for k, v in queues.items()}
        self.calls: dict[str, int] = {}
        self.counter = itertools.count()

    def __call__(self, agent: str, messages: list, schema: Any) -> Any:
        self.calls[agent] = self.calls.get(agent, 0) + 1
        next(self.counter)
        queue = self.queues.get(agent)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, type) and issubclass(answer, BaseException):
                raise answer()
            return answer
        return self.defaults[agent]

    def provider(self) -> FunctionConfig:
        return FunctionConfig(fn=self)


def timeout() -> BaseException:
    return TimeoutError("scripted timeout")


class KillOnce(Script):
    """A :class:`Script` whose first call, while ``marker`` does not exist, creates it and
    kills its own process (a worker lost mid-seed); every later call answers as usual."""

    def __init__(self, marker: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marker = marker

    def __call__(self, agent: str, messages: list, schema: Any) -> Any:
        import os

        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().__call__(agent, messages, schema)


def _last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):  # Anthropic's content blocks
        content = " ".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content)


def _reply(path: str, answer: str) -> dict[str, Any]:
    """``answer`` in the response format of the API that ``path`` belongs to."""
    if path.endswith("/messages"):  # Anthropic
        return {"id": "m", "type": "message", "role": "assistant", "model": "fake",
                "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
    if path.endswith("/api/chat"):  # Ollama
        return {"model": "fake", "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": answer}, "done": True,
                "done_reason": "stop", "prompt_eval_count": 1, "eval_count": 1}
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class LoopbackLLM:
    """A loopback server that speaks the OpenAI, Anthropic and Ollama chat APIs; its model
    is ``answer(agent, messages)``. ``auth`` collects each request's Authorization or
    x-api-key header. ``close()`` stops it."""

    def __init__(self, answer: Callable[[str, list], Any]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        auth: list[str] = []
        self.auth = auth

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth.append(self.headers.get("Authorization") or
                            self.headers.get("x-api-key") or "")
                text = _last_user_text(body)
                agent = ("translator" if "refined search space for this task" in text
                         else "analyst" if "Analyse them in steps" in text else "adapter")
                data = json.dumps(_reply(self.path, json.dumps(
                    answer(agent, body["messages"])))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
