"""Training: the supernet by single-path uniform sampling, and a final cell from scratch.

One loop (:func:`_fit`) serves both: SGD with momentum, cosine learning rate, gradient
clipping, mixed precision on CUDA, a rich progress bar, and a checkpoint per epoch
(weights, optimizer, scheduler, epoch, every random state) from which an interrupted
training resumes to the same result.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from lapt.spaces import Arch, SearchSpace, Subspace

from .data import ImageData
from .model import StandaloneNetwork, Supernet, count_parameters


class TrainConfig(BaseModel):
    """Width, depth and optimisation of a supernet or a from-scratch training."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    channels: int = Field(default=8, ge=2, description="C: width of the first cells")
    layers: int = Field(default=5, ge=3, description="cells (reductions at 1/3 and 2/3)")
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=64, ge=2)
    lr: float = Field(default=0.025, gt=0)
    lr_min: float = Field(default=0.0, ge=0)
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    drop_path: float = Field(default=0.0, ge=0, lt=1, description="from-scratch training only")
    seed: int = 0
    device: str = Field(default="auto", description="'auto' (CUDA if present), 'cpu', 'cuda:N'")
    amp: bool = Field(default=True, description="mixed precision (torch.autocast) on CUDA")
    calib_batches: int = Field(default=10, ge=1, description="training batches to recalibrate BN")
    eval_batch_size: int = Field(default=256, ge=1)
    keep_checkpoints: int = Field(default=2, ge=1, description="newest epoch checkpoints kept")
    cpu_threads: int | None = Field(default=None, ge=1, description=(
        "torch CPU threads while training/evaluating (None: torch's default); 1 is fastest "
        "for tiny networks on a busy machine"))


