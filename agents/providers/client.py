"""``LLM``: one agent-facing model client with retries, JSON parsing and a record sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from . import _build
from ._errors import LLMError, context_hint, is_transient, retry_after_s
from ._local import current_agent, to_dicts
from ._parsing import parse_answer
from ._secrets import scrub_text
from .config import ProviderConfig, parse_provider_config
from .records import LLMCall, RetryRecord

__all__ = ["LLM", "Sink", "build_llm"]

Sink = Callable[[LLMCall], Any]
"""Receives every call record, ok or not (e.g. ``Transcript.llm_call``)."""

Messages = Sequence[dict[str, str]] | Sequence[LLMMessage]


def to_llm_messages(messages: Messages) -> list[LLMMessage]:
    """``{"role", "content"}`` dicts (system/user/assistant) as AutoGen messages."""
    out: list[LLMMessage] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            out.append(msg)
            continue
        role, content = msg.get("role"), msg.get("content")
        if not isinstance(content, str):
            raise TypeError(f"message {i}: content must be a string")
        if role == "system":
            out.append(SystemMessage(content=content))
        elif role == "user":
            out.append(UserMessage(content=content, source="user"))
        elif role == "assistant":
            out.append(AssistantMessage(content=content, source="assistant"))
        else:
            raise ValueError(f"message {i}: role must be system, user or assistant, not {role!r}")
    return out


def _describe(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return scrub_text(f"{type(exc).__name__}: {text}")


class ChatModel(Protocol):
    """What an agent needs of a model: an :class:`LLM`, or a wrapper around one (a resumed
    run's, which answers the recorded calls first)."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    async def complete(self, agent: str, messages: Any, schema: type[BaseModel]) -> LLMCall: ...

    async def close(self) -> None: ...


class LLM:
    """A model client for agents: ``await llm.complete(agent, messages, Schema)``.

    Transient errors are retried (exponential backoff, at most ``max_retries``) and
    recorded; other errors raise ``LLMError``. A schema-invalid answer is returned
    with ``parsed=None`` and ``error`` set, for the caller's repair prompt. Every call
    record goes to ``sink``.

    Example:
        >>> llm = build_llm({"provider": "function", "answers": ['{"x": 1}']})
        >>> class Out(BaseModel):
        ...     x: int
        >>> call = asyncio.run(llm.complete("analyst", [{"role": "user", "content": "?"}], Out))
        >>> call.parsed
        {'x': 1}
    """

    def __init__(
        self,
        config: ProviderConfig,
        client: ChatCompletionClient,
        request_args: Any,
        sink: Sink | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self._request_args = request_args
        self.sink = sink

    @property
    def provider(self) -> str:
        return self.config.provider

    @property
    def model(self) -> str:
        return self.config.model

    def __repr__(self) -> str:
        return f"LLM(provider={self.provider!r}, model={self.model!r})"

    def _wait(self, state: RetryCallState) -> float:
        cfg = self.config
        base = wait_exponential(multiplier=cfg.retry_initial_s, max=cfg.retry_max_s)(state)
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after_s(exc) if exc is not None else None
        return min(max(base, hinted or 0.0), cfg.retry_max_s)

    async def _attempt(self, msgs: list[LLMMessage], schema: type[BaseModel]) -> Any:
        json_output, extra = self._request_args(schema)
        coro = self.client.create(msgs, json_output=json_output, extra_create_args=extra)
        if self.config.timeout_s:
            return await asyncio.wait_for(coro, self.config.timeout_s)
        return await coro

    def _emit(self, call: LLMCall) -> None:
        if self.sink is not None:
            self.sink(call)

    async def complete(self, agent: str, messages: Messages, schema: type[BaseModel]) -> LLMCall:
        """Ask the model; return the call record (``parsed`` set when valid).

        Raises:
            LLMError: the call failed for good (non-transient error, or retries spent).
        """
        msgs = to_llm_messages(messages)
        record: dict[str, Any] = {
            "agent": agent,
            "provider": self.provider,
            "model": self.model,
            "schema_name": schema.__name__,
            "messages": to_dicts(msgs),
            "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        retries: list[RetryRecord] = []

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            retries.append(
                RetryRecord(
                    attempt=state.attempt_number, error=_describe(exc) if exc else "", wait_s=wait
                )
            )

        token = current_agent.set(agent)
        start = time.perf_counter()
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.config.max_retries + 1),
                wait=self._wait,
                retry=retry_if_exception(is_transient),
                before_sleep=before_sleep,
                reraise=True,
            ):
                with attempt:
                    result = await self._attempt(msgs, schema)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then raised
            cause = _describe(exc)
            endpoint = getattr(self.config, "base_url", None) or getattr(self.config, "host",
                                                                         None)
            if endpoint:  # a connection error should say where it tried to connect
                cause = f"{cause} (endpoint {endpoint})"
            if is_transient(exc):
                cause = f"gave up after {len(retries) + 1} attempt(s): {cause}"
            cause = context_hint(cause)
            call = LLMCall(
                **record, error=cause, retries=retries, latency_s=time.perf_counter() - start
            )
            self._emit(call)
            raise LLMError(
                cause, agent=agent, provider=self.provider, model=self.model, call=call
            ) from None
        finally:
            current_agent.reset(token)
        latency = time.perf_counter() - start
        error: str | None
        if isinstance(result.content, str):
            raw = result.content
            parsed, error = parse_answer(raw, schema)
        else:
            raw, parsed = str(result.content), None
            error = f"expected text, got {type(result.content).__name__} (tool calls)"
        call = LLMCall(
            **record,
            raw=raw,
            parsed=parsed,
            error=error,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            latency_s=latency,
            retries=retries,
        )
        self._emit(call)
        return call

    async def close(self) -> None:
        """Release the underlying client."""
        await self.client.close()


def build_llm(config: ProviderConfig | dict[str, Any], sink: Sink | None = None) -> LLM:
    """Build the ``LLM`` for a provider config (a model or a mapping from YAML).

    API keys are read from the env vars the config names, now.

    Raises:
        pydantic.ValidationError: the config is invalid.
        LLMError: a key is missing, or the endpoint is refused (tests).
    """
    cfg = parse_provider_config(config)
    backend = _build.build_backend(cfg)
    return LLM(cfg, backend.client, backend.request_args, sink)
