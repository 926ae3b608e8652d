"""The Analyst: learns design principles from the source task's best architectures."""

from __future__ import annotations

from autogen_core import MessageContext, message_handler

from lapt.spaces import SearchSpace, get_space
from lapt.tools.encode import encode_architectures

from ._llm_agent import LLMAgent, ask
from .messages import AnalyzeRequest, PrincipleAnswer, Principles
from .prompts import analyst_prompt, principles_from
from .schemas import analyst_schema


class Analyst(LLMAgent):
    """Algorithm 1, line 2: P = Analyst(A), a three-step chain of thought.

    When the model gives no usable answer within its repair budget, the principle set
    is empty (or the last schema-valid answer with unknown names removed), its
    ``origin`` says so, and the session goes on: the Translator then keeps the full space.
    """

    @message_handler
    async def on_analyze(self, message: AnalyzeRequest, ctx: MessageContext) -> Principles:
        space = get_space(message.space)
        archs = [space.decode(a) for a in message.archive]
        schema = analyst_schema(space.name)
        prompt = analyst_prompt(message, space, encode_architectures(space, archs), schema)
        answer = await ask(self.llm, "analyst", prompt, schema, self.max_repairs,
                           check=lambda a: check_principles(a.principles, space))
        if answer.value is not None:
            return principles_from(answer.value, origin="analyst")
        if answer.last is not None:
            cleaned = answer.last.model_copy(
                update={"principles": clean_principles(answer.last.principles, space)})
            return principles_from(cleaned, origin=f"analyst:cleaned ({answer.problems})")
        return Principles(principles=(), origin=f"analyst:failed ({answer.problems})")


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
