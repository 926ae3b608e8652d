"""Replay: answer each agent's calls, in order, from a recorded transcript."""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel

from ._local import LocalClient
from .config import ReplayConfig

__all__ = ["ReplayClient", "ReplayError"]


class ReplayError(RuntimeError):
    """The recording cannot answer this call (exhausted, or the prompt differs)."""


def _first_difference(recorded: list[dict[str, str]], now: list[dict[str, str]]) -> str | None:
    if len(recorded) != len(now):
        return f"{len(now)} messages now, {len(recorded)} recorded"
    for i, (old, new) in enumerate(zip(recorded, now, strict=True)):
        if old.get("role") != new.get("role"):
            return f"message {i}: role {new.get('role')!r} now, {old.get('role')!r} recorded"
        a, b = old.get("content", ""), new.get("content", "")
        if a != b:
            at = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            return (
                f"message {i} ({new.get('role')}) differs at character {at}: "
                f"now {b[at : at + 60]!r}, recorded {a[at : at + 60]!r}"
            )
    return None


class ReplayClient(LocalClient):
    """Answers the n-th call of agent A with the raw answer of A's n-th recorded call.

    Recorded calls that failed for good (no raw answer) are raised again, so a replay
    takes the same path as the run. Prompts are compared with the recorded ones.
    """

    def __init__(self, config: ReplayConfig) -> None:
        super().__init__()
        from ..transcript import read_transcript  # lazy: transcript imports providers

        self._config = config
        self._calls: dict[str, list[dict[str, Any]]] = {}
        for record in read_transcript(config.transcript, kind="llm_call"):
            self._calls.setdefault(record["agent"], []).append(record)

    def recorded(self, agent: str) -> list[dict[str, Any]]:
        """The recorded calls of one agent, in order."""
        return list(self._calls.get(agent, []))

    async def answer(
        self, agent: str, messages: list[dict[str, str]], schema: type[BaseModel] | None
    ) -> tuple[str, int, int]:
        n = self.next_index(agent)
        calls = self._calls.get(agent, [])
        where = f"replay of {self._config.transcript}: agent {agent!r}, call {n}"
        if n > len(calls):
            known = ", ".join(f"{a} ({len(c)})" for a, c in sorted(self._calls.items())) or "none"
            raise ReplayError(
                f"{where}: the recording has only {len(calls)} call(s) for this agent "
                f"(recorded agents: {known})"
            )
        record = calls[n - 1]
        diff = _first_difference(record.get("messages", []), messages)
        if diff is not None:
            text = f"{where}: the prompt differs from the recording: {diff}"
            if self._config.strict:
                raise ReplayError(text)
            warnings.warn(text, stacklevel=2)
        if record.get("raw") is None:
            raise ReplayError(f"{where}: the recorded call failed: {record.get('error')}")
        return record["raw"], record.get("prompt_tokens", 0), record.get("completion_tokens", 0)
