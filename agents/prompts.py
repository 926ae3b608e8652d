"""The prompts each agent sends its model, built with the tools (never by hand-editing output).

The Analyst's prompt follows the paper: the task, the space as a Python class, the top-k
architectures as layer lists, the three steps (information flow, common patterns,
principles), the available operators of each layer (capped), the expected output and
notes. The Translator and the Adapter continue each task's conversation: their prompts
follow the recorded turns (the analysis, then the earlier rounds on that task).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel

from lapt.spaces import SearchSpace, Subspace

from .messages import AdaptRequest, AnalyzeRequest, Principles, TranslateRequest, Turn

SYSTEM = ("You are an expert in neural architecture design. You read architectures, reason "
          "about why they perform well, and answer with JSON only.")


def _json_form(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema(), separators=(",", ":"))


def _notes(space: SearchSpace) -> str:
    ops = ", ".join(f"{i}={o}" for i, o in enumerate(space.ops))
    return (f"Notes: operators are {ops}. Layers are numbered 0..{len(space.layers) - 1}. "
            "Answer with one JSON object and nothing else.")


def _cap(space: SearchSpace, max_ops: int | None, max_sources: int | None) -> str:
    """'operators (no more than 2 per layer)', and the sources where a layer chooses them."""
    ops = f"operators (no more than {max_ops} per layer)" if max_ops else "operators"
    if space.fixed_sources:
        return ops
    return ops + (f" and sources (no more than {max_sources} per layer)" if max_sources
                  else " and sources")


def chat(memory: Sequence[Turn], user: str) -> list[dict[str, str]]:
    """The system prompt, the task's conversation so far, and the new user turn."""
    return ([{"role": "system", "content": SYSTEM}]
            + [{"role": t.role, "content": t.content} for t in memory]
            + [{"role": "user", "content": user}])


def exchange(messages: list[dict[str, str]], raw: str | None) -> tuple[Turn, ...]:
    """The last user turn of ``messages`` and the accepted answer, for the task's memory."""
    return (Turn(role="user", content=messages[-1]["content"]),
            Turn(role="assistant", content=raw or ""))