_NOT_RESUMED = {"device", "keep_checkpoints", "cpu_threads"}
"""Config fields a resumed training may change."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; a clear error for a missing GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but torch sees no CUDA GPU")
    return dev


def _autocast(device: torch.device, amp: bool) -> AbstractContextManager[Any]:
    if device.type == "cuda" and amp:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return nullcontext()


@contextmanager
def cpu_threads(config: TrainConfig) -> Iterator[None]:
    """torch's CPU thread count set to ``config.cpu_threads`` (if given), then restored."""
    before = torch.get_num_threads()
    if config.cpu_threads is not None:
        torch.set_num_threads(config.cpu_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _seeded(config: TrainConfig) -> Iterator[None]:
    """torch's global RNG (weight init, drop path) seeded and thread count set; both restored."""
    device = resolve_device(config.device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
            cpu_threads(config):
        torch.manual_seed(config.seed)
        yield


# ------------------------------------------------------------------- checkpoints
def _checkpoints(folder: Path) -> list[Path]:
    return sorted(folder.glob("epoch-*.pt"))


def checkpoint_path(folder: str | Path, epoch: int) -> Path:
    """Where the checkpoint after ``epoch`` (1-based) is written in ``folder``."""
    return Path(folder) / f"epoch-{epoch:04d}.pt"


def _save(folder: Path, state: dict[str, Any], keep: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(folder, state["epoch"])
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    for old in _checkpoints(folder)[:-keep]:
        old.unlink()


def latest_checkpoint(folder: str | Path) -> dict[str, Any] | None:
    """The newest epoch checkpoint in ``folder`` (weights only, no code), or None."""
    found = _checkpoints(Path(folder))
    return torch.load(found[-1], map_location="cpu", weights_only=True) if found else None


# ------------------------------------------------------------------------ loop
def _fit(net: nn.Module, forward: Callable[[torch.Tensor, np.random.Generator, int], torch.Tensor],
         data: ImageData, config: TrainConfig, label: str, meta: dict[str, Any],
         checkpoint_dir: str | Path | None, progress: bool,
         on_epoch: Callable[[int, float], None] | None) -> list[dict[str, float]]:
    """Train ``net``; ``forward(x, rng, epoch)`` gives logits (the supernet samples a path)."""
    device = resolve_device(config.device)
    net.to(device)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs, eta_min=config.lr_min)
    use_scaler = (device.type == "cuda" and config.amp and not torch.cuda.is_bf16_supported())
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    log: list[dict[str, float]] = []
    start = 0
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state = latest_checkpoint(folder) if folder is not None else None
    if state is not None:
        if state["meta"] != meta:
            raise ValueError(f"{folder} holds a checkpoint of another training "
                             f"({_diff(state['meta'], meta)}); use another folder to start anew")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        gen.set_state(state["torch_gen"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        log, start = json.loads(state["log"]), state["epoch"]
    n_batches = -(-len(data.train) // config.batch_size)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]:.3f}"),
               TextColumn("{task.fields[ips]:,.0f} img/s"),
               TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(label, total=(config.epochs - start) * n_batches, loss=float("nan"),
                            ips=0.0)
        for epoch in range(start, config.epochs):
            net.train()
            t0, seen, total_loss = time.perf_counter(), 0, 0.0
            for x, y in data.batches("train", config.batch_size, gen, device, shuffle=True,
                                     augment=True):
                with _autocast(device, config.amp):
                    loss = nn.functional.cross_entropy(forward(x, rng, epoch), y)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params, config.grad_clip)
                scaler.step(opt)
                scaler.update()
                seen += len(y)
                total_loss += loss.item() * len(y)
                bar.update(task, advance=1, loss=total_loss / seen,
                           ips=seen / (time.perf_counter() - t0))
            sched.step()
            secs = time.perf_counter() - t0
            log.append({"epoch": epoch + 1, "loss": total_loss / seen, "seconds": secs,
                        "images_per_s": seen / secs})
            if folder is not None:
                _save(folder, {
                    "meta": meta, "epoch": epoch + 1, "model": net.state_dict(),
                    "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "numpy_rng": json.dumps(rng.bit_generator.state),
                    "torch_gen": gen.get_state(), "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    "log": json.dumps(log)}, config.keep_checkpoints)
            if on_epoch is not None:
                on_epoch(epoch + 1, total_loss / seen)
    return log


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "differs in " + ", ".join(keys)


# ----------------------------------------------------------------------- public
def train_supernet(space: SearchSpace, subspace: Subspace | None, data: ImageData,
                   config: TrainConfig | None = None, checkpoint_dir: str | Path | None = None,
                   progress: bool = True,
                   on_epoch: Callable[[int, float], None] | None = None) -> Supernet:
    """Train a supernet over ``subspace`` by single-path uniform sampling (one genotype a step).

    With ``checkpoint_dir``, a checkpoint is written after every epoch, and a training found
    there (same config, subspace and data) resumes from its last epoch.

    Returns:
        The trained supernet; ``.train_log`` holds per epoch the mean loss, seconds and
        images/s, ``.train_seconds`` the total.

    Example:
        >>> from lapt.spaces import get_space
        >>> from lapt.tools.supernet import load_data
        >>> net = train_supernet(get_space("darts"), None, load_data("digits"),
        ...                      TrainConfig(channels=4, layers=3, epochs=1), progress=False)
        >>> len(net.train_log)
        1
    """
    config = config or TrainConfig()
    if space.name != "darts":
        raise ValueError(f"the supernet covers the 'darts' space, got {space.name!r}")
    sub = subspace if subspace is not None else space.full_subspace()
    with _seeded(config):
        net = Supernet(sub, config.channels, config.layers, data.num_classes, data.in_channels)
    meta = {"kind": "supernet", "config": config.model_dump(exclude=_NOT_RESUMED),
            "subspace": sub.model_dump_json(), "data": data.name}

    def forward(x: torch.Tensor, rng: np.random.Generator, epoch: int) -> torch.Tensor:
        return net(x, space.sample(rng, sub))

    with _seeded(config):
        net.train_log = _fit(net, forward, data, config, "supernet", meta, checkpoint_dir,
                             progress, on_epoch)
    net.train_seconds = sum(e["seconds"] for e in net.train_log)
    net.config = config
    return net.eval()


def load_supernet(checkpoint_dir: str | Path, device: str = "cpu") -> Supernet:
    """Rebuild a trained supernet from the newest checkpoint in ``checkpoint_dir``."""
    state = latest_checkpoint(checkpoint_dir)
    if state is None or state["meta"].get("kind") != "supernet":
        raise FileNotFoundError(f"no supernet checkpoint (epoch-*.pt) in {checkpoint_dir}")
    meta = state["meta"]
    config = TrainConfig(**meta["config"], device=device)
    sub = Subspace.model_validate_json(meta["subspace"])
    head = state["model"]["classifier.weight"]
    net = Supernet(sub, config.channels, config.layers, head.shape[0],
                   state["model"]["stem.0.weight"].shape[1])
    net.load_state_dict(state["model"])
    net.train_log = json.loads(state["log"])
    net.train_seconds = sum(e["seconds"] for e in net.train_log)
    net.config = config
    return net.to(resolve_device(device)).eval()


@torch.no_grad()
def recalibrate_bn(net: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
                   data: ImageData, config: TrainConfig) -> None:
    """Reset every batch norm's running statistics and re-estimate them on training batches.

    The batches are the same for every call (seeded), so cells are compared on equal terms.
    """
    device = next(net.parameters()).device
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    net.train()
    gen = torch.Generator().manual_seed(config.seed + 1)
    for x, _ in data.batches("train", config.batch_size, gen, device, shuffle=True,
                             limit=config.calib_batches):
        with _autocast(device, config.amp):
            forward(x)
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    net.eval()


@torch.no_grad()
def accuracy(forward: Callable[[torch.Tensor], torch.Tensor], data: ImageData, split: str,
             config: TrainConfig, device: torch.device) -> float:
    """Top-1 accuracy (%) on a split."""
    right = 0
    for x, y in data.batches(split, config.eval_batch_size, device=device):
        with _autocast(device, config.amp):
            right += int((forward(x).argmax(1) == y).sum())
    return 100.0 * right / len(data.split(split))


def train_from_scratch(arch: Arch, data: ImageData, epochs: int | None = None,
                       config: TrainConfig | None = None, checkpoint_dir: str | Path | None = None,
                       progress: bool = True) -> dict[str, Any]:
    """Train the DARTS evaluation network of ``arch`` from scratch and test it.

    Returns:
        ``test_acc`` and ``val_acc`` (%), ``params`` (trainable parameters), ``seconds``,
        ``epochs`` and the per-epoch ``log``.
    """
    config = config or TrainConfig()
    if epochs is not None:
        config = config.model_copy(update={"epochs": epochs})
    with _seeded(config):
        net = StandaloneNetwork(arch, config.channels, config.layers, data.num_classes,
                                data.in_channels)
    meta = {"kind": "scratch", "config": config.model_dump(exclude=_NOT_RESUMED),
            "arch": [list(p) for p in arch.as_layer_list()], "data": data.name}

    def forward(x: torch.Tensor, rng: np.random.Generator, epoch: int) -> torch.Tensor:
        # DARTS' schedule: the drop-path probability grows linearly over the epochs
        return net.forward_pairs(x, net.normal_pairs, net.reduce_pairs,
                                 config.drop_path * epoch / config.epochs)

    t0 = time.perf_counter()
    with _seeded(config):
        log = _fit(net, forward, data, config, "from scratch", meta, checkpoint_dir, progress,
                   None)
    net.eval()
    device = next(net.parameters()).device
    return {"test_acc": accuracy(net, data, "test", config, device),
            "val_acc": accuracy(net, data, "val", config, device),
            "params": count_parameters(net), "seconds": time.perf_counter() - t0,
            "epochs": len(log), "log": log}
