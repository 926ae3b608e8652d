"""The session's entry points: a supernet evaluator per (task, subspace), and the final cell.

Both take the run config's :class:`SupernetSettings` (``None`` = its defaults).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lapt.spaces import Arch, Subspace, get_space
from lapt.tools.evaluate import Evaluation

from ..supernet_settings import SupernetSettings
from .data import ImageData, load_data
from .evaluator import SupernetEvaluator
from .train import TrainConfig, checkpoint_path, train_from_scratch, train_supernet


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


def _ray_options(settings: SupernetSettings, ray: Any) -> dict[str, Any]:
    """A training task's resources: a GPU where the device is CUDA (``auto``: where the
    cluster has one), and ``cpu_threads`` CPUs (one when unset)."""
    gpu = settings.device.startswith("cuda") or (
        settings.device == "auto" and ray.cluster_resources().get("GPU", 0) > 0)
    return {"num_cpus": settings.cpu_threads or 1, "num_gpus": 1 if gpu else 0,
            "max_retries": 2, "retry_exceptions": False}


def _on_ray(fn: Callable[..., Any], settings: SupernetSettings, workdir: Path, sub: str,
            *args: Any) -> Any:
    """``fn(root, *args)`` as a Ray task in a scratch folder holding the files of
    ``workdir / sub`` (a checkpoint to resume from) at ``root / sub``; the files it leaves
    are written back into ``workdir``."""
    from lapt.tools.cluster import connect, in_scratch, pack_folder, unpack_files

    ray = connect(settings.address)
    task = ray.remote(in_scratch).options(**_ray_options(settings, ray))
    files = {(Path(sub) / rel).as_posix(): data
             for rel, data in pack_folder(workdir / sub).items()}
    result, out = ray.get(task.remote(fn, files, *args))
    unpack_files(out, workdir)
    return result


def _supernet_in(root: Path, task: str, settings: SupernetSettings,
                 subspace: Subspace | None) -> None:
    """Ray task body: train (or resume) the supernet with its checkpoints in ``root``."""
    train_supernet(get_space("darts"), subspace, _data(task, settings.data_root),
                   settings_config(settings), root, progress=False)


def _final_in(root: Path, arch: Arch, task: str, settings: SupernetSettings) -> dict[str, Any]:
    """Ray task body: the final training, its checkpoints under ``root``."""
    return train_final(arch, task, settings.model_copy(update={"executor": "local"}),
                       workdir=root, progress=False)


@contextlib.contextmanager
def _folder(workdir: str | Path | None, prefix: str) -> Iterator[Path]:
    """``workdir``, or a temporary folder for the block when there is none."""
    if workdir is not None:
        yield Path(workdir)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def prepare_supernet(task: str, settings: SupernetSettings, subspace: Subspace | None,
                     workdir: str | Path) -> None:
    """``executor: ray``: train (or resume) the supernet of (``task``, ``subspace``) as a
    Ray task and leave its checkpoints in ``workdir``; a finished training there is left
    as it is. Blocks until then (a session calls it from a thread to train several at
    once)."""
    folder = Path(workdir)
    if not checkpoint_path(folder, settings_config(settings).epochs).is_file():
        _on_ray(_supernet_in, settings, folder, ".", task, settings, subspace)


def make_supernet_evaluator(task: str, settings: SupernetSettings | None = None,
                            subspace: Subspace | None = None,
                            workdir: str | Path | None = None,
                            on_evaluation: Callable[[Evaluation], None] | None = None,
                            progress: bool = True) -> SupernetEvaluator:
    """Train (or resume, or reload) a supernet over ``subspace`` on ``task``; its evaluator.

    Checkpoints go to ``workdir``; a finished training found there is reloaded, not redone.
    With ``executor: ray`` the training is a Ray task (:func:`prepare_supernet`); its
    checkpoints come back into ``workdir`` (a temporary folder without one), whence this
    process reloads the supernet (on its own device: CUDA when present, else the CPU) to
    evaluate cells.
    """
    data = _data(task, settings.data_root if settings else None)
    config = settings_config(settings)
    if settings is not None and settings.executor == "ray":
        with _folder(workdir, "lapt-supernet-") as folder:
            prepare_supernet(task, settings, subspace, folder)
            net = train_supernet(get_space("darts"), subspace, data,
                                 config.model_copy(update={"device": "auto"}), folder, False)
        return SupernetEvaluator(net, data, net.config, task=task, on_evaluation=on_evaluation)
    net = train_supernet(get_space("darts"), subspace, data, config, workdir, progress)
    return SupernetEvaluator(net, data, config, task=task, on_evaluation=on_evaluation)


def train_final(arch: Arch, task: str, settings: SupernetSettings | None = None,
                workdir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Train the final cell from scratch (``final_epochs`` 0: skip); results for the report.

    With ``executor: ray`` it is a Ray task; its checkpoints come back into ``workdir``.
    """
    s = settings or SupernetSettings()
    if s.final_epochs == 0:
        return {}
    if s.executor == "ray":  # only final/<task>/ travels, not the rest of the run folder
        with _folder(workdir, "lapt-final-") as root:
            return dict(_on_ray(_final_in, s, root, f"final/{task}", arch, task, s))
    data = _data(task, s.data_root)
    config = settings_config(settings, final=True)
    folder = Path(workdir) / "final" / task if workdir is not None else None
    out = train_from_scratch(arch, data, config=config, checkpoint_dir=folder, progress=progress)
    return {"final_test_acc": out["test_acc"], "final_val_acc": out["val_acc"],
            "final_params": out["params"], "final_train_s": out["seconds"],
            "final_epochs": out["epochs"], "final_width": config.channels,
            "final_cells": config.layers}
