"""Typed records that cross package doors: what a session returns and writes
(``results.json``), and the transcript's records read back.

Every record is a frozen pydantic model; ``results.json`` and ``transcript.jsonl`` are
their JSON, so a bench, a replay or a person's script reads them back as the same
objects. Transcript records share one discriminated union on ``kind``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from lapt.spaces import Subspace

from .jsonl import log, read_records
from .messages import AgentMessage, Principles
from .providers.records import LLMCall

__all__ = ["EventRecord", "IterationRecord", "LLMCallRecord", "LLMUsage", "MessageRecord",
           "RunResult", "TaskResult", "TranscriptRecord", "read_typed_transcript"]


AgentMessageType = Any  # one of the messages in lapt.agents.messages.AgentMessage
_MESSAGE: TypeAdapter[Any] = TypeAdapter(AgentMessage)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class IterationRecord(_Frozen):
    """One iteration of Algorithm 1 on one target task."""

    iteration: int = Field(description="1-based")
    subspace_size: int
    subspace_from: Literal["analyst", "translator", "kept"] = Field(
        default="translator", description="the Analyst's per-layer list, a Translator answer (or its fallback), "
                    "or the last subspace kept because the principles did not change")
    subspace_valid: bool = Field(description="False when the fallback subspace was kept")
    repairs: int
    fallback_reason: str | None = None
    best_val: float = Field(description="Best: the best of this iteration's evaluations")
    n_evals: int = Field(description="unique evaluations on the task after this iteration")
    branch: Literal["update", "explore"] | None = Field(
        default=None, description="the Adapter's branch after it (None: no Adapter ran)")
    subspace: Subspace
    widened_at: int | None = Field(default=None, description=(
        "last iteration only: evaluations after which its spent subspace gave way to the "
        "whole space for the rest of the budget"))


class TaskResult(_Frozen):
    """The best architecture found on one target task."""

    task: str
    arch: str
    val: float
    test: float
    rank: int | None = Field(description="rank by test metric in the whole space (tabular "
                                         "spaces), 1 = best")
    n_evals: int
    iterations: list[IterationRecord] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict, description=(
        "space-specific figures (DARTS: the final training's accuracy, parameters, cost)"))


class LLMUsage(_Frozen):
    """One agent's model use in a run."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    retries: int = 0
    invalid: int = 0


class RunResult(_Frozen):
    """What a session returns and writes to ``results.json``."""

    run_id: str
    run_dir: str
    space: str
    source: str
    principles: Principles
    tasks: dict[str, TaskResult]
    llm: dict[str, LLMUsage]
    wall_s: float

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class _Record(_Frozen):
    model_config = ConfigDict(frozen=True, extra="allow")
    seq: int
    time: str


class MessageRecord(_Record):
    """An agent message (its payload as the message's JSON)."""

    kind: Literal["message"]
    sender: str
    recipient: str
    type: str
    payload: dict[str, Any]

    def message(self) -> AgentMessageType:
        """The payload as the typed agent message it was (an Analysis, a Translation ...)."""
        return _MESSAGE.validate_python(self.payload)


class LLMCallRecord(_Record, LLMCall):
    """A model call, as :class:`~lapt.agents.providers.LLMCall` records it."""

    kind: Literal["llm_call"]


class EventRecord(_Record):
    """A session event: iteration start, subspace kept, subspace exhausted ..."""

    kind: Literal["event"]
    name: str
    data: dict[str, Any] = Field(default_factory=dict)


TranscriptRecord = Annotated[MessageRecord | LLMCallRecord | EventRecord,
                             Field(discriminator="kind")]
"""Any transcript record; ``kind`` picks the model."""

_RECORD: TypeAdapter[TranscriptRecord] = TypeAdapter(TranscriptRecord)


def read_typed_transcript(path: str | Path) -> list[TranscriptRecord]:
    """The transcript of a run folder (or file) as typed records; a line that is not a
    record of a known kind is skipped with a warning naming the file and line."""
    from .transcript import transcript_path

    file = transcript_path(path)
    out: list[TranscriptRecord] = []
    for i, raw in read_records(file):
        try:
            out.append(_RECORD.validate_python(raw))
        except ValidationError as err:
            log.warning("%s:%d: skipping a record of no known shape: %s", file, i,
                        str(err).splitlines()[0])
    return out
