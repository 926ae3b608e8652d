"""The Analyst, Translator and Adapter agents, their messages and the LAPT session.

Example:
    >>> from lapt.agents import load_config, run_session
    >>> cfg = load_config("nb201")          # or a YAML path, or a dict
    >>> result = run_session(cfg)           # doctest: +SKIP
"""

from __future__ import annotations

from .config import ConfigError, SessionConfig, load_config, preset_names
from .results import (
    EventRecord,
    IterationRecord,
    LLMCallRecord,
    LLMUsage,
    MessageRecord,
    RunResult,
    TaskResult,
    TranscriptRecord,
    read_typed_transcript,
)
from .rundir import RunDir, list_runs
from .session import Reporter, Session, run_session

__all__ = ["ConfigError", "EventRecord", "IterationRecord", "LLMCallRecord", "LLMUsage",
           "MessageRecord", "Reporter", "RunDir", "RunResult", "Session", "SessionConfig",
           "TaskResult", "TranscriptRecord", "list_runs", "load_config", "preset_names",
           "read_typed_transcript", "run_session"]
