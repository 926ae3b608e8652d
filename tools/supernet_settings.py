"""The settings of the DARTS path: the weight-sharing evaluator and the final training,
as a run config's ``supernet:`` section holds them (one typed model, defined here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SupernetSettings"]


class SupernetSettings(BaseModel):
    """DARTS only: the weight-sharing evaluator and the final training."""

    model_config = ConfigDict(extra="forbid")

    data_root: str | None = Field(None, description="folder holding CIFAR in torchvision layout")
    width: int = Field(8, gt=0, description="supernet channels")
    cells: int = Field(3, gt=0, description="supernet cells")
    epochs: int = Field(30, gt=0, description="supernet epochs (single-path sampling)")
    batch_size: int = Field(32, gt=0)
    lr: float = Field(0.05, gt=0)
    final_epochs: int = Field(20, ge=0, description="training of the final cell from scratch")
    final_width: int = Field(16, gt=0)
    final_cells: int = Field(5, gt=0)
    device: str = Field("auto", description="auto (CUDA when present), cpu, cuda")
    cpu_threads: int | None = Field(None, gt=0, description="torch threads on the CPU")
    executor: Literal["local", "ray"] = Field(
        "local", description="where supernets and final networks train: local (this "
        "process) or ray (one Ray task each, a GPU where device is cuda; docs/ray.md)")
    address: str | None = Field(None, description="ray: the cluster's address (default: the "
                                "instance this process joined, else a new local one)")
