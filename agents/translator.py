"""The Translator: principles -> a refined subspace, validated before any search uses it."""

from __future__ import annotations

from autogen_core import MessageContext, message_handler

from lapt.spaces import ValidationReport, get_space, validate_subspace

from ._llm_agent import LLMAgent, ask
from .messages import TranslateRequest, Translation, TranslatorAnswer
from .prompts import exchange, translator_prompt
from .providers import AnswerSize, ChatModel
from .schemas import translator_schema


class Translator(LLMAgent):
    """Algorithm 1, line 4: Ω_r = Translator(P_n), at most ``max_ops`` operators (and
    ``max_sources`` sources) per layer.

    Every proposal passes ``validate_subspace`` with the caps; violations (the layers
    that break a cap among them) go back to the model for at most ``max_repairs``
    repairs. After that the last valid subspace (the full space at the start) is kept,
    and the Translation says why.
    """

    def __init__(self, description: str, llm: ChatModel, max_repairs: int, *,
                 size: AnswerSize = AnswerSize(), max_ops: int | None = None,
                 max_sources: int | None = None) -> None:
        super().__init__(description, llm, max_repairs)
        self.size, self.max_ops, self.max_sources = size, max_ops, max_sources

    @message_handler
    async def on_translate(self, message: TranslateRequest, ctx: MessageContext) -> Translation:
        space = get_space(message.space)
        if not message.principles.principles:
            return Translation(subspace=message.fallback, valid=False, repairs=0,
                               fallback_reason="no principles to translate")
        schema = translator_schema(space.name, self.max_ops, self.max_sources, self.size)
        reports: dict[int, ValidationReport] = {}

        keep = [space.decode(a) for a in message.keep_one_of]

        def check(answer: TranslatorAnswer) -> str | None:
            report = validate_subspace(space, answer, max_ops=self.max_ops,
                                       max_sources=self.max_sources, keep_one_of=keep)
            reports[id(answer)] = report
            return None if report.valid else report.message()

        prompt = translator_prompt(message, space, schema, self.max_ops, self.max_sources)
        answer = await ask(self.llm, "translator", prompt, schema, self.max_repairs, check=check)
        if answer.value is None:
            return Translation(
                subspace=message.fallback, valid=False, repairs=answer.repairs,
                violations=tuple(answer.problems.splitlines()),
                fallback_reason=f"no valid subspace after {answer.repairs} repairs; "
                                "kept the last valid one")
        report = reports[id(answer.value)]
        assert report.subspace is not None
        return Translation(subspace=report.subspace, valid=True, repairs=answer.repairs,
                           rationale=answer.value.rationale,
                           exchange=exchange(prompt, answer.calls[-1].raw))
