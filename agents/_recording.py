"""Recording a session: agent messages into the transcript, LLM usage, and resume.

Resume re-runs the session deterministically: recorded LLM answers are handed back in
order (:class:`ResumingLLM`), recorded evaluations are offered to the evaluators, and
records that the transcript already holds are not written twice
(:class:`SkippingTranscript`). The first new record is the first step the interrupted
run had not completed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from autogen_core import AgentId, DefaultInterventionHandler, MessageContext
from pydantic import BaseModel

from .providers import LLM, LLMCall, parse_answer
from .transcript import Transcript


class SkippingTranscript:
    """A transcript that drops the first N records of each kind (already on disk)."""

    def __init__(self, transcript: Transcript, existing: list[dict[str, Any]]) -> None:
        self.inner = transcript
        self.skip = Counter(r["kind"] for r in existing if r["kind"] != "llm_call")

    def _write(self, kind: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        if self.skip[kind] > 0:
            self.skip[kind] -= 1
            return
        fn(*args, **kwargs)

    def message(self, sender: str, recipient: str, type: str, payload: Any) -> None:
        self._write("message", self.inner.message, sender, recipient, type, payload)

    def event(self, name: str, **data: Any) -> None:
        self._write("event", self.inner.event, name, **data)

    def llm_call(self, call: LLMCall) -> None:
        self.inner.llm_call(call)

    def close(self) -> None:
        self.inner.close()


class MessageRecorder(DefaultInterventionHandler):
    """Writes every message sent between agents, and every response, to the transcript."""

    def __init__(self, transcript: SkippingTranscript) -> None:
        self.transcript = transcript

    async def on_send(self, message: Any, *, message_context: MessageContext,
                      recipient: AgentId) -> Any:
        sender = message_context.sender.type if message_context.sender else "session"
        self._record(sender, recipient.type, message)
        return message

    async def on_response(self, message: Any, *, sender: AgentId,
                          recipient: AgentId | None) -> Any:
        self._record(sender.type, recipient.type if recipient else "session", message)
        return message

    def _record(self, sender: str, recipient: str, message: Any) -> None:
        if isinstance(message, BaseModel):
            kind = getattr(message, "type", type(message).__name__)
            self.transcript.message(sender, recipient, kind, message)


class UsageMeter:
    """LLM calls, tokens and latency per agent."""

    def __init__(self) -> None:
        self.per_agent: dict[str, dict[str, float]] = defaultdict(
            lambda: {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "latency_s": 0.0,
                     "retries": 0, "invalid": 0})

    def add(self, call: LLMCall) -> None:
        row = self.per_agent[call.agent]
        row["calls"] += 1
        row["prompt_tokens"] += call.prompt_tokens
        row["completion_tokens"] += call.completion_tokens
        row["latency_s"] += call.latency_s
        row["retries"] += len(call.retries)
        row["invalid"] += call.parsed is None

    def summary(self) -> dict[str, dict[str, float]]:
        return {k: dict(v) for k, v in self.per_agent.items()}


class ResumingLLM:
    """Answers an agent's first calls from its recorded answers, then asks the live model
    (a call that failed for good, which ended the interrupted run, is not among them)."""

    def __init__(self, llm: LLM, recorded: list[dict[str, Any]], usage: UsageMeter) -> None:
        self.llm = llm
        self.recorded = list(recorded)
        self.usage = usage

    @property
    def provider(self) -> str:
        return self.llm.provider

    @property
    def model(self) -> str:
        return self.llm.model

    async def complete(self, agent: str, messages: Any, schema: type[BaseModel]) -> LLMCall:
        if not self.recorded:
            return await self.llm.complete(agent, messages, schema)
        rec = self.recorded.pop(0)
        parsed, error = parse_answer(rec["raw"], schema)
        fields = {k: rec[k] for k in LLMCall.model_fields if k in rec}
        call = LLMCall(**{**fields, "parsed": parsed, "error": error})
        self.usage.add(call)
        return call

    async def close(self) -> None:
        await self.llm.close()
