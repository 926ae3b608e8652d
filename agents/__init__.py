"""The Analyst, Translator and Adapter agents, their messages and the LAPT session.

Example:
    >>> from lapt.agents import load_config, run_session
    >>> cfg = load_config("nb201")          # or a YAML path, or a dict
    >>> result = run_session(cfg)           # doctest: +SKIP
"""

from __future__ import annotations

from .config import ConfigError, SessionConfig, load_config, preset_names
from .rundir import RunDir, list_runs
from .session import Reporter, RunResult, Session, TaskResult, run_session

__all__ = ["ConfigError", "Reporter", "RunDir", "RunResult", "Session", "SessionConfig",
           "TaskResult", "list_runs", "load_config", "preset_names", "run_session"]
