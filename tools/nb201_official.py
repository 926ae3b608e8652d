"""Optional evaluator backend over the official NAS-Bench-201 file (``NASBench201API``).

For users who have the official benchmark (``NAS-Bench-201-v1_1-096897.pth``, or the dict
it holds): validation and test accuracy per dataset for the 12- or 200-epoch schedule,
averaged over the trained seeds, plus the cost figures the vendored table lacks
(parameters, FLOPs, latency, training time). The splits follow the official API and
the vendored table: CIFAR-10 validation is ``cifar10-valid`` / ``x-valid`` and its test
``cifar10`` / ``ori-test``; CIFAR-100 and ImageNet16-120 use ``x-valid`` and ``x-test``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lapt.spaces import Arch, SpaceError, get_space

from .evaluate import Evaluation, Evaluator

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
HPS = ("12", "200")
# dataset -> ((benchmark dataset, set) for val, (benchmark dataset, set) for test)
_SPLITS = {
    "cifar10": (("cifar10-valid", "x-valid"), ("cifar10", "ori-test")),
    "cifar100": (("cifar100", "x-valid"), ("cifar100", "x-test")),
    "ImageNet16-120": (("ImageNet16-120", "x-valid"), ("ImageNet16-120", "x-test")),
}


@dataclass(frozen=True)
class OfficialInfo:
    """Cost figures of one cell on the evaluator's dataset (means over the trained seeds)."""

    params_mb: float
    flops_m: float
    latency_s: float | None
    """Seconds per batch of 256, where measured."""
    train_time_s: float | None
    """Total training time of the schedule, where recorded."""
    seeds: tuple[int, ...]


class NB201OfficialEvaluator(Evaluator):
    """Evaluator over the official ``NASBench201API`` (cache, counter and history as usual).

    Args:
        benchmark: a ``NASBench201API``, the path of the official ``.pth`` file, or the
            dict such a file holds (keys ``meta_archs``, ``arch2infos``,
            ``evaluated_indexes``).
        dataset: ``cifar10``, ``cifar100`` or ``ImageNet16-120``.
        hp: the training schedule, ``"12"`` or ``"200"`` epochs.

    Example (with the official file)::

        ev = NB201OfficialEvaluator("NAS-Bench-201-v1_1-096897.pth", "cifar10", hp="200")
        e = ev.evaluate(ev.space.decode("|nor_conv_3x3~0|+|...|"))
        ev.info(e.arch).params_mb
    """

    metric_name = "accuracy (%)"

    def __init__(self, benchmark: Any, dataset: str = "cifar10", hp: str | int = "200",
                 on_evaluation: Callable[[Evaluation], None] | None = None) -> None:
        if dataset not in _SPLITS:
            raise SpaceError(f"unknown NAS-Bench-201 dataset {dataset!r}; valid: "
                             f"{', '.join(DATASETS)}")
        if str(hp) not in HPS:
            raise SpaceError(f"unknown NAS-Bench-201 schedule hp={hp!r}; valid: {', '.join(HPS)}")
        super().__init__(get_space("nb201"), dataset, on_evaluation)
        self.hp = str(hp)
        self.api = _load(benchmark)
        self._val_split, self._test_split = _SPLITS[dataset]

    def _results(self, arch: Arch) -> Any:
        text = self.space.encode(arch)
        index = self.api.query_index_by_arch(text)
        if index < 0:
            raise SpaceError(f"nb201: {text} is not in this NAS-Bench-201 file")
        if index not in self.api.arch2infos_dict:
            raise SpaceError(f"nb201: {text} (index {index}) has no results in this file")
        return self.api.arch2infos_dict[index][self.hp]

    def _measure(self, arch: Arch) -> tuple[float, float]:
        results = self._results(arch)
        try:
            val = results.get_metrics(*self._val_split, is_random=False)["accuracy"]
            test = results.get_metrics(*self._test_split, is_random=False)["accuracy"]
        except KeyError as err:
            raise SpaceError(f"nb201: {self.space.encode(arch)} has no {self.task} results "
                             f"for hp={self.hp} in this file ({err})") from None
        return float(val), float(test)

    def info(self, arch: Arch) -> OfficialInfo:
        """Parameters, FLOPs, latency and training time of ``arch`` (costs no evaluation)."""
        results = self._results(self.space.check(arch))
        dataset = self._test_split[0]
        costs = results.get_compute_costs(dataset)
        train = results.get_metrics(dataset, "train", is_random=False)
        latency = costs.get("latency")
        train_time = train.get("all_time")
        return OfficialInfo(
            params_mb=float(costs["params"]), flops_m=float(costs["flops"]),
            latency_s=None if latency is None else float(latency),
            train_time_s=None if train_time is None else float(train_time),
            seeds=tuple(results.get_dataset_seeds(dataset)),
        )


def _load(benchmark: Any) -> Any:
    from nas_201_api import NASBench201API

    if isinstance(benchmark, NASBench201API):
        return benchmark
    if isinstance(benchmark, str | Path):
        if not Path(benchmark).is_file():
            raise SpaceError(f"no NAS-Bench-201 file at {str(benchmark)!r}")
        return NASBench201API(str(benchmark), verbose=False)
    if isinstance(benchmark, dict):
        missing = [k for k in ("meta_archs", "arch2infos", "evaluated_indexes")
                   if k not in benchmark]
        if missing:
            raise SpaceError(f"not a NAS-Bench-201 benchmark dict: missing keys {missing}")
        return NASBench201API(benchmark, verbose=False)
    raise SpaceError(f"a NAS-Bench-201 benchmark is a NASBench201API, a file path or its dict, "
                     f"not {type(benchmark).__name__}")
