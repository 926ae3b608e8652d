"""The record of one model call, as written to the transcript."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LLMCall", "RetryRecord"]

M = TypeVar("M", bound=BaseModel)


class RetryRecord(BaseModel):
    """One failed attempt that was retried."""

    model_config = ConfigDict(frozen=True)

    attempt: int
    """1-based number of the attempt that failed."""
    error: str
    """Exception type and message (secrets scrubbed)."""
    wait_s: float
    """Backoff before the next attempt."""


class LLMCall(BaseModel):
    """One call to a model: the prompt, the raw answer, the parse and the cost.

    ``parsed`` is set when the answer validated against ``schema``; otherwise ``error``
    holds the precise violations (for a repair prompt) or, for a failed call, the cause.
    """

    model_config = ConfigDict(frozen=True)

    agent: str
    provider: str
    model: str
    schema_name: str
    messages: list[dict[str, str]]
    """``{"role", "content"}`` pairs as sent."""
    raw: str | None = None
    """The answer text exactly as received; None when the call failed."""
    parsed: dict[str, Any] | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    """Wall time of the whole call, retries and backoff included."""
    retries: list[RetryRecord] = Field(default_factory=list)
    started_at: str = ""
    """ISO-8601 UTC time the call began."""

    @property
    def ok(self) -> bool:
        """True when the answer parsed and validated."""
        return self.parsed is not None

    def value(self, schema: type[M]) -> M:
        """The parsed answer as ``schema`` (raises ``ValueError`` when not ok)."""
        if self.parsed is None:
            raise ValueError(f"call of agent {self.agent!r} has no valid answer: {self.error}")
        return schema.model_validate(self.parsed)
