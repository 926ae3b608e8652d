"""Every message the agents exchange, and the JSON answers asked of their models.

Messages are frozen pydantic models with a ``type`` discriminator, so a transcript can
be read back into the same objects and a replay is exact. The ``*Answer`` models are
what an LLM must produce. Parsing bounds them loosely; the schema a model is shown (and,
with constrained decoding, held to) bounds them by the provider's ``answer_size``, so a
capable model has room to say what it saw and a tiny local model cannot ramble.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lapt.spaces import Index, LayerProposal, Subspace, SubspaceProposal


class _Msg(BaseModel):
    model_config = ConfigDict(frozen=True)


class Turn(_Msg):
    """One turn of a task's recorded conversation with the models (its memory)."""

    role: Literal["user", "assistant"]
    content: str


# ----------------------------------------------------------------- LLM answers
class PrincipleAnswer(BaseModel):
    """One design principle as an LLM writes it."""

    statement: str = Field(max_length=2000, description="the principle, with its reason")
    layers: list[Index] = Field(default_factory=list, max_length=32,
                              description="layer indices it concerns (empty = all)")
    operators: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list,
                                                                   max_length=8,
                                 description="operator names it concerns")
    effect: Literal["positive", "negative", "neutral"] = Field(
        description="effect on performance of using these operators on these layers")


class AnalystAnswer(BaseModel):
    """The Analyst's three steps (information flow, common patterns, principles) and, as in
    the paper's prompt, the available operators of each layer."""

    information_flow: str = Field(max_length=4000,
                                  description="step 1: how information flows in the top cells")
    common_patterns: str = Field(max_length=4000,
                                 description="step 2: operators and connections they share")
    principles: list[PrincipleAnswer] = Field(min_length=1, max_length=16,
                                              description="step 3: the design principles")
    layers: list[LayerProposal] = Field(default_factory=list, max_length=64, description=(
        "step 4: per layer, the available operators (a refined search space)"))


class AdapterAnswer(BaseModel):
    """The Adapter's answer: an updated principle set (or principles on left-out regions)."""

    observations: str = Field(max_length=4000, description="what the found architectures show")
    principles: list[PrincipleAnswer] = Field(min_length=1, max_length=16)


class TranslatorAnswer(SubspaceProposal):
    """Per layer, the operators (by name or id) the principles allow; sources optional."""

    rationale: str = Field(default="", max_length=4000)


# ------------------------------------------------------------ agent messages
class Principles(_Msg):
    """A principle set P (Analyst or Adapter output)."""

    type: Literal["principles"] = "principles"
    principles: tuple[PrincipleAnswer, ...]
    information_flow: str = ""
    common_patterns: str = ""
    origin: str = Field(description="who produced it: 'analyst', 'adapter:update', ...")

    def text(self) -> str:
        """The principles as numbered sentences, for prompts and people."""
        rows = []
        for i, p in enumerate(self.principles, 1):
            scope = []
            if p.operators:
                scope.append("ops " + ", ".join(p.operators))
            if p.layers:
                scope.append("layers " + ", ".join(map(str, p.layers)))
            rows.append(f"{i}. {p.statement} [{p.effect}{'; ' + '; '.join(scope) if scope else ''}]")
        return "\n".join(rows)


class Analysis(_Msg):
    """Analyst -> Session: the principles, the Analyst's own per-layer subspace, and the
    exchange (prompt and answer) that later agents continue on each task."""

    type: Literal["analysis"] = "analysis"
    principles: Principles
    subspace: Subspace | None = Field(
        default=None, description="the per-layer operators it proposed, validated; None if "
                                  "it proposed none or none valid")
    subspace_problems: str = Field(default="", description="why the proposal was not usable")
    exchange: tuple[Turn, ...] = ()


class AnalyzeRequest(_Msg):
    """Session -> Analyst: learn principles from the source task's top-k architectures."""

    type: Literal["analyze_request"] = "analyze_request"
    space: str
    task: str
    task_description: str
    archive: tuple[str, ...] = Field(description="top-k architectures, official strings, best first")
    evidence: str = Field(default="", description="principle_stats text, when enabled")


class EvaluatedArch(_Msg):
    """One evaluated architecture as reported between agents."""

    arch: str
    val: float
    test: float
    n: int


class TranslateRequest(_Msg):
    """Session -> Translator: principles to a refined subspace."""

    type: Literal["translate_request"] = "translate_request"
    space: str
    task: str
    principles: Principles
    fallback: Subspace = Field(description="the last valid subspace (the full space at first)")
    hint: Subspace | None = Field(default=None, description=(
        "the Analyst's per-layer operators, shown as a starting point"))
    keep_one_of: tuple[str, ...] = Field(default=(), description=(
        "the best architectures known, best first: the subspace must hold one of them"))
    incumbent: EvaluatedArch | None = Field(default=None, description=(
        "the best architecture found so far on the task, shown to the model"))
    memory: tuple[Turn, ...] = Field(default=(), description="the task's conversation so far")


class Translation(_Msg):
    """Translator -> Session: the subspace to search, and how it was obtained."""

    type: Literal["translation"] = "translation"
    subspace: Subspace
    valid: bool = Field(description="False when the fallback was kept")
    repairs: int = Field(description="repair rounds used")
    violations: tuple[str, ...] = Field(default=(), description="last violations, if any")
    fallback_reason: str | None = None
    rationale: str = ""
    exchange: tuple[Turn, ...] = Field(default=(), description="prompt and accepted answer")


class SearchRequest(_Msg):
    """Session -> Searcher: run the NAS method on a subspace of the target task."""

    type: Literal["search_request"] = "search_request"
    task: str
    subspace: Subspace
    budget: int = Field(gt=0, description="new unique evaluations allowed")
    seed: int = Field(description="seeds the task's search when it starts; a search that "
                                  "goes on keeps its own generator")
    initial: tuple[str, ...] = Field(default=(), description="cells to seed the population")


class SearchResult(_Msg):
    """Searcher -> Session: what the search evaluated, in order, and the best by val."""

    type: Literal["search_result"] = "search_result"
    task: str
    evaluated: tuple[EvaluatedArch, ...]
    best: EvaluatedArch
    n_evals_total: int = Field(description="unique evaluations on this task so far")
    stop_reason: str
    continued: bool = Field(default=False, description=(
        "the task's search went on from an earlier request (its population kept)"))


class AdaptRequest(_Msg):
    """Session -> Adapter: Algorithm 2's inputs."""

    type: Literal["adapt_request"] = "adapt_request"
    space: str
    task: str
    principles: Principles
    found: tuple[EvaluatedArch, ...] = Field(
        description="every cell evaluated on the task so far, best first")
    subspace: Subspace = Field(description="the subspace the search ran in")
    base: float | None = Field(description="Base (None before the first iteration)")
    best: float = Field(description="Best: the best of this iteration's evaluations")
    top_r: int
    memory: tuple[Turn, ...] = Field(default=(), description="the task's conversation so far")


class Adaptation(_Msg):
    """Adapter -> Session: the adapted principles and the new Base."""

    type: Literal["adaptation"] = "adaptation"
    branch: Literal["update", "explore"]
    principles: Principles
    base: float | None
    note: str = Field(default="", description="why the principles were kept, if they were")
    exchange: tuple[Turn, ...] = Field(default=(), description="prompt and accepted answer")


AgentMessage = Annotated[
    Principles | Analysis | AnalyzeRequest | TranslateRequest | Translation | SearchRequest
    | SearchResult | AdaptRequest | Adaptation,
    Field(discriminator="type"),
]
