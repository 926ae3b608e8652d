"""The session's entry points: a supernet evaluator per (task, subspace), and the final cell.

Both take the run config's :class:`SupernetSettings` (``None`` = its defaults).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lapt.spaces import Arch, Subspace, get_space
from lapt.tools.evaluate import Evaluation

from ..supernet_settings import SupernetSettings
from .data import ImageData, load_data
from .evaluator import SupernetEvaluator
from .train import TrainConfig, train_from_scratch, train_supernet


@functools.lru_cache(maxsize=4)
def _data(task: str, root: str | None) -> ImageData:
    return load_data(task, root=root)


def settings_config(settings: SupernetSettings | None = None,
                    final: bool = False) -> TrainConfig:
    """The :class:`TrainConfig` of the supernet (or, with ``final``, of the final training)."""
    s = settings or SupernetSettings()
    return TrainConfig(
        channels=s.final_width if final else s.width,
        layers=s.final_cells if final else s.cells,
        epochs=max(1, s.final_epochs if final else s.epochs),
        batch_size=s.batch_size, lr=s.lr, device=s.device,
        drop_path=0.2 if final else 0.0, cpu_threads=s.cpu_threads,
    )


def make_supernet_evaluator(task: str, settings: SupernetSettings | None = None,
                            subspace: Subspace | None = None,
                            workdir: str | Path | None = None,
                            on_evaluation: Callable[[Evaluation], None] | None = None,
                            progress: bool = True) -> SupernetEvaluator:
    """Train (or resume, or reload) a supernet over ``subspace`` on ``task``; its evaluator.

    Checkpoints go to ``workdir``; a finished training found there is reloaded, not redone.
    """
    data = _data(task, settings.data_root if settings else None)
    config = settings_config(settings)
    net = train_supernet(get_space("darts"), subspace, data, config, workdir, progress)
    return SupernetEvaluator(net, data, config, task=task, on_evaluation=on_evaluation)


def train_final(arch: Arch, task: str, settings: SupernetSettings | None = None,
                workdir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Train the final cell from scratch (``final_epochs`` 0: skip); results for the report."""
    s = settings or SupernetSettings()
    if s.final_epochs == 0:
        return {}
    data = _data(task, s.data_root)
    config = settings_config(settings, final=True)
    folder = Path(workdir) / "final" / task if workdir is not None else None
    out = train_from_scratch(arch, data, config=config, checkpoint_dir=folder, progress=progress)
    return {"final_test_acc": out["test_acc"], "final_val_acc": out["val_acc"],
            "final_params": out["params"], "final_train_s": out["seconds"],
            "final_epochs": out["epochs"], "final_width": config.channels,
            "final_cells": config.layers}
