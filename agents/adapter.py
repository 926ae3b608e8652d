"""The Adapter: Algorithm 2, adapting the principles to what the search on the target found."""

from __future__ import annotations

from autogen_core import MessageContext, message_handler

from lapt.spaces import get_space

from ._llm_agent import LLMAgent, ask
from .analyst import check_principles
from .messages import Adaptation, AdaptRequest
from .prompts import adapter_explore_prompt, adapter_update_prompt, exchange, principles_from
from .providers import AnswerSize, ChatModel
from .schemas import adapter_schema


class Adapter(LLMAgent):
    """Algorithm 2, continuing the task's conversation that holds the original analysis.

    If Base <= Best: update P_n from the top-r architectures found so far and set
    Base = Best. Else: describe the effects of the operators and connections P_n leaves
    out, based on the original principles (added to P_n), so that the next subspace
    explores other regions; Base stays. When the model gives no usable answer, P_n is
    kept and the note says why.
    """

    def __init__(self, description: str, llm: ChatModel, max_repairs: int, *,
                 size: AnswerSize = AnswerSize()) -> None:
        super().__init__(description, llm, max_repairs)
        self.size = size

    @message_handler
    async def on_adapt(self, message: AdaptRequest, ctx: MessageContext) -> Adaptation:
        space = get_space(message.space)
        schema = adapter_schema(space.name, self.size)
        improved = message.base is None or message.base <= message.best
        if improved:
            prompt = adapter_update_prompt(message, space, schema)
        else:
            prompt = adapter_explore_prompt(message, space, message.subspace, schema)
        answer = await ask(self.llm, "adapter", prompt, schema, self.max_repairs,
                           check=lambda a: check_principles(a.principles, space))
        branch = "update" if improved else "explore"
        base = message.best if improved else message.base
        if answer.value is None:
            return Adaptation(branch=branch, principles=message.principles, base=base,
                              note=f"kept the principles: {answer.problems}")
        keep = None if improved else message.principles
        return Adaptation(branch=branch, base=base,
                          principles=principles_from(answer.value, f"adapter:{branch}", keep,
                                                     most=self.size.principles),
                          exchange=exchange(prompt, answer.calls[-1].raw))
