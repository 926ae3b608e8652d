"""The Analyst: learns design principles (and a first subspace) from the source task's best."""

from __future__ import annotations

from autogen_core import MessageContext, message_handler

from lapt.spaces import Arch, SearchSpace, Subspace, get_space, validate_subspace
from lapt.tools.encode import encode_architectures

from ._llm_agent import LLMAgent, ask
from .messages import Analysis, AnalystAnswer, AnalyzeRequest, PrincipleAnswer, Principles
from .prompts import analyst_prompt, exchange, principles_from
from .providers import AnswerSize, ChatModel
from .schemas import analyst_schema


class Analyst(LLMAgent):
    """Algorithm 1, line 2: P = Analyst(A), a chain of thought that ends, as in the paper's
    prompt, with the available operators of each layer (at most ``max_ops`` each).

    Principles naming unknown operators or layers, and a per-layer list that breaks the
    cap or the space, go back to the model for repair. When no answer is usable within
    the repair budget, the principle set is empty (or the last schema-valid answer with
    unknown names removed), its ``origin`` says so, and the session goes on: the
    Translator then keeps the full space.
    """

    def __init__(self, description: str, llm: ChatModel, max_repairs: int, *,
                 size: AnswerSize = AnswerSize(), max_ops: int | None = None,
                 max_sources: int | None = None, keep_best: int = 0) -> None:
        super().__init__(description, llm, max_repairs)
        self.size, self.max_ops, self.max_sources = size, max_ops, max_sources
        self.keep_best = keep_best  # the list must hold one of the archive's best this many

    @message_handler
    async def on_analyze(self, message: AnalyzeRequest, ctx: MessageContext) -> Analysis:
        space = get_space(message.space)
        archs = [space.decode(a) for a in message.archive]
        schema = analyst_schema(space.name, self.size, self.max_ops, self.max_sources)
        prompt = analyst_prompt(message, space, encode_architectures(space, archs), schema,
                                self.max_ops, self.max_sources)

        keep = archs[: self.keep_best]

        def check(a: AnalystAnswer) -> str | None:
            problems = [p for p in (check_principles(a.principles, space),
                                    self._subspace(a, space, keep)[1]) if p]
            return "\n".join(problems) or None

        answer = await ask(self.llm, "analyst", prompt, schema, self.max_repairs, check=check)
        most = self.size.principles
        if answer.value is not None:
            sub, _ = self._subspace(answer.value, space, keep)
            return Analysis(principles=principles_from(answer.value, "analyst", most=most),
                            subspace=sub, exchange=exchange(prompt, answer.calls[-1].raw))
        if answer.last is not None:
            cleaned = answer.last.model_copy(
                update={"principles": clean_principles(answer.last.principles, space)})
            sub, why = self._subspace(answer.last, space, keep)
            return Analysis(
                principles=principles_from(cleaned, f"analyst:cleaned ({answer.problems})",
                                           most=most),
                subspace=sub, subspace_problems=why or "",
                exchange=exchange(prompt, answer.calls[-1].raw))
        return Analysis(principles=Principles(principles=(),
                                              origin=f"analyst:failed ({answer.problems})"),
                        subspace_problems=answer.problems)

    def _subspace(self, answer: AnalystAnswer, space: SearchSpace, keep: list[Arch]
                  ) -> tuple[Subspace | None, str | None]:
        """The proposed per-layer operators as a valid subspace, or the problems."""
        if not answer.layers:
            return None, None
        report = validate_subspace(space, {"layers": [layer.model_dump()
                                                      for layer in answer.layers]},
                                   max_ops=self.max_ops, max_sources=self.max_sources,
                                   keep_one_of=keep)
        if not report.valid:
            return None, "layers: " + report.message()
        return report.subspace, None


def check_principles(principles: list[PrincipleAnswer], space: SearchSpace) -> str | None:
    """Unknown operators or layers named in principles, as repairable problems."""
    problems = []
    for i, p in enumerate(principles):
        bad_ops = [o for o in p.operators if o not in space.ops]
        bad_layers = [n for n in p.layers if not 0 <= n < len(space.layers)]
        if bad_ops:
            problems.append(f"principle {i}: unknown operators {bad_ops}; valid: "
                            f"{', '.join(space.ops)}")
        if bad_layers:
            problems.append(f"principle {i}: layers {bad_layers} out of range "
                            f"0..{len(space.layers) - 1}")
    return "\n".join(problems) or None


def clean_principles(principles: list[PrincipleAnswer],
                     space: SearchSpace) -> list[PrincipleAnswer]:
    """Principles with unknown operators and out-of-range layers removed."""
    return [p.model_copy(update={
        "operators": [o for o in p.operators if o in space.ops],
        "layers": [n for n in p.layers if 0 <= n < len(space.layers)]}) for p in principles]
