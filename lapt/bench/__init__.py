"""``lapt bench``: the paper's experiments (NB201, Trans101) with baselines and ablations.

Example:
    >>> from lapt.bench import run_bench
    >>> out = run_bench("trans101", methods="rea,stats", seeds=2)   # doctest: +SKIP
    >>> (out.bench.path / "report.md").is_file()                    # doctest: +SKIP
    True
"""

from __future__ import annotations

from .methods import Job, run_job
from .protocols import (
    METHODS,
    PROTOCOLS,
    BenchError,
    Protocol,
    get_protocol,
    parse_methods,
)
from .report import render
from .runner import Executor, Outcome, execute, load_providers, plan, run_bench
from .store import BenchDir

__all__ = ["METHODS", "PROTOCOLS", "BenchDir", "BenchError", "Executor", "Job", "Outcome",
           "Protocol", "execute", "get_protocol", "load_providers", "parse_methods", "plan",
           "render", "run_bench", "run_job"]
