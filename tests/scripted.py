"""Scripted model answers for the agent tests (the only mocks: the LLM's answers)."""

from __future__ import annotations

import itertools
from typing import Any

from lapt.agents.providers import FunctionConfig

NB201_OPS = ["nor_conv_3x3", "nor_conv_1x1"]  # within the presets' cap of 2


def principle(ops: list[str], effect: str = "positive", layers: list[int] | None = None) -> dict:
    return {"statement": f"{', '.join(ops)} {'help' if effect == 'positive' else 'hurt'}",
            "layers": layers or [], "operators": ops, "effect": effect}


def analyst_answer(ops: list[str]) -> dict:
    return {"information_flow": "features pass through stacked convolutions",
            "common_patterns": "convolutions on most edges",
            "principles": [principle(ops), principle(["none"], "negative")]}


def translator_answer(ops: list[str], n_layers: int = 6) -> dict:
    return {"layers": [{"layer": i, "ops": ops} for i in range(n_layers)], "rationale": "per P"}


def source_best_layers() -> list[list[str]]:
    """NB201, per layer: the operator of ImageNet16-120's best cell and one convolution, a
    64-cell subspace that passes the presets' first-subspace check (one of the source's
    top 3 inside)."""
    from lapt.tools.tasks import source_archive

    best = source_archive("nb201", "ImageNet16-120", 1)[0]
    return [[op, "nor_conv_1x1" if op == "nor_conv_3x3" else "nor_conv_3x3"]
            for op, _ in best.as_layer_list()]


def layers_answer(layers: list[list[str]]) -> dict:
    """A Translator answer with ``layers[i]`` on layer i."""
    return {"layers": [{"layer": i, "ops": ops} for i, ops in enumerate(layers)],
            "rationale": "per P"}


def adapter_answer(ops: list[str]) -> dict:
    return {"observations": "the best cells use these operators", "principles": [principle(ops)]}


class Script:
    """Per-agent answer queues; once a queue is empty, the agent's default answer repeats.

    Also counts calls, so tests can check how many were made.
    """

    def __init__(self, ops: list[str] | None = None, n_layers: int = 6,
                 **queues: list[Any]) -> None:
        ops = ops or NB201_OPS
        self.defaults = {"analyst": analyst_answer(ops),
                         "translator": translator_answer(ops, n_layers),
                         "adapter": adapter_answer(ops)}
        self.queues = {k: list(v) for k, v in queues.items()}
        self.calls: dict[str, int] = {}
        self.counter = itertools.count()

    def __call__(self, agent: str, messages: list, schema: Any) -> Any:
        self.calls[agent] = self.calls.get(agent, 0) + 1
        next(self.counter)
        queue = self.queues.get(agent)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, type) and issubclass(answer, BaseException):
                raise answer()
            return answer
        return self.defaults[agent]

    def provider(self) -> FunctionConfig:
        return FunctionConfig(fn=self)


def timeout() -> BaseException:
    return TimeoutError("scripted timeout")


class KillOnce(Script):
    """A :class:`Script` whose first call, while ``marker`` does not exist, creates it and
    kills its own process (a worker lost mid-seed); every later call answers as usual."""

    def __init__(self, marker: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marker = marker

    def __call__(self, agent: str, messages: list, schema: Any) -> Any:
        import os

        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().__call__(agent, messages, schema)
