"""What the three LLM agents share: a model client and the bounded ask-and-repair loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from autogen_core import RoutedAgent
from pydantic import BaseModel

from .prompts import repair_prompt
from .providers import ChatModel, LLMCall

M = TypeVar("M", bound=BaseModel)


class Answer(Generic[M]):
    """The outcome of :func:`ask`: the accepted answer (or None) and every call made."""

    def __init__(self, value: M | None, calls: list[LLMCall], problems: str,
                 last: M | None = None) -> None:
        self.value = value
        self.calls = calls
        self.problems = problems
        """The last violations when no answer was accepted."""
        self.last = last
        """The last answer that matched the schema but failed ``check`` (if any)."""

    @property
    def repairs(self) -> int:
        return max(0, len(self.calls) - 1)


async def ask(llm: ChatModel, agent: str, messages: list[dict[str, str]], schema: type[M],
              max_repairs: int,
              check: Callable[[M], str | None] | None = None) -> Answer[M]:
    """Ask for a JSON answer; send violations back for at most ``max_repairs`` repairs.

    ``check`` validates a parsed answer beyond its schema (returns the problems as text,
    or None); its problems are repaired like schema errors. Model output is only ever
    parsed as JSON.
    """
    calls: list[LLMCall] = []
    convo = list(messages)
    problems = ""
    last: M | None = None
    for _ in range(max_repairs + 1):
        call = await llm.complete(agent, convo, schema)
        calls.append(call)
        if call.parsed is not None:
            value = schema.model_validate(call.parsed)
            problems = (check(value) if check is not None else None) or ""
            if not problems:
                return Answer(value, calls, "")
            last = value
        else:
            problems = call.error or "the answer did not match the schema"
        convo = convo + repair_prompt(call.raw, problems)
    return Answer(None, calls, problems, last)


class LLMAgent(RoutedAgent):
    """A routed agent with its own model client and repair budget."""

    def __init__(self, description: str, llm: ChatModel, max_repairs: int) -> None:
        super().__init__(description)
        self.llm = llm
        self.max_repairs = max_repairs
