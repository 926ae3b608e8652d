"""Evaluate DARTS cells by inheriting a trained supernet's weights (the paper's DARTS signal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np  # noqa: F401  (doctest)
import torch

from lapt.spaces import Arch
from lapt.tools.evaluate import Evaluation, Evaluator

from .data import ImageData
from .model import Supernet
from .train import TrainConfig, accuracy, cpu_threads, recalibrate_bn


class SupernetEvaluator(Evaluator):
    """Accuracy (%) of a cell with inherited weights and recalibrated batch norm.

    ``val`` is the accuracy on the held-out split (the search signal), ``test`` the
    accuracy on the test split (reported). Each evaluation resets the batch-norm
    statistics and re-estimates them on ``config.calib_batches`` training batches (the
    same ones for every cell), then measures in eval mode.

    Example:
        >>> from lapt.spaces import get_space
        >>> from lapt.tools.supernet import load_data, train_supernet
        >>> data = load_data("digits")
        >>> cfg = TrainConfig(channels=4, layers=3, epochs=1)
        >>> net = train_supernet(get_space("darts"), None, data, cfg, progress=False)
        >>> ev = SupernetEvaluator(net, data)
        >>> e = ev.evaluate(net.sample(np.random.default_rng(0)))  # doctest: +SKIP
    """

    metric_name = "accuracy (%)"

    def __init__(self, supernet: Supernet, data: ImageData, config: TrainConfig | None = None,
                 task: str | None = None,
                 on_evaluation: Callable[[Evaluation], None] | None = None) -> None:
        super().__init__(supernet.space, task or data.name, on_evaluation)
        self.supernet = supernet
        self.data = data
        self.config = config or supernet.config or TrainConfig()
        self.device = next(supernet.parameters()).device

    def _measure(self, arch: Arch) -> tuple[float, float]:
        self.supernet.check(arch)

        def forward(x: torch.Tensor) -> torch.Tensor:
            return self.supernet(x, arch)

        with cpu_threads(self.config):
            recalibrate_bn(self.supernet, forward, self.data, self.config)
            return (accuracy(forward, self.data, "val", self.config, self.device),
                    accuracy(forward, self.data, "test", self.config, self.device))

    def search_cost(self) -> dict[str, Any]:
        """Seconds spent: supernet training, evaluations, per evaluated cell, and in all."""
        evals = sum(e.cost_s for e in self.history)
        n = self.n_evals
        return {"supernet_train_s": self.supernet.train_seconds, "evaluations": n,
                "evaluation_s": evals, "seconds_per_cell": evals / n if n else 0.0,
                "total_s": self.supernet.train_seconds + evals}
