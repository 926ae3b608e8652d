"""The Translator: principles -> a refined subspace, validated before any search uses it."""

from __future__ import annotations

from autogen_core import MessageContext, message_handler

from lapt.spaces import get_space, validate_subspace

from ._llm_agent import LLMAgent, ask
from .messages import TranslateRequest, Translation, TranslatorAnswer
from .prompts import translator_prompt
from .schemas import translator_schema


class Translator(LLMAgent):
    """Algorithm 1, line 4: Ω_r = Translator(P_n).

    Every proposal passes ``validate_subspace``; violations go back to the model for at
    most ``max_repairs`` repairs. After that the last valid subspace (the full space at
    the start) is kept, and the Translation says why.
    """

    @message_handler
    async def on_translate(self, message: TranslateRequest, ctx: MessageContext) -> Translation:
        space = get_space(message.space)
        if not message.principles.principles:
            return Translation(subspace=message.fallback, valid=False, repairs=0,
                               fallback_reason="no principles to translate")
        schema = translator_schema(space.name)
        reports = {}

        def check(answer: TranslatorAnswer) -> str | None:
            report = validate_subspace(space, answer)
            reports[id(answer)] = report
            return None if report.valid else report.message()

        answer = await ask(self.llm, "translator", translator_prompt(message, space, schema),
                           schema, self.max_repairs, check=check)
        if answer.value is None:
            return Translation(
                subspace=message.fallback, valid=False, repairs=answer.repairs,
                violations=tuple(answer.problems.splitlines()),
                fallback_reason=f"no valid subspace after {answer.repairs} repairs; "
                                "kept the last valid one")
        report = reports[id(answer.value)]
        return Translation(subspace=report.subspace, valid=True, repairs=answer.repairs,
                           rationale=answer.value.rationale)
