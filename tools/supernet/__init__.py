"""A weight-sharing supernet evaluator for the DARTS space (torch).

Pieces a session calls, in the paper's order: :func:`load_data`; :func:`train_supernet`
over the (sub)space on a task; :class:`SupernetEvaluator` to score cells with inherited
weights (val searched, test reported); :func:`train_from_scratch` for the final cell.

Example:
    >>> from lapt.spaces import get_space
    >>> from lapt.tools.supernet import TrainConfig, load_data, train_supernet
    >>> data = load_data("digits")
    >>> net = train_supernet(get_space("darts"), None, data,
    ...                      TrainConfig(channels=4, layers=3, epochs=1), progress=False)
"""

from __future__ import annotations

from ..supernet_settings import SupernetSettings
from .data import DATASETS, DataError, ImageData, Split, default_data_root, load_data
from .evaluator import SupernetEvaluator
from .model import DartsNetwork, StandaloneNetwork, Supernet, count_parameters
from .pipeline import make_supernet_evaluator, prepare_supernet, settings_config, train_final
from .train import (
    TrainConfig,
    accuracy,
    latest_checkpoint,
    load_supernet,
    recalibrate_bn,
    resolve_device,
    train_from_scratch,
    train_supernet,
)

__all__ = [
    "SupernetSettings",
    "DATASETS", "DartsNetwork", "DataError", "ImageData", "Split", "StandaloneNetwork",
    "Supernet", "SupernetEvaluator", "TrainConfig", "accuracy", "count_parameters",
    "default_data_root", "latest_checkpoint", "load_data", "load_supernet",
    "make_supernet_evaluator", "prepare_supernet", "recalibrate_bn", "resolve_device", "settings_config",
    "train_final", "train_from_scratch", "train_supernet",
]
