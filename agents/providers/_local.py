"""AutoGen clients answered in-process (function, replay, manual).

They know which agent is asking through ``current_agent``, a context variable that
``LLM.complete`` sets around each call.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
from abc import abstractmethod
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from .config import FunctionConfig

__all__ = ["FunctionClient", "LocalClient", "current_agent", "to_dicts"]

current_agent: contextvars.ContextVar[str] = contextvars.ContextVar(
    "lapt_current_agent", default="agent"
)


def to_dicts(messages: Sequence[LLMMessage]) -> list[dict[str, str]]:
    """AutoGen messages as ``{"role", "content"}`` dicts."""
    out = []
    for msg in messages:
        role = {SystemMessage: "system", UserMessage: "user", AssistantMessage: "assistant"}.get(
            type(msg), type(msg).__name__
        )
        content = (
            msg.content if isinstance(msg.content, str) else json.dumps(msg.content, default=str)
        )
        out.append({"role": role, "content": content})
    return out


class LocalClient(ChatCompletionClient):
    """Base for clients whose answers do not come from a model server."""

    _INFO = ModelInfo(
        vision=False,
        function_calling=False,
        json_output=True,
        family="unknown",
        structured_output=True,
    )

    def __init__(self) -> None:
        self._usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._counts: dict[str, int] = {}

    def skip(self, agent: str, n: int) -> None:
        """Count ``n`` calls of ``agent`` as made (a resumed run's recorded calls), so the
        next one is numbered as in the run that was interrupted."""
        self._counts[agent] = self._counts.get(agent, 0) + n

    def next_index(self, agent: str) -> int:
        """Count this agent's calls; return the 1-based number of this one."""
        self._counts[agent] = self._counts.get(agent, 0) + 1
        return self._counts[agent]

    @abstractmethod
    async def answer(
        self, agent: str, messages: list[dict[str, str]], schema: type[BaseModel] | None
    ) -> tuple[str, int, int]:
        """Return ``(text, prompt_tokens, completion_tokens)`` for one call."""

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        schema = json_output if isinstance(json_output, type) else None
        text, p_tok, c_tok = await self.answer(current_agent.get(), to_dicts(messages), schema)
        usage = RequestUsage(prompt_tokens=p_tok, completion_tokens=c_tok)
        self._usage = RequestUsage(
            prompt_tokens=self._usage.prompt_tokens + p_tok,
            completion_tokens=self._usage.completion_tokens + c_tok,
        )
        return CreateResult(finish_reason="stop", content=text, usage=usage, cached=False)

    async def create_stream(  # type: ignore[override]
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        """Nothing to release."""

    def actual_usage(self) -> RequestUsage:
        return self._usage

    def total_usage(self) -> RequestUsage:
        return self._usage

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Any = ()) -> int:
        return sum(len(m["content"].split()) for m in to_dicts(messages))

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Any = ()) -> int:
        return 1_000_000

    @property
    def capabilities(self) -> ModelInfo:  # type: ignore[override]
        return self._INFO

    @property
    def model_info(self) -> ModelInfo:
        return self._INFO


class FunctionClient(LocalClient):
    """Answers from a list (in order, shared by all agents) or a callable; raises
    exception items, so tests can script timeouts and rate limits."""

    def __init__(self, config: FunctionConfig) -> None:
        super().__init__()
        self._config = config
        self._queue = list(config.answers)

    async def answer(
        self, agent: str, messages: list[dict[str, str]], schema: type[BaseModel] | None
    ) -> tuple[str, int, int]:
        self.next_index(agent)
        if self._config.fn is not None:
            item = self._config.fn(agent, messages, schema)
            if inspect.isawaitable(item):
                item = await item
        elif self._queue:
            item = self._queue.pop(0)
        else:
            raise RuntimeError(f"function provider ran out of answers (agent {agent!r})")
        await asyncio.sleep(0)
        if isinstance(item, BaseException):
            raise item
        text = item if isinstance(item, str) else json.dumps(item)
        return text, self._config.prompt_tokens, self._config.completion_tokens
