"""Check the DARTS supernet pipeline end to end on a CUDA GPU, and time it against the CPU.

What a session does with a supernet, on the digits: train a supernet over the full DARTS
space, evaluate sampled cells by weight inheritance, then train the best one from
scratch. Run on each device; the script prints one JSON line per device, with the wall
times, the accuracies and a checksum of the training losses (two runs with the same seed
on the same device must agree; see ``--repeat``).

    python scripts/check_cuda.py --device cuda --device cpu
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from types import SimpleNamespace

import numpy as np
import torch

from lapt.spaces import get_space
from lapt.tools.supernet import load_supernet, make_supernet_evaluator, train_final


def run(device: str, epochs: int, cells: int, final_epochs: int) -> dict[str, object]:
    """Train, evaluate ``cells`` sampled cells, train the best from scratch; timings."""
    settings = SimpleNamespace(device=device, epochs=epochs, final_epochs=final_epochs,
                               width=8, cells=5, final_width=16, final_cells=8)
    out: dict[str, object] = {"device": device}
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ev = make_supernet_evaluator("digits", settings, workdir=tmp, progress=False)
        out["supernet_train_s"] = round(time.perf_counter() - t0, 2)
        losses = [e["loss"] for e in ev.supernet.train_log]
        out["loss_first_last"] = [round(losses[0], 4), round(losses[-1], 4)]
        out["loss_sum"] = float(np.sum(losses))
        reloaded = load_supernet(tmp)  # the checkpoint reloads on the CPU
        out["checkpoint_reloads"] = reloaded.train_log == ev.supernet.train_log
        space = get_space("darts")
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        evals = [ev.evaluate(space.sample(rng)) for _ in range(cells)]
        out["eval_s_per_cell"] = round((time.perf_counter() - t0) / cells, 3)
        best = max(evals, key=lambda e: e.val)
        out["best_supernet_val"] = round(best.val, 2)
        out["val_spread"] = [round(min(e.val for e in evals), 2), round(best.val, 2)]
        t0 = time.perf_counter()
        final = train_final(best.arch, "digits", settings, workdir=tmp, progress=False)
        out["final_train_s"] = round(time.perf_counter() - t0, 2)
        out["final_test_acc"] = round(final["final_test_acc"], 2)
        out["final_params"] = final["final_params"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", action="append", default=None, help="cuda, cpu, ... (repeat)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--cells", type=int, default=50)
    p.add_argument("--final-epochs", type=int, default=20)
    p.add_argument("--repeat", type=int, default=1, help="runs per device (determinism)")
    a = p.parse_args()
    print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                      "threads": torch.get_num_threads()}), flush=True)
    for device in a.device or ["cuda"]:
        for _ in range(a.repeat):
            print(json.dumps(run(device, a.epochs, a.cells, a.final_epochs)), flush=True)


if __name__ == "__main__":
    main()