def analyst_prompt(req: AnalyzeRequest, space: SearchSpace, class_prompt: str,
                   schema: type[BaseModel], max_ops: int | None = None,
                   max_sources: int | None = None) -> list[dict[str, str]]:
    """Algorithm 1, line 2: learn design principles (and a first subspace) from the archive."""
    evidence = (f"\nStatistics of these architectures against the whole space "
                f"(enrichment > 1: more frequent among the best):\n{req.evidence}\n"
                if req.evidence else "")
    user = (
        f"Task: {req.task} — {req.task_description}.\n"
        f"The search space is the PyTorch class below; an architecture is a layer list of "
        f"(operator, input node) pairs. The {len(req.archive)} architectures listed after it "
        f"are the best on this task, best first.\n\n```python\n{class_prompt}\n```\n"
        f"{evidence}\n"
        "Analyse them in steps:\n"
        "1. information_flow: how information flows from the input to the output.\n"
        "2. common_patterns: which operators and connections the best architectures share, "
        "layer by layer, and which they avoid.\n"
        "3. principles: general design principles, each naming the operators and layers it "
        "concerns and whether its effect on performance is positive or negative.\n"
        "4. layers: based on these principles, the available operators for each layer "
        f"(one entry per layer, {_cap(space, max_ops, max_sources)}): a refined search space "
        "in which a search on a related task will find top architectures quickly.\n\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return chat((), user)


def _layers_text(space: SearchSpace) -> str:
    return "\n".join(
        f"layer {i} ({l.name}): operators {list(l.ops)}"
        + (f", sources {list(l.sources)}" if len(l.sources) > 1 else "")
        for i, l in enumerate(space.layers))


def _subspace_text(subspace: Subspace) -> str:
    space = subspace.search_space
    return "\n".join(
        f"layer {i}: operators {list(c.ops)}"
        + (f", sources {list(c.sources)}" if not space.fixed_sources else "")
        for i, c in enumerate(subspace.layers))


def translator_prompt(req: TranslateRequest, space: SearchSpace, schema: type[BaseModel],
                      max_ops: int | None = None,
                      max_sources: int | None = None) -> list[dict[str, str]]:
    """Algorithm 1, line 4: principles -> per-layer available operators (and sources)."""
    hint = (f"\nThe analysis proposed these operators per layer:\n{_subspace_text(req.hint)}\n"
            if req.hint is not None else "")
    best = req.incumbent
    keep = (f"\nThe best architecture found so far on {req.task} (val={best.val:.4g}) must stay "
            f"inside the refined space: {_layer_list(space, best.arch)}\n"
            if best is not None else "")
    user = (
        f"Design principles for the task {req.task}:\n{req.principles.text()}\n\n"
        f"The search space has these layers and candidates:\n{_layers_text(space)}\n{hint}"
        f"{keep}\n"
        "Turn the principles into a refined search space for this task: for every layer "
        f"(one entry per layer, layers 0 to {len(space.layers) - 1}), list the available "
        f"{_cap(space, max_ops, max_sources)}: the choices that the principles and the "
        "architectures seen so far say perform best. Keep several candidates on a layer "
        "unless the best architectures found agree on one: a search that is narrowed too "
        "early on a few evaluations misses the best regions.\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return chat(req.memory, user)


def _layer_list(space: SearchSpace, arch: str) -> str:
    return json.dumps([list(p) for p in space.decode(arch).as_layer_list()])


def _found_rows(req: AdaptRequest, space: SearchSpace) -> str:
    return "\n".join(f"{i}. {_layer_list(space, e.arch)} val={e.val:.4g}"
                      for i, e in enumerate(req.found[: req.top_r], 1))


def adapter_update_prompt(req: AdaptRequest, space: SearchSpace,
                          schema: type[BaseModel]) -> list[dict[str, str]]:
    """Algorithm 2, Base <= Best: update the principles from the top-r architectures found."""
    user = (
        f"These design principles guide the search on the task {req.task}:\n"
        f"{req.principles.text()}\n\n"
        f"The search ran in this subspace:\n{_subspace_text(req.subspace)}\n"
        f"Its latest evaluations reached a best validation score of {req.best:.4g} "
        f"(best before: {'none' if req.base is None else f'{req.base:.4g}'}). "
        f"The top {min(req.top_r, len(req.found))} architectures found so far on {req.task}, "
        f"as layer lists of (operator, input node), best first:\n{_found_rows(req, space)}\n\n"
        "Update these design principles so that they explain what makes these architectures "
        "good on this task: keep what still holds, correct what does not, and say which "
        "operators each layer should use.\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return chat(req.memory, user)


def adapter_explore_prompt(req: AdaptRequest, space: SearchSpace, subspace: Subspace,
                           schema: type[BaseModel]) -> list[dict[str, str]]:
    """Algorithm 2, Base > Best: describe what the principles leave out, to explore there."""
    left_out = []
    for i, (layer, allowed) in enumerate(zip(space.layers, subspace.layers)):
        ops = [o for o in layer.ops if o not in allowed.ops]
        srcs = [s for s in layer.sources if s not in allowed.sources]
        if ops or srcs:
            left_out.append(f"layer {i} ({layer.name}): operators {ops}"
                            + (f", sources {srcs}" if srcs else ""))
    user = (
        f"These design principles guide the search on the task {req.task}:\n"
        f"{req.principles.text()}\n\n"
        f"It is hard to find better architectures: the latest evaluations reached "
        f"{req.best:.4g}, below the best so far, {req.base:.4g}. The top "
        f"{min(req.top_r, len(req.found))} architectures found so far, best first:\n"
        f"{_found_rows(req, space)}\n\n"
        "The current subspace leaves out these choices:\n"
        + ("\n".join(left_out) or "(nothing: every choice was allowed)") + "\n\n"
        "Based on the original design principles, describe the likely effects of other "
        "available operators and connections for each layer as new principles, so that the "
        "next search explores other promising regions of the space.\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return chat(req.memory, user)


def repair_prompt(raw: str | None, problems: str) -> list[dict[str, str]]:
    """The follow-up turn that sends a model its violations back."""
    return [
        {"role": "assistant", "content": raw or ""},
        {"role": "user", "content": "That answer cannot be used:\n" + problems
         + "\nAnswer again with one corrected JSON object only."},
    ]


def principles_from(answer: BaseModel, origin: str, keep: Principles | None = None,
                    most: int = 8) -> Principles:
    """A :class:`Principles` message from an Analyst or Adapter answer (appended to ``keep``,
    at most ``most`` principles, the newest kept)."""
    data = answer.model_dump()
    new = tuple(answer.principles)  # type: ignore[attr-defined]
    return Principles(
        principles=(tuple(keep.principles) + new)[-most:] if keep is not None else new[:most],
        information_flow=data.get("information_flow", keep.information_flow if keep else ""),
        common_patterns=data.get("common_patterns", data.get("observations", "")),
        origin=origin,
    )
