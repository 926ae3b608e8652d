"""Plain functions the agents call: encode, evaluate, search, statistics, metrics.

Nothing here knows about LLMs. The heavy optional parts stay in their modules and are
imported on use: :mod:`lapt.tools.nb201_official` (the official NAS-Bench-201 API) and
:mod:`lapt.tools.supernet` (DARTS weight sharing).
"""

from __future__ import annotations

from .encode import encode_architectures, encode_space, layer_list
from .evaluate import Evaluation, Evaluator, TabularEvaluator
from .metrics import (
    EEDF,
    TopQ,
    best_so_far,
    eedf,
    error_name,
    error_of,
    evals_to_top_q,
    rank,
    regret,
)
from .search import (
    REA,
    STRATEGIES,
    LocalSearch,
    RandomSearch,
    SearchError,
    SearchResult,
    Strategy,
    Trial,
    local_search,
    random_search,
    rea,
    run_search,
    search,
)
from .stats import ChoiceStat, LayerStats, PrincipleStats, principle_stats, stats_subspace

__all__ = [
    "EEDF", "REA", "STRATEGIES", "ChoiceStat", "Evaluation", "Evaluator", "LayerStats",
    "LocalSearch", "PrincipleStats", "RandomSearch", "SearchError", "SearchResult", "Strategy",
    "TabularEvaluator", "TopQ", "Trial", "best_so_far", "eedf", "encode_architectures",
    "encode_space", "error_name", "error_of", "evals_to_top_q", "layer_list", "local_search",
    "principle_stats", "random_search", "rank", "rea", "regret", "run_search", "search",
    "stats_subspace",
]
