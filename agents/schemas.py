"""Per-space answer schemas: what each agent's model must produce.

Parsing stays lenient (operators by name or id, any layer number), so that wrong
answers reach the validators and get precise messages back; the JSON schema shown to
the model, and used for constrained decoding, lists the space's operator names and
layer numbers, and bounds every list and string so a small model cannot ramble.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from lapt.spaces import LayerProposal, SearchSpace, get_space

from .messages import AdapterAnswer, AnalystAnswer, PrincipleAnswer, TranslatorAnswer


def _principle(space: SearchSpace) -> type[PrincipleAnswer]:
    n = len(space.layers)
    return create_model(  # type: ignore[no-any-return]
        f"{space.name.title()}Principle", __base__=PrincipleAnswer,
        layers=(list[int], Field(default_factory=list, description="layer indices (empty = all)",
                                 json_schema_extra={"items": {"enum": list(range(n))},
                                                    "maxItems": n})),
        operators=(list[str], Field(default_factory=list, description="operator names",
                                    json_schema_extra={"items": {"enum": list(space.ops)},
                                                       "maxItems": 3})),
    )


def _with_principles(base: type[BaseModel], space: SearchSpace) -> type[BaseModel]:
    return create_model(
        f"{space.name.title()}{base.__name__}", __base__=base,
        principles=(list[_principle(space)], Field(  # type: ignore[valid-type,misc,arg-type]
            min_length=1, max_length=8, json_schema_extra={"maxItems": 3})),
    )


@cache
def analyst_schema(space_name: str) -> type[AnalystAnswer]:
    """The Analyst's answer model for one space."""
    return _with_principles(AnalystAnswer, get_space(space_name))  # type: ignore[return-value]


@cache
def adapter_schema(space_name: str) -> type[AdapterAnswer]:
    """The Adapter's answer model for one space."""
    return _with_principles(AdapterAnswer, get_space(space_name))  # type: ignore[return-value]


def _sources_field(space: SearchSpace) -> tuple[Any, Any]:
    """Fixed sources (NB201, Trans101): not in the schema at all. Else a non-empty list."""
    if space.fixed_sources:
        return (SkipJsonSchema[list[int] | None], None)  # type: ignore[misc]
    nodes = sorted({s for layer in space.layers for s in layer.sources})
    most = max(len(layer.sources) for layer in space.layers)
    return (list[int] | None, Field(default=None, description="allowed source nodes (omit: all)",
                                    json_schema_extra={"anyOf": [
                                        {"type": "array", "items": {"enum": nodes},
                                         "minItems": 1, "maxItems": most},
                                        {"type": "null"}]}))


@cache
def translator_schema(space_name: str) -> type[TranslatorAnswer]:
    """The Translator's answer model for one space."""
    space = get_space(space_name)
    n = len(space.layers)
    layer = create_model(
        f"{space_name.title()}LayerAnswer", __base__=LayerProposal,
        layer=(int, Field(description=f"layer index 0..{n - 1}",
                          json_schema_extra={"enum": list(range(n))})),
        ops=(list[str | int], Field(description="allowed operators",
                                    json_schema_extra={"items": {"enum": list(space.ops)},
                                                       "minItems": 1,
                                                       "maxItems": len(space.ops)})),
        sources=_sources_field(space),
    )
    return create_model(  # type: ignore[no-any-return]
        f"{space_name.title()}TranslatorAnswer", __base__=TranslatorAnswer,
        layers=(list[layer], Field(json_schema_extra={"minItems": n, "maxItems": n})),  # type: ignore[valid-type]
    )
