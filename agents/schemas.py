"""Per-space answer schemas: what each agent's model must produce.

Parsing stays lenient (operators by name or id, any layer number), so that wrong
answers reach the validators and get precise messages back; the JSON schema shown to
the model, and used for constrained decoding, lists the space's operator names and
layer numbers, and bounds every list and string by the provider's
:class:`~lapt.agents.providers.AnswerSize` and the per-layer caps of the run config.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field, create_model
from pydantic.json_schema import SkipJsonSchema

from lapt.spaces import Index, LayerProposal, SearchSpace, get_space

from .messages import AdapterAnswer, AnalystAnswer, PrincipleAnswer, TranslatorAnswer
from .providers import AnswerSize


def _principle(space: SearchSpace, size: AnswerSize) -> type[PrincipleAnswer]:
    n = len(space.layers)
    return create_model(  # type: ignore[no-any-return]
        f"{space.schema_title}Principle", __base__=PrincipleAnswer,
        statement=(str, Field(max_length=2000, description="the principle, with its reason",
                              json_schema_extra={"maxLength": size.statement_chars})),
        layers=(list[Index], Field(default_factory=list, description="layer indices (empty = all)",
                                 json_schema_extra={"items": {"enum": list(range(n))},
                                                    "maxItems": n})),
        operators=(list[str], Field(default_factory=list, description="operator names",
                                    json_schema_extra={"items": {"enum": list(space.ops)},
                                                       "maxItems": min(len(space.ops),
                                                                       size.principles)})),
    )


def _text(description: str, size: AnswerSize) -> tuple[Any, Any]:
    return (str, Field(max_length=4000, description=description,
                       json_schema_extra={"maxLength": size.text_chars}))


def _principles(space: SearchSpace, size: AnswerSize) -> tuple[Any, Any]:
    return (list[_principle(space, size)], Field(  # type: ignore[misc]
        min_length=1, max_length=16, json_schema_extra={"maxItems": size.principles}))


def _layers_field(space: SearchSpace, max_ops: int | None, max_sources: int | None,
                  *, required: bool) -> tuple[Any, Any]:
    """Per layer: operators (and sources, where the space lets them vary), capped."""
    n = len(space.layers)
    cap = min(max_ops or len(space.ops), len(space.ops))
    if space.fixed_sources:
        sources: tuple[Any, Any] = (SkipJsonSchema[list[int] | None], None)  # type: ignore[misc]
    else:
        nodes: list[Any] = sorted({s for layer in space.layers for s in layer.sources})
        most = max(len(layer.sources) for layer in space.layers)
        src_cap = min(max_sources or most, most)
        sources = (list[Index] | None, Field(
            default=None, description="allowed source nodes (omit: all)",
            json_schema_extra={"anyOf": [{"type": "array", "items": {"enum": list(nodes)},
                                          "minItems": 1, "maxItems": src_cap},
                                         {"type": "null"}]}))
    layer = create_model(
        f"{space.schema_title}LayerAnswer", __base__=LayerProposal,
        layer=(Index, Field(description=f"layer index 0..{n - 1}",
                          json_schema_extra={"enum": list(range(n))})),
        ops=(list[str | Index], Field(description=f"allowed operators (at most {cap})",
                                    json_schema_extra={"items": {"enum": list(space.ops)},
                                                       "minItems": 1, "maxItems": cap})),
        sources=sources,
    )
    extra: dict[str, Any] = {"minItems": n, "maxItems": n}
    if required:
        return (list[layer], Field(json_schema_extra=extra))  # type: ignore[valid-type]
    return (list[layer], Field(default_factory=list,  # type: ignore[valid-type]
                               description="step 4: per layer, the available operators",
                               json_schema_extra=extra))


@cache
def analyst_schema(space_name: str, size: AnswerSize = AnswerSize(),
                   max_ops: int | None = None,
                   max_sources: int | None = None) -> type[AnalystAnswer]:
    """The Analyst's answer model for one space, answer size and per-layer cap."""
    space = get_space(space_name)
    model = create_model(
        f"{space.schema_title}AnalystAnswer", __base__=AnalystAnswer,
        information_flow=_text("step 1: how information flows in the top cells", size),
        common_patterns=_text("step 2: operators and connections they share", size),
        principles=_principles(space, size),
        layers=_layers_field(space, max_ops, max_sources, required=False),
    )

    def require_layers(schema: dict[str, Any]) -> None:
        # asked for in the schema (and its grammar); an answer without it still parses,
        # so its principles are kept and the Translator makes the first subspace
        schema["required"] = [*schema.get("required", []), "layers"]

    model.model_config["json_schema_extra"] = require_layers
    model.model_rebuild(force=True)
    return model  # type: ignore[return-value]


@cache
def adapter_schema(space_name: str, size: AnswerSize = AnswerSize()) -> type[AdapterAnswer]:
    """The Adapter's answer model for one space and answer size."""
    space = get_space(space_name)
    return create_model(  # type: ignore[no-any-return]
        f"{space.schema_title}AdapterAnswer", __base__=AdapterAnswer,
        observations=_text("what the found architectures show", size),
        principles=_principles(space, size),
    )


@cache
def translator_schema(space_name: str, max_ops: int | None = None,
                      max_sources: int | None = None,
                      size: AnswerSize = AnswerSize()) -> type[TranslatorAnswer]:
    """The Translator's answer model for one space and per-layer cap."""
    space = get_space(space_name)
    return create_model(  # type: ignore[no-any-return]
        f"{space.schema_title}TranslatorAnswer", __base__=TranslatorAnswer,
        layers=_layers_field(space, max_ops, max_sources, required=True),
        rationale=(str, Field(default="", max_length=4000,
                              json_schema_extra={"maxLength": size.text_chars})),
    )

