"""The prompts each agent sends its model, built with the tools (never by hand-editing output).

The Analyst's prompt follows the paper: the task, the space as a Python class, the top-k
architectures as layer lists, the three steps (information flow, common patterns,
principles), the expected output and notes.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from lapt.spaces import SearchSpace, Subspace

from .messages import AdaptRequest, AnalyzeRequest, Principles, TranslateRequest

SYSTEM = ("You are an expert in neural architecture design. You read architectures, reason "
          "about why they perform well, and answer with JSON only.")


def _json_form(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema(), separators=(",", ":"))


def _notes(space: SearchSpace) -> str:
    ops = ", ".join(f"{i}={o}" for i, o in enumerate(space.ops))
    return (f"Notes: operators are {ops}. Layers are numbered 0..{len(space.layers) - 1}. "
            "Answer with one JSON object and nothing else.")


def analyst_prompt(req: AnalyzeRequest, space: SearchSpace, class_prompt: str,
                   schema: type[BaseModel]) -> list[dict[str, str]]:
    """Algorithm 1, line 2: learn design principles from the source archive."""
    evidence = (f"\nStatistics of these architectures against the whole space "
                f"(enrichment > 1: more frequent among the best):\n{req.evidence}\n"
                if req.evidence else "")
    user = (
        f"Task: {req.task} — {req.task_description}.\n"
        f"The search space is the PyTorch class below; an architecture is a layer list of "
        f"(operator, input node) pairs. The {len(req.archive)} architectures listed after it "
        f"are the best on this task, best first.\n\n```python\n{class_prompt}\n```\n"
        f"{evidence}\n"
        "Analyse them in three steps:\n"
        "1. information_flow: how information flows from the input to the output.\n"
        "2. common_patterns: which operators and connections the best architectures share.\n"
        "3. principles: general design principles, each naming the operators and layers it "
        "concerns and whether its effect on performance is positive or negative.\n\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def translator_prompt(req: TranslateRequest, space: SearchSpace,
                      schema: type[BaseModel]) -> list[dict[str, str]]:
    """Algorithm 1, line 4: principles -> per-layer allowed operators (and sources)."""
    layers = "\n".join(
        f"layer {i} ({l.name}): operators {list(l.ops)}"
        + (f", sources {list(l.sources)}" if len(l.sources) > 1 else "")
        for i, l in enumerate(space.layers))
    user = (
        f"Design principles for the task {req.task}:\n{req.principles.text()}\n\n"
        f"The search space has these layers and candidates:\n{layers}\n\n"
        "Turn the principles into a smaller search space: for every layer (one entry per "
        "layer, layers 0 to " + str(len(space.layers) - 1) + "), list the "
        "operators the principles favour (keep an operator when unsure; drop only what the "
        "principles say hurts)"
        + (", and the allowed sources" if not space.fixed_sources else "") + ".\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _found_rows(req: AdaptRequest, space: SearchSpace) -> str:
    return "\n".join(
        f"{i}. {json.dumps([list(p) for p in space.decode(e.arch).as_layer_list()])} "
        f"val={e.val:.4g}" for i, e in enumerate(req.found[: req.top_r], 1))


def adapter_update_prompt(req: AdaptRequest, space: SearchSpace,
                          schema: type[BaseModel]) -> list[dict[str, str]]:
    """Algorithm 2, Base <= Best: update the principles from the top-r architectures found."""
    user = (
        f"These design principles guided a search on the task {req.task}:\n"
        f"{req.principles.text()}\n\n"
        f"The search improved the best validation score to {req.best:.4g} "
        f"(before: {'none' if req.base is None else f'{req.base:.4g}'}). "
        f"The top {min(req.top_r, len(req.found))} architectures it found, as layer lists of "
        f"(operator, input node), best first:\n{_found_rows(req, space)}\n\n"
        "Update the principles so that they explain what makes these architectures good "
        "on this task; keep what still holds, correct what does not.\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


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
        f"These design principles guided a search on the task {req.task}:\n"
        f"{req.principles.text()}\n\n"
        f"The search did not improve: its best validation score {req.best:.4g} is below the "
        f"earlier best {req.base:.4g}. The principles left out these choices:\n"
        + ("\n".join(left_out) or "(nothing: every choice was allowed)") + "\n\n"
        "Describe the likely effects of the left-out operators and connections as new "
        "principles, so that the next search explores other regions of the space.\n"
        f"Expected output: JSON matching this schema: {_json_form(schema)}\n{_notes(space)}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def repair_prompt(raw: str | None, problems: str) -> list[dict[str, str]]:
    """The follow-up turn that sends a model its violations back."""
    return [
        {"role": "assistant", "content": raw or ""},
        {"role": "user", "content": "That answer cannot be used:\n" + problems
         + "\nAnswer again with one corrected JSON object only."},
    ]


def principles_from(answer: BaseModel, origin: str, keep: Principles | None = None) -> Principles:
    """A :class:`Principles` message from an Analyst or Adapter answer (appended to ``keep``)."""
    data = answer.model_dump()
    new = tuple(answer.principles)  # type: ignore[attr-defined]
    return Principles(
        principles=(tuple(keep.principles) + new)[-8:] if keep is not None else new,
        information_flow=data.get("information_flow", keep.information_flow if keep else ""),
        common_patterns=data.get("common_patterns", data.get("observations", "")),
        origin=origin,
    )
