"""Benchmark the DARTS supernet: training throughput and time per evaluated cell.

Training throughput (images/s) is measured on the digits (8x8, 1 channel) and on random
CIFAR-sized tensors (32x32, 3 channels); the time per evaluated cell is a
:class:`SupernetEvaluator` measurement (BN recalibration, held-out and test accuracy) on
digits and on a CIFAR-sized random set of the given size.

    python scripts/bench_darts.py                    # CPU
    python scripts/bench_darts.py --device cuda      # GPU, with mixed precision
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lapt.spaces import get_space
from lapt.tools.supernet import (
    ImageData,
    Split,
    Supernet,
    SupernetEvaluator,
    TrainConfig,
    load_data,
    resolve_device,
)
from lapt.tools.supernet.train import _autocast


def random_data(n_train: int, n_eval: int, size: int = 32, classes: int = 10) -> ImageData:
    """CIFAR-shaped random uint8 images (only the shapes matter for timing)."""
    g = torch.Generator().manual_seed(0)

    def split(n: int) -> Split:
        return Split(torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8),
                     torch.randint(0, classes, (n,), generator=g))

    return ImageData("random32", split(n_train), split(n_eval), split(n_eval), classes, 255.0,
                     (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), augment=True)


def train_throughput(data: ImageData, config: TrainConfig, steps: int, warmup: int = 3) -> float:
    """Images per second of single-path supernet training steps."""
    space = get_space("darts")
    device = resolve_device(config.device)
    net = Supernet(space.full_subspace(), config.channels, config.layers, data.num_classes,
                   data.in_channels).to(device).train()
    opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    batches = data.batches("train", config.batch_size, gen, device, shuffle=True, augment=True)
    seen, t0 = 0, 0.0
    for step in range(warmup + steps):
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, seen = time.perf_counter(), 0
        try:
            x, y = next(batches)
        except StopIteration:
            batches = data.batches("train", config.batch_size, gen, device, shuffle=True,
                                   augment=True)
            x, y = next(batches)
        with _autocast(device, config.amp):
            loss = torch.nn.functional.cross_entropy(net(x, space.sample(rng)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
        opt.step()
        seen += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - t0)


def seconds_per_cell(data: ImageData, config: TrainConfig, cells: int) -> float:
    """Mean seconds of one supernet evaluation (untrained weights; timing only)."""
    space = get_space("darts")
    net = Supernet(space.full_subspace(), config.channels, config.layers, data.num_classes,
                   data.in_channels).to(resolve_device(config.device))
    net.config = config
    ev = SupernetEvaluator(net, data, config)
    rng = np.random.default_rng(1)
    ev.evaluate(net.sample(rng))  # warm-up
    t0 = time.perf_counter()
    for _ in range(cells):
        ev.evaluate(net.sample(rng))
    return (time.perf_counter() - t0) / cells


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--cells", type=int, default=5, help="timed cell evaluations")
    p.add_argument("--eval-images", type=int, default=1000,
                   help="val and test images each, CIFAR-sized evaluation")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    config = TrainConfig(channels=a.channels, layers=a.layers, batch_size=a.batch_size,
                         device=a.device)
    device = resolve_device(a.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {name}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"C={a.channels}, {a.layers} cells, batch {a.batch_size}"
          + (", mixed precision" if device.type == "cuda" and config.amp else ""))
    digits = load_data("digits")
    big = random_data(max(a.batch_size * 4, 256), a.eval_images)
    rows = [
        ("supernet training, digits 8x8",
         f"{train_throughput(digits, config, a.steps):,.0f} img/s"),
        ("supernet training, 32x32x3",
         f"{train_throughput(big, config, a.steps):,.0f} img/s"),
        (f"evaluated cell, digits ({len(digits.val)} val + {len(digits.test)} test)",
         f"{seconds_per_cell(digits, config, a.cells):.2f} s"),
        (f"evaluated cell, 32x32x3 ({a.eval_images} val + {a.eval_images} test)",
         f"{seconds_per_cell(big, config, a.cells):.2f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value:>14}")


if __name__ == "__main__":
    main()
