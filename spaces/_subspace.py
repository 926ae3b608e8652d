"""Refined subspaces Ω_r (the paper's eq. 3) and their validation.

A :class:`Subspace` keeps, per layer, the allowed operators C_i^r ⊆ C_i and the allowed
sources S_i^r ⊆ S_i. A :class:`SubspaceProposal` is the lenient form a person or an LLM
writes (operators by name or id, layers omitted = unrestricted);
:func:`validate_subspace` turns a proposal into a subspace or lists every violation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ._base import SpaceError, short

if TYPE_CHECKING:
    from ._base import Arch, SearchSpace

_BOUND = 1_000_000


class LayerChoice(BaseModel):
    """The allowed operators and sources of one layer."""

    model_config = ConfigDict(frozen=True)
    ops: tuple[str, ...]
    sources: tuple[int, ...]


class Subspace(BaseModel):
    """A refined subspace of a registered space; JSON round trip with pydantic."""

    model_config = ConfigDict(frozen=True)
    space: str = Field(description="registry name of the space, e.g. 'nb201'")
    layers: tuple[LayerChoice, ...]

    @property
    def search_space(self) -> SearchSpace:
        from . import get_space

        return get_space(self.space)

    def cardinality(self) -> int:
        """Number of architectures in the subspace."""
        return self.search_space.cardinality(self)

    def contains(self, arch: Arch) -> bool:
        return self.search_space.contains(arch, self)

    def enumerate(self) -> Iterator[Arch]:
        return self.search_space.enumerate(self)

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.search_space.sample(rng, self)

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        return self.search_space.mutate(arch, rng, self)

    def describe(self) -> str:
        """Per layer, the allowed operators and sources."""
        space = self.search_space
        rows = [f"layer {i} ({space.layers[i].name}): ops {list(c.ops)}, sources {list(c.sources)}"
                for i, c in enumerate(self.layers)]
        return f"{self.cardinality():,} of {space.cardinality():,} cells\n" + "\n".join(rows)


def _bounded(value: int) -> int:
    if not -_BOUND <= value <= _BOUND:
        raise ValueError(f"a layer, operator or node number lies in -{_BOUND:,}..{_BOUND:,}")
    return value


Index = Annotated[int, AfterValidator(_bounded)]
"""A layer, operator or node number as a proposal may write it: bounded (never an
integer of thousands of digits), with no bound in the JSON schema a model is shown."""


class LayerProposal(BaseModel):
    """One layer of a proposal: operators by name or id; omitted sources = all candidates."""

    layer: Index = Field(description="layer index, 0-based")
    ops: list[Annotated[str, Field(max_length=200)] | Index] = Field(
        description="allowed operators, by name or id", max_length=64)
    sources: list[Index] | None = Field(default=None, description="allowed source nodes",
                                         max_length=64)


class SubspaceProposal(BaseModel):
    """A subspace as proposed by a person or an LLM. Layers not listed stay unrestricted."""

    layers: list[LayerProposal] = Field(max_length=256)


def _cap_violations(space: SearchSpace, chosen: dict[int, LayerChoice], max_ops: int | None,
                    max_sources: int | None) -> list[str]:
    """The layers that allow more operators or sources than the per-layer caps."""
    out = []
    for what, cap in (("operators", max_ops), ("sources", max_sources)):
        if cap is None:
            continue
        over = []
        for i, layer in enumerate(space.layers):
            c = chosen.get(i, LayerChoice(ops=layer.ops, sources=layer.sources))
            n = len(c.ops if what == "operators" else c.sources)
            if n > cap:
                over.append(f"layer {i} ({n}{'' if i in chosen else ', not listed'})")
        if over:
            out.append(f"at most {cap} {what} per layer: {', '.join(over)} allow more; list "
                       f"every layer and keep only the {cap} best {what} of each")
    return out


class ValidationReport(BaseModel):
    """The outcome of :func:`validate_subspace`."""

    model_config = ConfigDict(frozen=True)
    valid: bool
    violations: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    subspace: Subspace | None = None

    def message(self) -> str:
        """The violations as one text a person or an LLM can act on."""
        return "\n".join(f"- {v}" for v in self.violations) if self.violations else "valid"


def validate_subspace(space: SearchSpace, proposal: SubspaceProposal | dict, *,
                      max_ops: int | None = None, max_sources: int | None = None,
                      keep_one_of: Sequence[Arch] = ()) -> ValidationReport:
    """Check a proposal against ``space``; report every violation, or the normalised subspace.

    Violations: unknown operator (by name or id), layer out of range, duplicated layer,
    empty operator list, sources not among the layer's candidates, more than ``max_ops``
    operators or ``max_sources`` sources on a layer (every layer must then be listed), a
    subspace whose every cell is degenerate, and one that holds none of ``keep_one_of``
    (the best architectures known, best first: a subspace without any of them ignores the
    evidence it was made from).

    Example:
        >>> from lapt.spaces import get_space
        >>> nb = get_space("nb201")
        >>> r = validate_subspace(nb, {"layers": [{"layer": 0, "ops": ["nor_conv_3x3", 1]}]})
        >>> r.valid, r.subspace.cardinality()
        (True, 6250)
    """
    if isinstance(proposal, dict):
        proposal = SubspaceProposal.model_validate(proposal)
    violations: list[str] = []
    notes: list[str] = []
    chosen: dict[int, LayerChoice] = {}
    n = len(space.layers)
    for entry in proposal.layers:
        i = entry.layer
        if not 0 <= i < n:
            violations.append(f"layer {short(i)} is out of range: {space.name} has layers "
                              f"0..{n - 1}")
            continue
        layer = space.layers[i]
        if i in chosen:
            violations.append(f"layer {i} ({layer.name}) is listed twice")
            continue
        ops: list[str] = []
        for op in entry.ops:
            try:
                name = space.op_name(op, layer=i)
            except SpaceError as err:
                violations.append(str(err).removeprefix(f"{space.name}: "))
                continue
            if name not in ops:
                ops.append(name)
        if not entry.ops:
            violations.append(f"layer {i} ({layer.name}) allows no operator; "
                              f"choose at least one of: {', '.join(layer.ops)}")
        sources = list(layer.sources) if entry.sources is None else list(dict.fromkeys(entry.sources))
        bad = [s for s in sources if s not in layer.sources]
        if bad:
            violations.append(f"layer {i} ({layer.name}): sources {bad} are not among its "
                              f"candidates {list(layer.sources)}")
        if entry.sources is not None and not entry.sources:
            violations.append(f"layer {i} ({layer.name}) allows no source; "
                              f"choose from {list(layer.sources)}")
        ops = sorted(ops, key=layer.ops.index)
        sources = sorted((s for s in sources if s in layer.sources), key=layer.sources.index)
        chosen[i] = LayerChoice(ops=tuple(ops), sources=tuple(sources))
    for i, layer in enumerate(space.layers):
        if i not in chosen:
            notes.append(f"layer {i} ({layer.name}) not listed: all operators allowed")
    violations += _cap_violations(space, chosen, max_ops, max_sources)
    if violations:
        return ValidationReport(valid=False, violations=tuple(violations), notes=tuple(notes))
    sub = Subspace(
        space=space.name,
        layers=tuple(chosen.get(i, LayerChoice(ops=l.ops, sources=l.sources))
                     for i, l in enumerate(space.layers)),
    )
    if not space.has_live_cell(sub):
        return ValidationReport(
            valid=False,
            violations=(f"every cell of this subspace is degenerate: no path from the input to "
                        f"the output avoids '{space.zero_op}'; allow a non-zero operator on a "
                        f"path from the input to the output",),
            notes=tuple(notes),
        )
    problems = space.subspace_problems(sub)
    if keep_one_of and not any(space.contains(a, sub) for a in keep_one_of):
        best = ", ".join(f"layer {i} {op}" + ("" if space.fixed_sources else f" from {src}")
                         for i, (op, src) in enumerate(keep_one_of[0].as_layer_list()))
        problems = [*problems, (
            f"the subspace holds none of the {len(keep_one_of)} best architectures known; "
            f"allow on each layer an operator that one of them uses (the best: {best})")]
    if problems:
        return ValidationReport(valid=False, violations=tuple(problems), notes=tuple(notes))
    return ValidationReport(valid=True, notes=tuple(notes), subspace=sub)
