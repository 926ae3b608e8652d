"""Append-only JSONL transcript of a run: every LLM call, agent message and event.

Each line is one JSON object ``{"seq", "time", "kind", ...}``, flushed and fsync'd
as it is written, with secrets stripped. A killed run may leave a truncated last line;
reading skips it and reopening for append cuts it off.

Example:
    >>> t = Transcript(run_dir)                       # doctest: +SKIP
    >>> llm = build_llm(cfg, sink=t.llm_call)         # doctest: +SKIP
    >>> t.message("session", "analyst", "AnalyzeRequest", {"k": 50})  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel

from .jsonl import cut_torn_tail, dumps_line, read_records
from .providers import register_secret_env, scrub
from .providers.records import LLMCall

__all__ = ["TRANSCRIPT_NAME", "Transcript", "read_transcript", "transcript_path"]

TRANSCRIPT_NAME = "transcript.jsonl"
log = logging.getLogger(__name__)


def transcript_path(path: str | Path) -> Path:
    """The transcript file for a run folder or a file path."""
    p = Path(path)
    return p if p.suffix == ".jsonl" and not p.is_dir() else p / TRANSCRIPT_NAME


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _count_records(path: Path) -> int:
    """Complete records in the file (every line ends with a newline after cut_torn_tail)."""
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip())


class Transcript:
    """Append-only JSONL writer, safe to share between agents (thread-safe).

    Args:
        path: a run folder (the file is ``transcript.jsonl`` in it) or a file.
        secret_envs: names of env vars whose values must never be written (provider
            configs' ``api_key_env``); keys seen by ``build_llm`` are stripped anyway.
    """

    def __init__(self, path: str | Path, *, secret_envs: Iterable[str] = ()) -> None:
        self.path = transcript_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for name in secret_envs:
            register_secret_env(name)
        self._lock = threading.Lock()
        self._seq = 0
        if self.path.exists():
            cut_torn_tail(self.path)
            self._seq = _count_records(self.path)
        self._file = self.path.open("a", encoding="utf-8")

    @property
    def seq(self) -> int:
        """Number of records written so far (the next record's seq)."""
        return self._seq

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one record and fsync it; return the record as written."""
        body = scrub({k: _jsonable(v) for k, v in fields.items()})
        with self._lock:
            record = {
                "seq": self._seq,
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "kind": kind,
                **body,
            }
            self._file.write(dumps_line(record) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._seq += 1
        return record

    def llm_call(self, call: LLMCall) -> dict[str, Any]:
        """Record an LLM call (use as ``build_llm(..., sink=transcript.llm_call)``)."""
        return self.write("llm_call", **call.model_dump(mode="json"))

    __call__ = llm_call

    def message(
        self, sender: str, recipient: str, type: str, payload: BaseModel | dict[str, Any]
    ) -> dict[str, Any]:
        """Record an agent message."""
        return self.write(
            "message", sender=sender, recipient=recipient, type=type, payload=_jsonable(payload)
        )

    def event(self, name: str, **data: Any) -> dict[str, Any]:
        """Record a session event (iteration start, fallback, resume ...)."""
        return self.write("event", name=name, data=data)

    def close(self) -> None:
        """Close the file (records are already on disk)."""
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Transcript({str(self.path)!r}, seq={self._seq})"


def read_transcript(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Read every record (optionally of one ``kind``) from a run folder or file.

    A line that is not a JSON record (a truncated last line after a kill, or a damaged
    line anywhere) is skipped with a warning that names the file and line.
    """
    return [r for _, r in read_records(transcript_path(path))
            if kind is None or r.get("kind") == kind]
