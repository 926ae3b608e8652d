"""The session's entry points: a supernet evaluator per (task, subspace), and the final cell.

``settings`` is duck-typed (any object with the attributes below, e.g. the session's
``SupernetSettings``; ``None`` = defaults), so this package needs nothing from the agents:
``data_root``, ``width``, ``cells``, ``epochs``, ``batch_size``, ``lr``, ``device``,
``final_width``, ``final_cells``, ``final_epochs``, ``cpu_threads``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lapt.spaces import Arch, Subspace, get_space
from lapt.tools.evaluate import Evaluation

from .data import ImageData, load_data
from .evaluator import SupernetEvaluator
from .train import TrainConfig, train_from_scratch, train_supernet


def _get(settings: Any, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None else value


@functools.lru_cache(maxsize=4)
def _data(task: str, root: str | None) -> ImageData:
    return load_data(task, root=root)


def settings_config(settings: Any = None, final: bool = False) -> TrainConfig:
    """The :class:`TrainConfig` of the supernet (or, with ``final``, of the final training)."""
    d = TrainConfig()
    prefix = "final_" if final else ""
    return TrainConfig(
        channels=_get(settings, f"{prefix}width", d.channels),
        layers=_get(settings, f"{prefix}cells", d.layers),
        epochs=max(1, _get(settings, f"{prefix}epochs", d.epochs)),
        batch_size=_get(settings, "batch_size", d.batch_size),
        lr=_get(settings, "lr", d.lr),
        device=_get(settings, "device", d.device),
        drop_path=0.2 if final else 0.0,
        cpu_threads=_get(settings, "cpu_threads", None),
    )


def make_supernet_evaluator(task: str, settings: Any = None, subspace: Subspace | None = None,
                            workdir: str | Path | None = None,
                            on_evaluation: Callable[[Evaluation], None] | None = None,
                            progress: bool = True) -> SupernetEvaluator:
    """Train (or resume, or reload) a supernet over ``subspace`` on ``task``; its evaluator.

    Checkpoints go to ``workdir``; a finished training found there is reloaded, not redone.
    """
    data = _data(task, _get(settings, "data_root", None))
    config = settings_config(settings)
    net = train_supernet(get_space("darts"), subspace, data, config, workdir, progress)
    return SupernetEvaluator(net, data, config, task=task, on_evaluation=on_evaluation)


def train_final(arch: Arch, task: str, settings: Any = None,
                workdir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Train the final cell from scratch (``final_epochs`` 0: skip); results for the report."""
    if _get(settings, "final_epochs", 1) == 0:
        return {}
    data = _data(task, _get(settings, "data_root", None))
    config = settings_config(settings, final=True)
    folder = Path(workdir) / "final" / task if workdir is not None else None
    out = train_from_scratch(arch, data, config=config, checkpoint_dir=folder, progress=progress)
    return {"final_test_acc": out["test_acc"], "final_val_acc": out["val_acc"],
            "final_params": out["params"], "final_train_s": out["seconds"],
            "final_epochs": out["epochs"], "final_width": config.channels,
            "final_cells": config.layers}
